"""ussh as `make deploy` leaves a board: .mpy files on its flash filesystem (tools/qemu_small.py:
`make mpy BOARD=qemu`, -march=armv7m, installed into /lib on boards/qemu/flash.py's littlefs,
outside the heap), loaded into the GC heap at import, on the emulated Cortex-M3 with nothing
frozen. The 140 KB build (firmware-plain.elf) takes a login, a shell and a 64 KiB SFTP upload
(SHA-256 checked on the board). The ESP32-sized build (firmware-small.elf, 110 KB) does not hold
ussh's bytecode and a session at once (README "Numbers"): there the test holds the containment,
each client told "out of memory" with the budget and the free heap in the log, the board serving
the next one.

Not in `make test` (pytest collects test_*.py only): run it with `make small-board`. At 140 and
110 KB the heap's layout, which varies with how the UART's bytes arrive, decides whether a
session fits, and in repeated runs both tests failed now and then (an upload's check out of memory;
once a 110 KB client waited 300 s with no answer, not yet explained): a board on the edge of its
heap, not something a CI run may depend on."""
import hashlib
import os
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
import qemu_small  # noqa: E402

STEP = 300  # seconds for one client's run at most (qemu's UART moves about 50 KB/s up)


@pytest.fixture(autouse=True)
def firmware():
    for elf in (qemu.FIRMWARE_PLAIN, qemu.FIRMWARE_SMALL):
        assert os.path.exists(elf), "%s missing: make firmware" % elf


def _target(tmp_path, elf, **kw):
    sb = qemu_small.SmallBoard(str(tmp_path / "flash.img"), elf=elf, timeout=STEP, **kw)
    sb.__enter__()
    try:
        first = sb.serve(forever=True, root="/", one_session=False)
        if "serving SSH" not in first:
            raise qemu.BoardError("the board did not serve: " + first + sb.board.read_until(b"\x04", 10))
    except BaseException:
        sb.__exit__()
        raise
    t = qemu.SSHTarget(sb, str(tmp_path / "qemu.log"))
    known = tmp_path / "known_hosts"
    known.write_text(t.known_hosts_line + "\n")
    t.base = ["-F", "/dev/null", "-i", sb.client_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
              "-o", "UserKnownHostsFile=%s" % known, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=60"]
    return sb, t


def _ssh(t, cmd, *opts, **kw):
    return subprocess.run(["ssh"] + t.base + list(opts) + ["-p", str(t.port), "root@127.0.0.1", cmd],
                          capture_output=True, timeout=STEP, **kw)


def test_mpy_from_flash_login_shell_and_64k_upload_on_140k_board(tmp_path):
    sb, t = _target(tmp_path, qemu.FIRMWARE_PLAIN)
    try:
        assert sb.installed > 100000 and sb.start_heap > 0
        p = _ssh(t, "print(6*7)", text=True)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + t.console_text()[-3000:]
        # a pty shell: the REPL reads a statement, prints, and ends at Ctrl-D
        p = _ssh(t, "", "-tt", input=b"print(6*7+1)\r\n\x04", text=False)
        assert p.returncode == 0 and b"43" in p.stdout, p.stdout + p.stderr + t.console_text()[-3000:].encode()
        data = os.urandom(64 * 1024)
        src = tmp_path / "up.bin"
        src.write_bytes(data)
        batch = tmp_path / "batch"
        batch.write_text("put %s /up.bin\n" % src)
        p = subprocess.run(["sftp"] + t.base + ["-b", str(batch), "-P", str(t.port), "root@127.0.0.1"],
                           capture_output=True, text=True, timeout=STEP)
        assert p.returncode == 0, p.stdout + p.stderr + t.console_text()[-3000:]
        code = ("import hashlib, binascii\nh = hashlib.sha256()\nf = open('/up.bin', 'rb')\nwhile True:\n"
                "    b = f.read(1024)\n    if not b:\n        break\n    h.update(b)\n"
                "f.close()\nprint(binascii.hexlify(h.digest()).decode())")
        p = _ssh(t, code, text=True)
        assert p.stdout.strip() == hashlib.sha256(data).hexdigest(), p.stdout + p.stderr
    finally:
        t.stop()


# modules imported as a session wants them, as `make deploy` leaves a board. The heap runs out
# either inside the connection (its key exchange: the log gives the budget and the free heap) or
# while it starts (before boards/qemu/main.py answered then, a client waited for a version line
# that never came); which one depends on how the heap lies. (Importing everything at start above
# a block let go afterwards, qemu_small.SmallBoard's default, only moves the failure: to the
# host key's table, then to main.py's read buffer, before the board serves at all.)
def test_110k_board_turns_clients_away_with_a_reason_and_goes_on(tmp_path):
    sb, t = _target(tmp_path, qemu.FIRMWARE_SMALL, preload=[], reserve=0)
    try:
        refused = 0
        for i in range(2):  # the second client finds the board serving after the first one's end
            p = _ssh(t, "print(6*7)", text=True)
            if p.returncode == 0:  # ussh became small enough: the README's footprint row changes
                assert p.stdout == "42\n", p.stderr
                continue
            assert "out of memory" in p.stderr, p.stderr + t.console_text()[-3000:]
            refused += 1
        log = t.console_text()
        assert "Traceback" not in log.replace("Traceback (most recent call last):\n  File \"ussh/", ""), log
        inside = log.count("over the budget")
        assert inside == log.count("B of heap free"), log
        assert inside + log.count("out of memory starting a connection") == refused, log
    finally:
        t.stop()
