"""ussh.scheduler: where user code runs on a connection's channels, driven in-process (sshpair:
a scripted client against the sans-IO Connection) through interleavings of channels, each with
the messages expected on the wire. Runs on CPython (pytest) and the MicroPython unix port
(host_tests/check_mp.py)."""
from sshpair import Folder, Pair, Stuck, config, of, raises, s, text


def _waiting_exec(p, a):
    # channel a runs an exec that waits for a line of input
    p.request(a, b"exec", b"print('got', input())")


def test_idle_shell_closed_while_an_exec_runs():
    # the first hang: the idle shell's EOF and CLOSE arrived while another channel's
    # command ran and were never handled: no CLOSE came back, the slot leaked
    p = Pair()
    b = p.open()
    p.request(b, b"shell")
    assert p.events() == [("success", b)]
    a = p.open()
    p.script = [p.wire(p.eof(b), p.close(b)), p.wire(p.data(a, b"x\n"))]
    _waiting_exec(p, a)
    ev = p.events()
    assert text(ev, a) == b"got x\n"
    assert of(ev, a) == [("success", a), ("eof", a), ("exit", a, 0), ("close", a)]
    assert of(ev, b) == [("close", b)]  # the client closed first: no EOF or status back
    assert ev.index(("close", a)) < ev.index(("close", b))  # once the exec ended
    assert list(p.conn.channels) == [p.ids[a]]  # b's slot is free; a's waits for the client's CLOSE
    p.feed(p.close(a))
    assert p.conn.channels == {}


def test_idle_shell_eof_while_an_exec_runs():
    p = Pair()
    b = p.open()
    p.request(b, b"shell")
    p.events()
    a = p.open()
    p.script = [p.wire(p.data(b, b"y = 6 * 7\nprint(y)\n"), p.eof(b)), p.wire(p.data(a, b"x\n"))]
    _waiting_exec(p, a)
    ev = p.events()
    assert text(ev, a) == b"got x\n" and text(ev, b) == b"42\n"
    assert of(ev, b) == [("eof", b), ("exit", b, 0), ("close", b)]
    assert ev.index(("close", a)) < ev.index(("data", b, b"42\n"))  # b's input waited for a's code


def test_exec_requested_while_a_shell_statement_runs():
    # the second hang: an exec deferred while a shell statement ran was never started
    p = Pair()
    a = p.open()
    p.request(a, b"shell")
    b = p.open()
    p.events()
    p.script = [p.wire(p.chreq(b, b"exec", s(b"print(7)"))), p.wire(p.data(a, b"hello\n"))]
    p.feed(p.data(a, b"print(input().upper())\n"))
    ev = p.events()
    assert text(ev, a) == b"HELLO\n"
    assert of(ev, b) == [("success", b), ("eof", b), ("exit", b, 0), ("close", b)]
    assert text(ev, b) == b"7\n"
    # the reply went out at once; the exec ran once the statement had ended
    assert ev.index(("success", b)) < ev.index(("data", a, b"HELLO\n")) < ev.index(("data", b, b"7\n"))


def test_two_execs_requested_while_one_runs_start_in_order():
    p = Pair()
    a, b, c = p.open(), p.open(), p.open()
    p.script = [p.wire(p.chreq(b, b"exec", s(b"print(2)")), p.chreq(c, b"exec", s(b"print(3)"))),
                p.wire(p.data(a, b"1\n"))]
    _waiting_exec(p, a)
    ev = p.events("success", "eof", "exit")
    assert [e for e in ev if e[0] == "data"] == [("data", a, b"got 1\n"), ("data", b, b"2\n"), ("data", c, b"3\n")]
    assert of(ev, b) == [("close", b)] and of(ev, c) == [("close", c)]


def test_deferred_exec_closed_before_its_turn_never_runs():
    p = Pair()
    a, b = p.open(), p.open()
    p.script = [p.wire(p.chreq(b, b"exec", s(b"print('never')")), p.close(b)), p.wire(p.data(a, b"1\n"))]
    _waiting_exec(p, a)
    ev = p.events()
    assert text(ev, b) == b"" and of(ev, b) == [("success", b), ("close", b)]
    assert of(ev, a)[-1] == ("close", a)


def test_two_shells_and_an_sftp_session_at_once():
    with Folder() as root:
        _two_shells_and_sftp(root)


def _two_shells_and_sftp(root):
    p = Pair(config(root=root))
    a = p.open()
    p.request(a, b"shell")
    b = p.open()
    p.request(b, b"shell")
    c = p.open()
    p.request(c, b"subsystem", b"sftp")
    assert p.events() == [("success", a), ("success", b), ("success", c)]
    init = b"\x00\x00\x00\x05\x01\x00\x00\x00\x03"
    realpath = b"\x00\x00\x00\x0a\x10\x00\x00\x00\x07\x00\x00\x00\x01."
    # while a's statement waits: input for b, and sftp requests for c
    p.script = [p.wire(p.data(b, b"print(1 + 1)\n"), p.data(c, init + realpath)), p.wire(p.data(a, b"go\n"))]
    p.feed(p.data(a, b"print(input() * 2)\n"))
    ev = p.events()
    assert text(ev, a) == b"gogo\n" and text(ev, b) == b"2\n"
    sftp = text(ev, c)
    assert sftp[4] == 2 and sftp[5:9] == b"\x00\x00\x00\x03"  # VERSION 3
    n = 4 + int.from_bytes(sftp[:4], "big")
    assert sftp[n + 4] == 104 and sftp[n + 5 : n + 9] == b"\x00\x00\x00\x07"  # NAME for request 7
    assert b"\x00\x00\x00\x01/" in sftp[n:]
    assert ev.index(("data", a, b"gogo\n")) < ev.index(("data", b, b"2\n"))
    # each goes on: b still has its globals, a its own
    p.feed(p.data(b, b"print(2 + 3)\n"), p.data(a, b"print(3 + 4)\n"), p.eof(a), p.eof(b), p.eof(c))
    ev = p.events()
    assert text(ev, b) == b"5\n" and text(ev, a) == b"7\n"
    for x in (a, b, c):
        assert of(ev, x) == [("eof", x), ("exit", x, 0), ("close", x)]


def test_ctrl_c_on_an_idle_shell_while_another_waits():
    # a Ctrl-C typed into idle shell b must not reach the statement waiting on a
    p = Pair()
    a = p.open()
    p.feed(p.pty(a))
    p.request(a, b"shell")
    b = p.open()
    p.feed(p.pty(b))
    p.request(b, b"shell")
    p.events()
    p.script = [p.wire(p.data(b, b"\x03")), p.wire(p.signal(b)), p.wire(p.data(a, b"fine\r"))]
    p.feed(p.data(a, b"print(input() + '!')\r"))
    ev = p.events()
    out_a = text(ev, a)
    assert b"fine!\r\n" in out_a and b"KeyboardInterrupt" not in out_a
    assert b"KeyboardInterrupt" in text(ev, b)  # b's own prompt saw it, after a's statement
    assert ev.index(("data", b, text(ev, b))) > [i for i, e in enumerate(ev) if e[1] == a][-1]
    # b works afterwards; a is not left interrupted either
    p.feed(p.data(b, b"print(6 * 7)\r"), p.data(a, b"print(5)\r"))
    ev = p.events()
    assert b"42\r\n" in text(ev, b) and b"5\r\n" in text(ev, a)


def test_ctrl_c_on_the_waiting_channel_while_another_waits_its_turn():
    p = Pair()
    a = p.open()
    p.feed(p.pty(a))
    p.request(a, b"shell")
    b = p.open()
    p.events()
    p.script = [p.wire(p.chreq(b, b"exec", s(b"print(9)"))), p.wire(p.data(a, b"\x03"))]
    p.feed(p.data(a, b"input()\r"))
    ev = p.events()
    assert b"KeyboardInterrupt" in text(ev, a) and of(ev, a) == []  # the shell goes on
    assert text(ev, b) == b"9\n" and of(ev, b) == [("success", b), ("eof", b), ("exit", b, 0), ("close", b)]


def test_signal_interrupts_an_exec_and_only_it():
    p = Pair()
    b = p.open()
    p.request(b, b"shell")
    p.events()
    a = p.open()
    p.script = [p.wire(p.data(b, b"print('b ran')\n")), p.wire(p.signal(a))]
    p.request(a, b"exec", b"input()")
    ev = p.events()
    assert of(ev, a) == [("success", a), ("eof", a), ("exit", a, 1), ("close", a)]
    assert b"KeyboardInterrupt" in text(ev, a)
    assert text(ev, b) == b"b ran\n" and of(ev, b) == []


def test_a_wait_with_nothing_scripted_is_reported_not_hung():
    p = Pair()
    a = p.open()
    raises(Stuck, p.request, a, b"exec", b"input()")


def test_the_configured_shell_module_serves_a_pty_shell():
    # Config.shell: a board whose heap cannot hold ussh.repl's editor serves ussh.lineshell
    # (ussh.board picks it on a heap under 128 KB); the same session otherwise
    for module, banner in ((None, b"Ctrl-D to exit"), ("ussh.lineshell", b"ussh line shell")):
        p = Pair(config(shell=module) if module else None)
        a = p.open()
        p.feed(p.pty(a))
        p.request(a, b"shell")
        p.feed(p.data(a, b"print(6 * 7)\r"))
        out = text(p.events(), a)
        assert b"42\r\n" in out, out
        assert (b"ussh line shell" in out) == (module is not None), out
        assert banner in out, out
