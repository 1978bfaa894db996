"""ussh.driver: what the asyncio server and the stream driver share: one turn of a connection
(pump), letting modules go (unload) and which of them a driver may let go (in_heap). Fast tier,
run on CPython and on the MicroPython unix port (make check: no pytest here)."""
import sys

from sshpair import Pair
from ussh import driver


def test_pump_turns_once_per_call():
    # buffered packets first, then what recv gives, then send
    p = Pair()
    sent = []
    p.conn.feed(b"")  # nothing buffered
    driver.pump(p.conn, lambda: sent.append(1), lambda block: None, False)
    assert sent == [1] and not p.conn.closed
    driver.pump(p.conn, lambda: sent.append(2), lambda block: b"", True)
    assert p.conn.closed and p.log.has("closed by client")


def test_pump_ends_the_connection_on_oserror():
    p = Pair()

    def recv(block):
        raise OSError("reset by peer")

    driver.pump(p.conn, lambda: None, recv, True)
    assert p.conn.closed and p.log.has("reset by peer")


def test_frozen_by_file_name():
    # (file name, frozen): MicroPython names a frozen module by the path it was frozen under
    for f, frozen in (("ussh/kex.py", True), ("ussh/crypto/ed25519.py", True), ("/lib/ussh/kex.mpy", False),
                      ("ussh/kex.mpy", False), ("lib/ussh/kex.py", False), ("/work/lib/ussh/kex.py", False),
                      ("", False)):
        assert driver._frozen(f) == frozen, f


def test_in_heap_names_only_loaded_modules_from_files():
    import ussh.wire  # noqa: F401

    sys.modules.pop("ussh.not_a_module", None)
    assert driver.in_heap(("ussh.wire", "ussh.not_a_module")) == ["ussh.wire"]
    assert driver.in_heap(()) == []


def test_unload_lets_a_module_go_and_the_next_import_loads_it_again():
    import ussh
    import ussh.pysource

    first = ussh.pysource
    driver.unload(("ussh.pysource", "ussh.not_a_module"))
    assert "ussh.pysource" not in sys.modules and not hasattr(ussh, "pysource")
    import ussh.pysource  # noqa: F811

    assert ussh.pysource is not first and sys.modules["ussh.pysource"] is ussh.pysource
