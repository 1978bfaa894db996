"""mpremote over SSH on the emulated Cortex-M3 (build/qemu/firmware.elf, `make firmware`): the
pinned mpremote through the stock OpenSSH client's `-L PORT:repl:1` tunnel, the SSH connection
on the board's UART1 (ProxyCommand socat, tools/qemu_login.py), ussh.rawrepl frozen in. One
board and one SSH connection (a ControlMaster: the sessions of the second SSH client share it,
as a UART carries one connection) for the module: fs cp up and back (same SHA-256), ls, cat,
mkdir, rm, run, exec, eval, mount (a host file imported; this port has no select: ussh's stand-in
polls the channel), resume, a soft reset that leaves the board and another session alone; a
restricted key refused."""
import hashlib
import os
import subprocess
import sys

import pytest

from mpremote_ssh import ROOT, Tunnel, ok

sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
from qemu_login import UartBoard  # noqa: E402
from peers import keygen  # noqa: E402


@pytest.fixture(scope="module")
def board():
    assert os.path.exists(qemu.FIRMWARE), "%s missing: make firmware" % qemu.FIRMWARE
    with UartBoard(icount=False, timeout=600) as ub:
        restricted = keygen(os.path.join(ub.dir, "restricted"), "restricted")
        ak = os.path.join(ub.dir, "authorized_keys")
        with open(ak, "w") as f, open(ub.client_key + ".pub") as a, open(restricted + ".pub") as b:
            f.write(a.read() + "restrict " + b.read())
        qemu.mount_flash(ub.board, 256 * 1024)
        first = ub.serve(forever=True, one_session=False, root="/", authorized_keys_file=ak)
        assert "serving SSH" in first, first
        ub.restricted = restricted
        ub.ctl = os.path.join(ub.dir, "ctl")
        yield ub


@pytest.fixture(scope="module")
def tunnel(board):
    opts = board.ssh_argv("")[1:-2] + ["-o", "ControlMaster=yes", "-o", "ControlPath=" + board.ctl]
    with Tunnel(opts, "board", timeout=300) as t:
        yield t


def _session(board, cmd):
    # an exec session of a second SSH client, through the tunnel's connection
    argv = board.ssh_argv(cmd, ["ControlMaster=no", "ControlPath=" + board.ctl])
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_fs_cp_up_and_back_same_sha256(tunnel, tmp_path):
    data = os.urandom(16384)
    (tmp_path / "up.bin").write_bytes(data)
    ok(tunnel.mpremote("fs", "cp", str(tmp_path / "up.bin"), ":up.bin", timeout=600))
    ok(tunnel.mpremote("fs", "cp", ":up.bin", str(tmp_path / "back.bin"), timeout=600))
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    # the board's own hash of its copy (its flash)
    assert hashlib.sha256(data).hexdigest() in ok(tunnel.mpremote("fs", "sha256sum", ":up.bin"))


def test_fs_mkdir_ls_cat_rm(tunnel, tmp_path):
    (tmp_path / "note.txt").write_text("on the emulated board\n")
    ok(tunnel.mpremote("fs", "mkdir", ":made"))
    ok(tunnel.mpremote("fs", "cp", str(tmp_path / "note.txt"), ":made/note.txt"))
    listing = ok(tunnel.mpremote("fs", "ls", ":made"))
    assert "22 note.txt" in listing, listing  # littlefs gives sizes
    assert ok(tunnel.mpremote("fs", "cat", ":made/note.txt")).replace("\r\n", "\n") == "on the emulated board\n"
    ok(tunnel.mpremote("fs", "rm", ":made/note.txt"))
    assert "note.txt" not in ok(tunnel.mpremote("fs", "ls", ":made"))


def test_run_exec_eval(tunnel, tmp_path):
    (tmp_path / "s.py").write_text("import sys\nprint('on', sys.platform, 6 * 7)\n")
    assert ok(tunnel.mpremote("run", str(tmp_path / "s.py"))) == "on qemu 42\n"
    assert ok(tunnel.mpremote("exec", "print(sum(range(10)))")) == "45\n"
    assert ok(tunnel.mpremote("eval", "2 ** 20")).strip() == "1048576"


def test_mount_imports_a_host_file(tunnel, tmp_path):
    (tmp_path / "hostmod_q.py").write_text("print('imported from the host', 40 + 2)\n")
    out = ok(tunnel.mpremote("mount", ".", "exec", "import hostmod_q", cwd=str(tmp_path), timeout=600))
    assert "imported from the host 42" in out, out
    out = ok(tunnel.mpremote("exec", "import os\ntry:\n    os.stat('/remote/hostmod_q.py')\n    print('still')\n"
                                     "except OSError:\n    print('gone')"))
    assert out.strip() == "gone"


def test_resume_and_soft_reset_leave_the_board_and_another_session(board, tunnel):
    ok(tunnel.mpremote("exec", "q_marker = 41\nimport ussh\nussh.q_mark = 'board state'"))
    assert ok(tunnel.mpremote("resume", "exec", "print(q_marker + 1)")) == "42\n"
    ok(tunnel.mpremote("soft-reset"))
    assert ok(tunnel.mpremote("resume", "exec", "print('q_marker' in globals())")) == "False\n"
    p = _session(board, "import ussh\nprint(ussh.q_mark)")
    assert (p.returncode, p.stdout) == (0, "board state\n"), p.stderr


def test_restricted_key_is_refused(board, tunnel):
    # last: qemu's UART port takes one TCP connection at a time, so the shared one ends first
    tunnel.__exit__()
    opts = board.ssh_argv("")[1:-2]
    opts[opts.index("-i") + 1] = board.restricted
    with Tunnel(opts, "board", timeout=300) as t:  # the listener comes up...
        p = t.mpremote("exec", "print(6 * 7)", timeout=300)
    assert p.returncode != 0 and "42" not in p.stdout  # ...but the board refuses the channel
    board.board.read_until(b"forward to repl:1 refused: port forwarding is not permitted for this key", 120)
