"""mpremote over SSH (ussh.rawrepl): the pinned, unchanged mpremote through the stock OpenSSH
client's `-L PORT:repl:1` tunnel to ussh on the virtual board (the MicroPython unix port): fs
cp/ls/cat/mkdir/rm, run, exec, eval, mount (the host's folder imported from, the stream used
both ways), resume, repl; a soft reset that leaves the board and another SSH session alone;
tools/ussh-mpremote; refusals (restrict, no-port-forwarding, permitopen, a forced command)."""
import hashlib
import os
import pty
import select
import socket
import subprocess
import sys
import time

import paramiko
import pytest

from mpremote_ssh import ROOT, Tunnel, ok

sys.path.insert(0, os.path.join(ROOT, "tools"))
from peers import Lab  # noqa: E402

KEYS = {  # name -> authorized_keys options
    "plain": "",
    "restricted": "restrict",
    "noforward": "no-port-forwarding",
    "permitopen": 'permitopen="127.0.0.1:80"',
    "permitrepl": 'permitopen="repl:*"',
    "forced": 'command="print(1)"',
}


@pytest.fixture(scope="module")
def board():
    with Lab() as lab:
        keys = lab.authorize(KEYS)
        srv = lab.start("ussh", runtime="unix")
        srv.client_key = keys["plain"]
        srv.keys = keys
        srv.dir = lab.dir
        yield srv


def _opts(board, key="plain"):
    argv = board.ssh_argv("")
    i = argv.index("-i")
    argv[i + 1] = board.keys[key]
    return argv[1:-2]  # without "ssh" and the host and command


@pytest.fixture(scope="module")
def tunnel(board):
    with Tunnel(_opts(board), "127.0.0.1") as t:
        yield t


def test_fs_cp_up_and_back_same_sha256(board, tunnel, tmp_path):
    data = os.urandom(65536)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    on_board = os.path.join(board.dir, "up.bin")  # the virtual board's filesystem is the host's
    ok(tunnel.mpremote("fs", "cp", str(src), ":" + on_board))
    with open(on_board, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    back = tmp_path / "back.bin"
    ok(tunnel.mpremote("fs", "cp", ":" + on_board, str(back)))
    assert hashlib.sha256(back.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    # the board's own hash of its copy, as mpremote's sha256sum asks it
    out = ok(tunnel.mpremote("fs", "sha256sum", ":" + on_board))
    assert hashlib.sha256(data).hexdigest() in out


def test_fs_mkdir_ls_cat_rm(board, tunnel, tmp_path):
    d = os.path.join(board.dir, "made")
    ok(tunnel.mpremote("fs", "mkdir", ":" + d))
    assert os.path.isdir(d)
    src = tmp_path / "note.txt"
    src.write_text("first line\nsecond line é\n")
    ok(tunnel.mpremote("fs", "cp", str(src), ":" + d + "/note.txt"))
    listing = ok(tunnel.mpremote("fs", "ls", ":" + d))
    assert "note.txt" in listing
    assert ok(tunnel.mpremote("fs", "cat", ":" + d + "/note.txt")).replace("\r\n", "\n") == \
        "first line\nsecond line é\n"
    ok(tunnel.mpremote("fs", "rm", ":" + d + "/note.txt"))
    assert not os.path.exists(os.path.join(d, "note.txt"))
    ok(tunnel.mpremote("fs", "rmdir", ":" + d))
    assert not os.path.exists(d)
    p = tunnel.mpremote("fs", "cat", ":" + d + "/nothing")
    assert p.returncode != 0 and "No such file" in p.stdout + p.stderr


def test_run_exec_eval(tunnel, tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import sys\nfor i in range(3):\n    print('line', i * 7)\nprint(sys.implementation.name)\n")
    assert ok(tunnel.mpremote("run", str(script))).splitlines() == ["line 0", "line 7", "line 14", "micropython"]
    assert ok(tunnel.mpremote("exec", "print(6 * 7)")) == "42\n"
    assert ok(tunnel.mpremote("eval", "[1, 2] * 2")).strip() == "[1, 2, 1, 2]"
    # an exception: its traceback, mpremote's failure
    p = tunnel.mpremote("exec", "1 / 0")
    assert p.returncode == 1 and "ZeroDivisionError" in p.stdout + p.stderr
    # code over 1 KB (compiled from its pieces, ussh.rawrepl._Paste): its output, its line numbers
    long = tmp_path / "long.py"
    long.write_text("".join("x%d = %d\n" % (i, i) for i in range(200)) + "print(x199 * 2)\n1 / 0\n")
    p = tunnel.mpremote("run", str(long))
    assert p.returncode == 1 and p.stdout.startswith("398\n"), p.stdout + p.stderr
    assert "line 202" in p.stdout and "ZeroDivisionError" in p.stdout, p.stdout


def _raw_socket(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"\r\x03\r\x01")
    _recv_until(s, b"raw REPL; CTRL-B to exit\r\n>")
    return s


def _recv_until(s, marker, timeout=60):
    data = b""
    end = time.monotonic() + timeout
    while marker not in data:
        assert time.monotonic() < end, data
        try:
            d = s.recv(4096)
        except socket.timeout:
            d = None
        assert d, (marker, data)
        data += d
    return data


@pytest.mark.parametrize("code", ["while True:\n    pass\n", "import time\nwhile True:\n    print(time.time())\n"])
def test_ctrl_c_interrupts_running_code(board, tunnel, code):
    # raw-paste code that never ends: the end's 0x04 comes before it runs, Ctrl-C stops it (code
    # that never prints: ussh.interrupt's watch on the unix port), the REPL takes the next code
    s = _raw_socket(tunnel.port)
    try:
        s.sendall(b"\x05A\x01")
        _recv_until(s, b"R\x01")
        s.sendall(code.encode() + b"\x04")
        assert b"\x04" in _recv_until(s, b"\x04"), board.log()  # the end seen, the code runs
        time.sleep(0.5)
        s.sendall(b"\x03")
        out = _recv_until(s, b"\x04>")
        assert b"KeyboardInterrupt" in out, out
        s.sendall(b"print(6 * 7)\x04")
        assert _recv_until(s, b"\x04>").startswith(b"OK42\n\x04\x04"), out
    finally:
        s.close()
    p = board.ssh("print(6 * 7)")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr


def test_mount_imports_a_host_file_and_a_soft_reset_forgets_it(board, tunnel, tmp_path):
    (tmp_path / "hostmod_rr.py").write_text("print('hostmod says', 1 + 1)\nVALUE = 'first'\n")
    out = ok(tunnel.mpremote("mount", ".", "exec", "import hostmod_rr\nprint(hostmod_rr.VALUE)", cwd=str(tmp_path)))
    assert "hostmod says 2" in out and "first" in out, out
    # the file changed on the host: the next run (a soft reset first) imports it again
    (tmp_path / "hostmod_rr.py").write_text("VALUE = 'second'\n")
    out = ok(tunnel.mpremote("mount", ".", "exec", "import hostmod_rr\nprint(hostmod_rr.VALUE)", cwd=str(tmp_path)))
    assert "second" in out, out
    # a host file read and one written through the mount (the stream both ways)
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 8)  # 0x03 and 0x04 among the bytes
    code = ("d = open('data.bin', 'rb').read()\nprint(len(d), d == bytes(range(256)) * 8)\n"
            "open('made.txt', 'w').write('written on the board')")
    assert "2048 True" in ok(tunnel.mpremote("mount", ".", "exec", code, cwd=str(tmp_path)))
    assert (tmp_path / "made.txt").read_text() == "written on the board"
    # the mount ended with its session: /remote is gone, the board's folder is its own again
    out = ok(tunnel.mpremote("exec", "import os\ntry:\n    os.stat('/remote/data.bin')\n    print('still')\n"
                                     "except OSError:\n    print('gone')\nprint(os.getcwd())"))
    assert out.split() == ["gone", ROOT], out
    assert "Traceback" not in board.log()


def test_resume_keeps_the_state_a_soft_reset_clears_it(tunnel):
    ok(tunnel.mpremote("exec", "marker_rr = 41"))
    assert ok(tunnel.mpremote("resume", "exec", "print(marker_rr + 1)")) == "42\n"
    # without resume mpremote soft-resets first: fresh globals
    assert ok(tunnel.mpremote("exec", "print('marker_rr' in globals())")) == "False\n"
    assert ok(tunnel.mpremote("resume", "soft-reset", "exec", "print('x' in globals())")) == "False\n"


def test_soft_reset_leaves_the_board_and_another_session(board, tunnel):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", board.port, username="u", key_filename=board.keys["plain"], look_for_keys=False,
              allow_agent=False, timeout=30)
    try:
        sh = c.invoke_shell()
        sh.settimeout(60)
        _expect(sh, b">>> ")
        sh.send(b"kept = 6\r")
        _expect(sh, b">>> ")
        ok(tunnel.mpremote("exec", "import ussh\nussh.rr_mark = 'board state'"))
        ok(tunnel.mpremote("soft-reset"))  # Ctrl-D in the raw REPL
        ok(tunnel.mpremote("exec", "pass"))  # and mpremote's own soft reset at its start
        sh.send(b"print(kept * 7)\r")
        assert b"42" in _expect(sh, b">>> ")
    finally:
        c.close()
    # the board went on: the same process, its modules' state, a new login
    assert ok(tunnel.mpremote("exec", "import ussh\nprint(ussh.rr_mark)")) == "board state\n"
    p = board.ssh("print(6 * 7)")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr
    assert board.proc.poll() is None


def _expect(ch, marker, timeout=60):
    data = b""
    end = time.monotonic() + timeout
    while not data.endswith(marker):
        assert time.monotonic() < end, data
        data += ch.recv(4096)
    return data


def test_repl_through_the_helper(board):
    # mpremote's interactive repl (the friendly REPL) on a terminal, through tools/ussh-mpremote
    # (its pty bridge: mpremote's repl cannot wait on a socket:// port): a statement, Ctrl-D
    # (a soft reset: the board goes on), then Ctrl-] ends mpremote and the helper stops ssh
    argv = [os.path.join(ROOT, "tools", "ussh-mpremote")] + _opts(board) + ["127.0.0.1", "repl"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the helper on the pty
        os.execv(argv[0], argv)
    out = b""
    try:
        out += _read_pty(fd, b"Ctrl-x to exit", 120)
        os.write(fd, b"\r")
        out += _read_pty(fd, b">>> ", 60)
        os.write(fd, b"print([i * 21 for i in range(3)])\r")
        out += _read_pty(fd, b"[0, 21, 42]\r\n>>> ", 60)
        os.write(fd, b"\x04")
        reset = _read_pty(fd, b"MPY: soft reboot\r\n", 60)
        if b">>> " not in reset.split(b"soft reboot")[1]:
            reset += _read_pty(fd, b">>> ", 60)
        out += reset
        os.write(fd, b"\x1d")  # Ctrl-]: mpremote's exit
        status = None
        end = time.monotonic() + 60
        while status is None and time.monotonic() < end:
            w = os.waitpid(pid, os.WNOHANG)
            if w[0]:
                status = w[1]
            else:
                try:
                    if select.select([fd], [], [], 0.1)[0]:
                        out += os.read(fd, 4096)
                except OSError:
                    pass
        assert status == 0, (status, out)
        pid = None
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    p = board.ssh("print(6 * 7)")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr


def _read_pty(fd, marker, timeout):
    data = b""
    end = time.monotonic() + timeout
    while marker not in data:
        left = end - time.monotonic()
        assert left > 0, data
        if select.select([fd], [], [], left)[0]:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            data += d
    assert marker in data, data
    return data


def test_helper_one_line(board, tmp_path):
    # tools/ussh-mpremote [ssh options] HOST ARGS...: the tunnel, mpremote, ssh stopped
    src = tmp_path / "main.py"
    src.write_text("print('hello from main')\n")
    dest = os.path.join(board.dir, "helper_main.py")
    argv = [os.path.join(ROOT, "tools", "ussh-mpremote")] + _opts(board) + ["127.0.0.1", "fs", "cp", str(src), ":" + dest]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    with open(dest) as f:
        assert f.read() == "print('hello from main')\n"
    argv[-4:] = ["run", str(src)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert (p.returncode, p.stdout) == (0, "hello from main\n"), p.stderr
    # its ssh is gone: no process left with our key on its command line
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert not [l for l in ps.splitlines() if board.keys["plain"] in l and "repl:1" in l]


def _open_repl(board, key):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", board.port, username="u", key_filename=board.keys[key], look_for_keys=False,
              allow_agent=False, timeout=30)
    try:
        ch = c.get_transport().open_channel("direct-tcpip", ("repl", 1), ("127.0.0.1", 40000), timeout=30)
        ch.settimeout(60)
        ch.sendall(b"\r\x01")
        return _expect(ch, b"raw REPL; CTRL-B to exit\r\n>")
    finally:
        c.close()


@pytest.mark.parametrize("key,why", [
    ("restricted", "port forwarding is not permitted for this key"),
    ("noforward", "port forwarding is not permitted for this key"),
    ("permitopen", "repl:1 is not in the key's permitopen"),
    ("forced", "repl:1 is not permitted with a forced command"),
])
def test_refused(board, key, why):
    with pytest.raises(paramiko.ChannelException) as e:
        _open_repl(board, key)
    assert e.value.code == 1  # RFC 4254 §5.1 SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
    assert why in board.log()


def test_permitopen_listing_repl_allows_it(board):
    assert _open_repl(board, "permitrepl").endswith(b">")


def test_restrict_refuses_mpremote_through_openssh(board):
    with Tunnel(_opts(board, "restricted"), "127.0.0.1") as t:  # the listener comes up...
        p = t.mpremote("exec", "print(6 * 7)", timeout=120)
    assert p.returncode != 0 and "42" not in p.stdout  # ...but the board refuses the channel
    assert "forward to repl:1 refused: port forwarding is not permitted for this key" in board.log()
