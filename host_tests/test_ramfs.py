"""boards/qemu/ramfs.py, the qemu board's RAM filesystem, mounted (os.mount) on the MicroPython unix
port: the VFS calls SFTP and scp make, the cap (ENOSPC, and the space back after a remove), and
OpenSSH's sftp putting and getting a file through ussh.stream with the RamFS as its root."""
import hashlib
import os
import signal
import subprocess

import runtimes
from sshd_fixtures import keygen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAMFS_DIR = os.path.join(ROOT, "boards", "qemu")

VFS_CODE = """
import os, sys
sys.path.insert(0, %r)
from ramfs import mount_ram
fs = mount_ram(8 * 1024, "/ram")
data = bytes(range(256)) * 11  # 2816 bytes: six 512-byte chunks
with open("/ram/a.bin", "wb") as f:
    print("wrote", f.write(data[:1000]), f.write(data[1000:]))
print("stat", os.stat("/ram/a.bin")[0] & 0xF000 == 0x8000, os.stat("/ram/a.bin")[6])
with open("/ram/a.bin", "rb") as f:
    f.seek(700)
    print("same", f.read(1500) == data[700:2200], f.read() == data[2200:], f.read() == b"")
    f.seek(0)
    b = bytearray(4000)
    print("readinto", f.readinto(b), bytes(b[:2816]) == data)
with open("/ram/a.bin", "r+b") as f:
    f.seek(510)
    f.write(b"XYZW")
with open("/ram/a.bin", "rb") as f:
    print("patched", f.read()[508:516] == data[508:510] + b"XYZW" + data[514:516])
os.mkdir("/ram/d")
os.rename("/ram/a.bin", "/ram/d/b.bin")
print("list", sorted(os.listdir("/ram")), [e[:2] for e in os.ilistdir("/ram/d")])
try:
    os.rmdir("/ram/d")
except OSError as e:
    print("rmdir", e.args[0])
with open("/ram/c.bin", "wb") as f:
    f.write(b"new")
os.rename("/ram/c.bin", "/ram/d/b.bin")  # replaces the file, as on POSIX
print("replaced", os.stat("/ram/d/b.bin")[6], fs.used)
try:
    with open("/ram/big", "wb") as f:
        f.write(bytes(9000))
except OSError as e:
    print("nospace", e.args[0])
os.remove("/ram/big")
with open("/ram/big", "wb") as f:
    print("again", f.write(bytes(6000)))
os.remove("/ram/big")
try:
    open("/ram/nothere", "rb")
except OSError as e:
    print("missing", e.args[0])
with open("/ram/t.txt", "a") as f:
    f.write("one\\n")
with open("/ram/t.txt", "a") as f:
    f.write("two\\n")
print("lines", [ln for ln in open("/ram/t.txt")])
os.chdir("/ram/d")
print("cwd", os.getcwd(), os.listdir(), os.statvfs("/ram")[:4])
"""


def run_client(argv, timeout):
    """Runs an OpenSSH client; on timeout kills its whole process group (scp's ssh, the
    ProxyCommand server) by the group id, then fails."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=runtimes.env_for("unix"), start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError("no exit within %d s: %s%s" % (timeout, out, err))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def test_ramfs_vfs_calls_and_cap():
    out = runtimes.run("unix", VFS_CODE % RAMFS_DIR, timeout=60)
    assert out.splitlines() == EXPECTED, out


EXPECTED = [
    "wrote 1000 1816",
    "stat True 2816",
    "same True True True",
    "readinto 2816 True",
    "patched True",
    "list ['d'] [('b.bin', 32768)]",
    "rmdir 39",
    "replaced 3 704",
    "nospace 28",
    "again 6000",
    "missing 2",
    "lines ['one\\n', 'two\\n']",
    "cwd /ram/d ['b.bin'] (512, 512, 16, 13)",
]

SERVER = """
import sys
sys.path.insert(0, %r)
from ramfs import mount_ram
mount_ram(24 * 1024, "/ram")
from ussh.startup import make_config
from ussh.stream import serve_stream


def log(m):
    sys.stderr.write(m + "\\n")


with open(%r, "rb") as f:
    hk = f.read()
with open(%r, "rb") as f:
    ak = f.read()
cfg = make_config(hk, ak, log=log, root=%r, channel_max_packet=1024, window=16384)


def write(b):
    sys.stdout.buffer.write(b)
    sys.stdout.buffer.flush()


serve_stream(sys.stdin.buffer.read, write, cfg, peer="stdio")
"""


def test_openssh_sftp_into_ramfs_over_stream(tmp_path):
    d = str(tmp_path)
    host = keygen(os.path.join(d, "host"), "host")
    client = keygen(os.path.join(d, "client"), "client")
    script = os.path.join(d, "server.py")
    with open(script, "w") as f:
        f.write(SERVER % (RAMFS_DIR, host, client + ".pub", "/ram"))
    up = os.path.join(d, "up.bin")
    big = os.path.join(d, "big.bin")
    with open(up, "wb") as f:
        f.write(os.urandom(16 * 1024))
    with open(big, "wb") as f:
        f.write(os.urandom(30 * 1024))
    down = os.path.join(d, "down.bin")
    batch = os.path.join(d, "batch")
    with open(batch, "w") as f:
        # "-put": the batch goes on after the refused upload (sftp -b stops at a failed command)
        f.write("-put %s big.bin\nput %s up.bin\nls -la\nget up.bin %s\nrm up.bin\n" % (big, up, down))
    proxy = " ".join("'%s'" % a for a in runtimes.command("unix", script))
    argv = ["sftp", "-F", "/dev/null", "-i", client, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-o", "ProxyCommand=" + proxy, "-b", batch,
            "board"]
    p = run_client(argv, 120)
    assert p.returncode == 0, p.stdout + p.stderr
    # 30 KiB > the 24 KB cap: ENOSPC, a FAILURE status (SFTP v3 has no code of its own for it)
    assert 'write remote "/big.bin": Failure' in p.stderr, p.stdout + p.stderr
    # the refused upload left nothing (nor its temporary file)
    files = [ln.split()[-1] for ln in p.stdout.splitlines() if ln.startswith("-")]
    assert files == ["up.bin"], p.stdout
    assert " 16384 " in p.stdout
    with open(up, "rb") as f, open(down, "rb") as g:
        assert f.read() == g.read()


def test_scp_legacy_upload_with_a_board_window(tmp_path):
    # scp -O into a server granting a 16 KB window (the qemu board's): the sink used to wait for a
    # whole 16 KB of file data while the client, the window not given back yet, could send less
    # (a hang: the interop's qemu scp-O cell).
    d = str(tmp_path)
    host = keygen(os.path.join(d, "host"), "host")
    client = keygen(os.path.join(d, "client"), "client")
    script = os.path.join(d, "server.py")
    with open(script, "w") as f:
        # the files in a folder on the host (the window, not the RamFS, is what this is about)
        f.write(SERVER % (RAMFS_DIR, host, client + ".pub", d + "/files"))
    os.mkdir(d + "/files")
    up = os.path.join(d, "up.bin")
    with open(up, "wb") as f:
        f.write(os.urandom(16 * 1024))
    proxy = " ".join("'%s'" % a for a in runtimes.command("unix", script))
    base = ["scp", "-F", "/dev/null", "-i", client, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", "-o", "ProxyCommand=" + proxy]
    p = run_client(base + ["-O", up, "board:up.bin"], 60)
    assert p.returncode == 0, p.stderr
    with open(up, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    with open(d + "/files/up.bin", "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == want
