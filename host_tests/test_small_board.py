"""ussh as `make deploy` leaves a board: .mpy files on its flash filesystem (tools/qemu_small.py:
`make mpy BOARD=qemu`, -march=armv7m, installed into /lib on boards/qemu/flash.py's littlefs,
outside the heap), loaded into the GC heap at import, on the emulated Cortex-M3 with nothing
frozen, started as a board's main.py would (qemu_small.LEAN: the keys read from the flash, the
long-lived tables made first, the Config made and warmed at start; the shell's and SFTP's
modules let go after each connection; packets of 512 B, a window of 1 KB, a 256-byte read buffer;
portable code: the viper paths as armv7m code take 32 KB more heap, README "Numbers").

The 140 KB build (firmware-plain.elf) takes a login, a pty shell and a 64 KiB SFTP upload
(SHA-256 checked on the board, read in 512-byte pieces). The ESP32-sized build
(firmware-small.elf, 110 KB) serves with 23.7 KB free (one 8 KB run; 20.7 KB before the
authorized_keys parser's module could go whole) and takes logins running a command, one after
another (the lean start collects garbage every 2 KB allocated), and pty shells with the small
heap's shell (ussh.lineshell). ussh.repl's shell (about 22 KB) and a 64 KiB SFTP upload (about
22 KB, its modules about 9 KB) do not fit yet: for both the tests hold the containment, a
MemoryError in the session or its client told "out of memory" at once, the budget and the free
heap in the log, the board serving the next client.

Every step is bounded (STEP seconds); a failure shows the board's console tail."""
import hashlib
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402
import qemu_small  # noqa: E402

STEP = 120  # seconds for one client's run at most (a 64 KiB upload takes about 10 s)
HASH = qemu_small.HASH  # the file's SHA-256, read back on the board in 512-byte pieces


@pytest.fixture(autouse=True)
def firmware():
    for elf in (qemu.FIRMWARE_PLAIN, qemu.FIRMWARE_SMALL):
        assert os.path.exists(elf), "%s missing: make firmware" % elf


def _target(tmp_path, elf, **kw):
    sb = qemu_small.SmallBoard(str(tmp_path / "flash.img"), elf=elf, timeout=STEP, preload=["ussh.stream"],
                               lean=qemu_small.LEAN_SETTINGS, **kw)
    sb.__enter__()
    try:
        first = sb.serve(forever=True, root="/", one_session=False, heap=True, rx=qemu_small.LEAN_RX)
        if "serving SSH" not in first:
            raise qemu.BoardError("the board did not serve: " + first + sb.board.read_until(b"\x04", 10))
    except BaseException:
        sb.__exit__()
        raise
    t = qemu.SSHTarget(sb, str(tmp_path / "qemu.log"))
    known = tmp_path / "known_hosts"
    known.write_text(t.known_hosts_line + "\n")
    t.base = ["-F", "/dev/null", "-i", sb.client_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
              "-o", "UserKnownHostsFile=%s" % known, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=60",
              "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    return sb, t


def _tail(t):
    return "\n--- the board's console (tail)\n" + t.console_text()[-3000:]


def _run(t, argv, **kw):
    try:
        return subprocess.run(argv, capture_output=True, timeout=STEP, **kw)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s: no end in %d s%s" % (argv[0], STEP, _tail(t))) from e


def _ssh(t, cmd, *opts, **kw):
    return _run(t, ["ssh"] + t.base + list(opts) + ["-p", str(t.port), "root@127.0.0.1", cmd], **kw)


def _heap(sb, log):
    # the figures for the README: once serving, and the lowest during a session
    low = min(int(x) for x in re.findall(r"^ussh-bench heap (\d+)$", log, re.M))
    block = min(int(x) for x in re.findall(r"^ussh-bench block (\d+)$", log, re.M))
    return "serving: %d B free, largest block %d B; lowest in a session %d B free, largest block then %d B" % (
        sb.start_heap, sb.start_block, low, block)


def _idle(t):
    # the console once the board waits for the next client (its heap report is the last line)
    end = time.monotonic() + 30
    while True:
        log = t.console_text()
        if log.rstrip("\n").rsplit("\n", 1)[-1].startswith("ussh-bench block") or time.monotonic() > end:
            return log
        time.sleep(0.2)


def _put(t, tmp_path):
    # OpenSSH's `sftp -b`: 64 KiB of random bytes put as /up.bin; (the run, the bytes)
    data = os.urandom(64 * 1024)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    batch = tmp_path / "batch"
    batch.write_text("put %s /up.bin\n" % src)
    return _run(t, ["sftp"] + t.base + ["-b", str(batch), "-P", str(t.port), "root@127.0.0.1"], text=True), data


def _login_shell_upload(tmp_path, elf):
    sb, t = _target(tmp_path, elf)
    try:
        assert sb.installed > 100000 and sb.start_heap > 0
        p = _ssh(t, "print(6*7)", text=True)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + _tail(t)
        # a pty shell: the REPL reads a statement, prints, and ends at Ctrl-D
        p = _ssh(t, "", "-tt", input=b"print(6*7+1)\r\n\x04", text=False)
        assert p.returncode == 0 and b"43" in p.stdout, repr(p.stdout + p.stderr) + _tail(t)
        p, data = _put(t, tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr + _tail(t)
        p = _ssh(t, HASH, text=True)
        assert p.stdout.strip() == hashlib.sha256(data).hexdigest(), p.stdout + p.stderr + _tail(t)
        log = _idle(t)
        assert "out of memory" not in log, _tail(t)
        print(_heap(sb, log))
    finally:
        t.stop()


def test_mpy_from_flash_login_shell_and_64k_upload_on_140k_board(tmp_path):
    _login_shell_upload(tmp_path, qemu.FIRMWARE_PLAIN)


def _fits_or_told(p, want, t):
    # a client's run on the 110 KB board: it worked; or the shell started and its statement ran
    # out of heap (a MemoryError printed in the session: the user's, as any program's, the
    # session going on to Ctrl-D, nothing over the budget in the log); or the heap ran out and the
    # client was told so at once: a DISCONNECT "out of memory", or, where a packet failed half
    # made, one whose MAC fails (before, such clients waited for ServerAliveInterval's timeout).
    # Returns 1 when told, else 0
    out = p.stdout + p.stderr
    out = out if isinstance(out, str) else out.decode(errors="replace")
    if p.returncode == 0 and want in p.stdout:
        return 0
    if p.returncode == 0 and "ussh REPL" in out and "\nMemoryError: " in out:
        return 0
    assert ": out of memory" in out or "message authentication code incorrect" in out, repr(out) + _tail(t)
    return 1


def test_110k_board_takes_logins_and_contains_a_shell_that_does_not_fit(tmp_path):
    # a login running a command must work, the first client and the ones after; a pty shell (the
    # editor, ussh.repl, loaded in the session) may not fit (it was about 2 KB short; since the
    # login lets its key exchange's modules go it has started in every run seen): it works, or its
    # statement's MemoryError shows in the session, or its client is told "out of memory" at
    # once and the log names the budget; and the
    # board serves the next client, whose command works; an SFTP upload is not tried
    sb, t = _target(tmp_path, qemu.FIRMWARE_SMALL)
    try:
        p = _ssh(t, "print(6*7)", text=True)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + _tail(t)
        refused = _fits_or_told(_ssh(t, "", "-tt", input=b"print(6*7+1)\r\n\x04", text=False), b"43", t)
        p = _ssh(t, "print(6*7+2)", text=True)
        assert (p.returncode, p.stdout) == (0, "44\n"), p.stderr + _tail(t)
        log = _idle(t)
        # the only tracebacks are the MemoryErrors' (where the heap ran out, for the owner)
        for block in log.split("Traceback (most recent call last):")[1:]:
            assert "MemoryError" in block.split("\nussh")[0], _tail(t)
        assert log.count("over the budget") == log.count("B of heap free") == refused, _tail(t)
        print(_heap(sb, log), "; the pty shell %s" % ("told out of memory" if refused else "started"))
    finally:
        t.stop()


def _shell(t):
    # a pty shell: a statement typed, its result, Ctrl-D
    return _ssh(t, "", "-tt", input=b"print(6*7+1)\r\n\x04", text=False)


def test_110k_board_runs_pty_shells_between_commands(tmp_path):
    # the 110 KB board with the small heap's shell (ussh.lineshell: ussh.pyrun's Runner typed a
    # line at a time, names interned at the start, qemu_small.LEAN_SHELL/LEAN_INTERN): commands
    # and pty shells one after another on one start, every one works and nothing ran out of memory
    sb, t = _target(tmp_path, qemu.FIRMWARE_SMALL, shell=qemu_small.LEAN_SHELL, intern=qemu_small.LEAN_INTERN)
    try:
        for i in range(3):
            p = _ssh(t, "print(6*7+%d)" % (2 * i), text=True)
            assert (p.returncode, p.stdout) == (0, "%d\n" % (42 + 2 * i)), p.stderr + _tail(t)
            if i < 2:
                p = _shell(t)
                assert p.returncode == 0 and b"ussh line shell" in p.stdout, repr(p.stdout + p.stderr) + _tail(t)
                assert b">>> print(6*7+1)\r\n43\r\n>>> " in p.stdout, repr(p.stdout + p.stderr) + _tail(t)
        log = _idle(t)
        assert "out of memory" not in log and "Traceback" not in log, _tail(t)
        assert log.count(" exec ") == 3, _tail(t)
        print(_heap(sb, log))
    finally:
        t.stop()


def test_110k_board_takes_a_command_a_pty_shell_and_a_64k_upload(tmp_path):
    # the ESP32-sized board as it starts by default (the small heap's line shell, its names
    # interned at the start): on one start a command, a pty shell, a 64 KiB `sftp -b` put whose
    # SHA-256 is read back on the board, and a command after it; every one works, nothing ran out
    # of memory. (Before the login let its key exchange's modules go and the upload's session
    # asked for less, the upload ran out at its first WRITE: README "Numbers")
    sb, t = _target(tmp_path, qemu.FIRMWARE_SMALL, shell=qemu_small.LEAN_SHELL, intern=qemu_small.LEAN_INTERN)
    try:
        p = _ssh(t, "print(6*7)", text=True)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + _tail(t)
        p = _shell(t)
        assert p.returncode == 0 and b">>> print(6*7+1)\r\n43\r\n>>> " in p.stdout, repr(p.stdout + p.stderr) + _tail(t)
        p, data = _put(t, tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr + _tail(t)
        h = _ssh(t, HASH, text=True)
        assert h.stdout.strip() == hashlib.sha256(data).hexdigest(), h.stdout + h.stderr + _tail(t)
        p = _ssh(t, "print(6*7+2)", text=True)
        assert (p.returncode, p.stdout) == (0, "44\n"), p.stderr + _tail(t)
        log = _idle(t)
        assert "out of memory" not in log and "Traceback" not in log, _tail(t)
        print(_heap(sb, log))
    finally:
        t.stop()
