"""The ESP32-sized emulated board: build/qemu/firmware-small.elf (MicroPython's qemu port, a 110 KB
GC heap, nothing frozen) with ussh as .mpy files on its flash filesystem (boards/qemu/flash.py:
littlefs outside the heap), as `make deploy` leaves an ESP32 without PSRAM: every module ussh
imports is loaded from the filesystem into the heap.

    from qemu_small import SmallBoard          # tools/ on sys.path
    with SmallBoard(flash="/tmp/flash.img") as sb:   # started, ussh installed in /lib, main loaded
        first = sb.serve(forever=True, root="/")     # as qemu_login.UartBoard
        p = sb.ssh("print(6*7)")

The .mpy files come from tools/build_mpy.py (`make mpy BOARD=qemu`: -march=armv7m, so viper and
native code arrive as machine code, nothing compiled on the board) and go in through the raw REPL
(base64, a few KB per exec: no large block in the heap). boards/qemu/main.py is compiled the same
way into /lib/qemu_main.mpy. march="none" ships the modules that hold viper code as .py source
instead (compiled on the board at import, as mip or a plain copy of the sources would leave them):
the comparison the footprint bench makes.

Run alone: python tools/qemu_small.py [--plain] [--viper] [--march none]: installs, starts lean
(LEAN), serves (the 110 KB build, or --plain: the 140 KB one), logs in once and prints the free
heap and largest free block once serving and the lowest during the login; --measure: measure()'s
table (the footprint bench section); --shells N: shells() on the 110 KB board, a command and N
rounds of a pty shell and a command, each client's result and lowest heap.

A board this small cannot hold every module a session wants and a session (README "Numbers"):
SmallBoard(preload=..., reserve=N) imports them at start above a block of N bytes let go
afterwards, and leaves the post-quantum exchange, other key types and the client off (LEFT_OUT).
"""
import binascii
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_mpy  # noqa: E402
import packages  # noqa: E402
import qemu  # noqa: E402
import qemu_login  # noqa: E402

ROOT = os.path.dirname(HERE)
FILES = 1024 * 1024  # the flash filesystem: ussh's .mpy (about 200 KB) and the transfers
_CHUNK = 3072  # bytes of a file per exec (4 KB of base64 in the heap at once)


def build(march="armv7m"):
    """build/mpy/qemu-small[-none]/: ussh for the board and qemu_main.mpy; returns that folder.
    march "none": modules with viper/native code stay .py (mpy-cross cannot compile them without
    an arch), the rest are .mpy bytecode."""
    name = "qemu-small" if march == "armv7m" else "qemu-small-" + march
    out = build_mpy.mpy_dir(name)
    res = build_mpy.build(name, march, out)
    for rel, msg in res.errors.items():
        if march != "none" or "native" not in msg and "viper" not in msg:
            raise RuntimeError("mpy-cross %s: %s" % (rel, msg))
        with open(build_mpy.source_path(rel)) as f, open(os.path.join(out, rel), "w") as g:
            g.write(f.read())  # compiled on the board at import
    main = os.path.join(out, "qemu_main.mpy")
    cmd = [build_mpy.MPY_CROSS, "-O3", "-o", main, "-s", "qemu_main.py"]
    if march != "none":
        cmd.append("-march=" + march)
    src = os.path.join(ROOT, "boards", "qemu", "main.py")
    p = subprocess.run(cmd + [src], capture_output=True, text=True)
    if p.returncode != 0:
        if march != "none":
            raise RuntimeError("mpy-cross main.py: " + p.stderr)
        with open(src) as f, open(os.path.join(out, "qemu_main.py"), "w") as g:
            g.write(f.read())
    return out


# what `mpremote mip install` of the core and package-sftp.json puts on a board: the optional
# post-quantum exchange, key types and client stay off (the post-quantum module, installed, would
# be loaded at every start: ussh.plugins)
LEFT_OUT = tuple(m[:-3] for k, mods in packages.OPTIONAL.items() if k != "package-sftp.json" for m in mods)


def files(folder):
    """[(path under folder, size)] of what install() copies: ussh/** (the core and file transfer:
    LEFT_OUT stays out) and qemu_main.*"""
    out = []
    for d, dirs, names in os.walk(folder):
        dirs.sort()
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(d, n), folder)
            if rel.rsplit(".", 1)[0].replace(os.sep, "/") in LEFT_OUT:
                continue
            if rel.startswith("ussh" + os.sep) or rel.startswith("qemu_main."):
                out.append((rel, os.path.getsize(os.path.join(d, n))))
    return out


def put(board, path, data):
    """Writes data (bytes) to path on the board through its raw REPL, a chunk per exec."""
    board.exec("from binascii import a2b_base64 as _a2b\n_f = open(%r, 'wb')" % path)
    for i in range(0, len(data), _CHUNK):
        b64 = binascii.b2a_base64(data[i : i + _CHUNK], newline=False).decode()
        board.exec("_f.write(_a2b(%r))" % b64)
    board.exec("_f.close()\ndel _f, _a2b")


def install(board, folder, dest="/lib"):
    """Copies the files of folder (build()) to dest on the board's mounted flash; returns bytes."""
    board.exec("import os, gc\n"
               "def _mkdir(p):\n    try:\n        os.mkdir(p)\n    except OSError:\n        pass\n")
    board.exec("_mkdir(%r)" % dest)
    made, total = set(), 0
    for rel, size in files(folder):
        parts = rel.split(os.sep)
        for i in range(1, len(parts)):
            d = dest + "/" + "/".join(parts[:i])
            if d not in made:
                board.exec("_mkdir(%r)" % d)
                made.add(d)
        with open(os.path.join(folder, rel), "rb") as f:
            put(board, dest + "/" + "/".join(parts), f.read())
        total += size
    board.exec("del _mkdir\ngc.collect()")
    return total


# main's serve() and the modules a session loads, imported at start above a reserved block that is
# then let go: the connections' buffers find one free run below them. Imported one by one as a
# session wants them, each module's bytecode would land between the last one's buffers, and after a
# few the heap, 16 KB free, has no 1.5 KB in one piece (a KEXINIT failed so).
PRELOAD = """import sys, gc
sys.path.append('/lib')
gc.collect()
_r = bytearray(%d)
if not %r:
    from ussh import compat
    compat.have_viper = lambda: False
from qemu_main import serve
_m = None
for _m in %r.split():
    __import__(_m)
del _r, _m
gc.collect()
print(gc.mem_free())
"""
# what a login, an exec, a shell and an SFTP upload load (sys.modules after them)
SESSION = ("ussh.stream ussh.connection ussh.driver ussh.auth ussh.kex ussh.channel ussh.repl ussh.budget ussh.scheduler "
           "ussh.plugins")


# The lean start (SmallBoard(lean=settings)): the keys are files on the flash, as on a board
# `make deploy` set up, read by configure() once the modules are in (no 4 KB call text compiled
# among them); the Config is made there, and what only the start needs is let go. All of it is
# made above a block of SmallBoard's reserve bytes (8 KB), let go at the end: the connections find
# one free run of that length below the modules (without it, the 110 KB board served with 20 KB
# free in pieces of 3 KB at most, and a client's 1.5 KB KEXINIT found no room).
LEAN = """import sys, gc
sys.path.append('/lib')
gc.collect()
_r = bytearray(%d)
from ussh import compat
if not %r:
    compat.have_viper = lambda: False
from qemu_main import serve, configure
# the long-lived tables first, while the heap is in one piece: AES's (four lists of 256) and
# Ed25519's base point multiples (3 KB in one block), then the modules
from ussh.crypto import AESCTR, ed25519_public
AESCTR(bytes(16), bytes(16)).apply(bytearray(16))
ed25519_public(bytes(32))
del AESCTR, ed25519_public
_m = None
for _m in %r.split():
    __import__(_m)
_cfg = configure(%r, '/host_key', '/authorized_keys', drop=%r, **%r)
_i = %r  # LEAN_INTERN: loaded once and let go, their names stay
for _m in _i:
    __import__(_m)
from ussh.stream import unload
unload(_i)
del _r, _i, unload
gc.collect()
from qemu_main import _largest
print(gc.mem_free(), _largest(gc.mem_free()))
del _largest, _m
gc.threshold(%d)
"""
# the lean board's Config: packets of 512 B and a window of two (README "Limits": the ESP32-sized
# row); main.py's read buffer, LEAN_RX bytes
LEAN_SETTINGS = {"channel_max_packet": 512, "window": 1024, "root": "/"}
LEAN_RX = 256
# the lean board collects garbage after every LEAN_THRESHOLD bytes allocated (gc.threshold), not
# only when an allocation fails: the key exchange's and a session's short-lived objects are then
# freed while few, and later ones reuse their room, instead of spreading over the free heap and
# leaving the survivors scattered (without it, a login's AES key schedule found no 512 bytes in
# one piece with 10 KB free, on 7 of 10 starts)
LEAN_THRESHOLD = 2048
# what only the start needs, let go once the Config is made: making it, reading the host key's file, parsing the keys file, and the
# users' keys' verification tables (ed25519_pre; on 110 KB they do not fit, and it keeps none)
LEAN_DROP = ("ussh.startup", "ussh.keyfile", "ussh.authkeys", "ussh.crypto.ed25519_pre")
# the shell where ussh.repl's editor does not fit (the 110 KB board: a pty shell loads 7.2 KB of
# modules with it, 4 KB with this one; README "Numbers"), and the modules the lean start loads
# once and lets go (serve() drops PER_SESSION before the first client) so that their names are
# interned at the start, low in the heap: imported first inside a session, the names' pool
# stayed for good among that session's objects, and a later shell's compile found no 512 B in
# one piece (the lean 110 KB board's shells then failed on about 1 in 2 tries; with it 0 in 18)
LEAN_SHELL = "ussh.lineshell"
LEAN_INTERN = ("ussh.pyrun", "ussh.pysource", "ussh.lineshell")
# what a session loads beyond SESSION, let go after each connection on the lean board
PER_SESSION = ("ussh.pyrun", "ussh.pysource", "ussh.repl", "ussh.lineshell", "ussh.sftp", "ussh.sftp_ops", "ussh.sftp_dirs", "ussh.fs",
               "ussh.scp", "ussh.budget")


class SmallBoard(qemu_login.UartBoard):
    """qemu_login.UartBoard on firmware-small.elf with ussh on its flash (installed at the first
    start on a fresh flash image); main.py's serve() is that of /lib/qemu_main.mpy. start_heap:
    the free heap once main is loaded (gc.collect()); installed: bytes copied (0 if they were
    there)."""

    def __init__(self, flash, march="armv7m", timeout=600, icount=False, elf=qemu.FIRMWARE_SMALL, viper=False,
                 reserve=8192, preload=SESSION.split(), lean=None, shell=None, intern=()):
        super().__init__(icount=icount, timeout=timeout, flash=flash, elf=elf)
        self.shell, self.intern = shell, tuple(intern)  # the lean board's: LEAN_SHELL, LEAN_INTERN
        self.viper, self.reserve, self.preload = viper, reserve, preload
        self.march = march
        self.lean = lean
        self.start_heap = self.start_block = None
        self.installed = 0

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ussh-qemu-small-")
        try:
            self.host_key = qemu_login.keygen(os.path.join(self.dir, "host"), "qemu-host")
            self.client_key = qemu_login.keygen(os.path.join(self.dir, "client"), "qemu-client")
            self.known_hosts = os.path.join(self.dir, "known_hosts")
            folder = build(self.march)
            self.board.start()
            qemu.mount_flash(self.board, FILES)
            there = self.board.exec("import os\ntry:\n    print(len(os.listdir('/lib/ussh')))\n"
                                    "except OSError:\n    print(0)\n").strip()
            if there == "0":
                self.installed = install(self.board, folder)
            t0 = time.monotonic()
            if self.lean is not None:
                for path, local in (("/host_key", self.host_key), ("/authorized_keys", self.client_key + ".pub")):
                    with open(local, "rb") as f:
                        put(self.board, path, f.read())
                code = LEAN % (self.reserve, self.viper, " ".join(self.preload), os.urandom(48 + 32 * 7), LEAN_DROP,
                               self.lean, self.intern, LEAN_THRESHOLD)
            else:
                code = PRELOAD % (self.reserve, self.viper, " ".join(self.preload))
            out = self.board.exec(code)
            self.start_heap, _, block = out.strip().partition(" ")
            self.start_heap = int(self.start_heap)
            self.start_block = int(block) if block else None
            self.start_seconds = time.monotonic() - t0
        except BaseException:
            self.__exit__()
            raise
        return self

    def call(self, entropy=True, authorized_keys_file=None, **kw):
        """The serve() call: on the lean board with the Config made at start (LEAN), the modules
        a session loads beyond it let go after each connection (PER_SESSION)."""
        if self.lean is None:
            return super().call(entropy, authorized_keys_file, **kw)
        kw.setdefault("drop", PER_SESSION)
        if self.shell:
            kw.setdefault("shell", self.shell)
        return "serve(cfg=_cfg, %s)" % ", ".join("%s=%r" % kv for kv in sorted(kw.items()))


def measure(folder):
    """{label: (guest instructions, heap bytes)} that importing what a session needs (ussh.stream,
    ussh.repl, ussh.auth) takes on the 140 KB nothing-frozen board, ussh as .mpy from its flash:
    portable code only, the viper modules as armv7m machine code (`make mpy BOARD=qemu`), and as
    .py compiled on the board at import (where that runs out of heap, the portable code is used:
    the label says which paths loaded). folder: for the flash images."""
    out = {}
    for march, viper in (("armv7m", False), ("armv7m", True), ("none", True)):
        with SmallBoard(os.path.join(folder, "m-%s.img" % march), march=march, elf=qemu.FIRMWARE_PLAIN, viper=viper,
                        icount=True, preload=[], reserve=0) as sb:
            b = sb.board
            n = b.count("import ussh.stream, ussh.repl, ussh.auth", setup="import gc\ngc.collect()\n_f0 = gc.mem_free()")
            heap = int(b.exec("gc.collect()\nprint(_f0 - gc.mem_free())").strip())
            paths = b.exec("from ussh.crypto import curve25519\nprint(curve25519.fast_paths()['x25519'][:8])").strip()
            label = "portable" if not viper else ("viper precompiled" if march != "none" else "viper compiled on the board")
            out["%s (x25519: %s)" % (label, paths)] = (n, heap)
    return out


def _lean_target(folder, elf):
    # one start of the lean board with the small heap's shell (LEAN_SHELL, LEAN_INTERN), serving:
    # (the SmallBoard, its SSHTarget, OpenSSH's options for it)
    sb = SmallBoard(os.path.join(folder, "flash.img"), elf=elf, timeout=120, preload=["ussh.stream", "ussh.channel", "ussh.scheduler"],
                    lean=LEAN_SETTINGS, shell=LEAN_SHELL, intern=LEAN_INTERN)
    sb.__enter__()
    try:
        first = sb.serve(forever=True, root="/", one_session=False, heap=True, rx=LEAN_RX)
        if "serving SSH" not in first:
            raise qemu.BoardError("the board did not serve: " + first)
    except BaseException:
        sb.__exit__()
        raise
    t = qemu.SSHTarget(sb, os.path.join(folder, "qemu.log"))
    known = os.path.join(folder, "known_hosts")
    with open(known, "w") as f:
        f.write(t.known_hosts_line + "\n")
    opts = ["-F", "/dev/null", "-i", sb.client_key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes"]
    return sb, t, opts


def shells(folder, rounds=2, elf=qemu.FIRMWARE_SMALL):
    """A command, then (pty shell, command) rounds times, on one start of the lean board with the
    small heap's shell (LEAN_SHELL, LEAN_INTERN), through OpenSSH: [(kind, worked)], the start's
    free heap and largest block, and the console: the figures behind
    test_small_board.py::test_110k_board_runs_pty_shells_between_commands (README "Numbers")."""
    sb, t, opts = _lean_target(folder, elf)
    base = ["ssh"] + opts + ["-p", str(t.port)]
    out = []
    try:
        for i in range(2 * rounds + 1):
            try:
                if i % 2:
                    p = subprocess.run(base + ["-tt", "root@127.0.0.1", ""], input=b"print(6*7+1)\r\n\x04",
                                       capture_output=True, timeout=120)
                    out.append(("shell", p.returncode == 0 and b"\r\n43\r\n" in p.stdout))
                else:
                    p = subprocess.run(base + ["root@127.0.0.1", "print(6*7)"], capture_output=True, timeout=120)
                    out.append(("exec", p.returncode == 0 and p.stdout == b"42\n"))
            except subprocess.TimeoutExpired:
                out.append(("shell" if i % 2 else "exec", False))
            time.sleep(0.5)
        return out, sb.start_heap, sb.start_block, t.console_text()
    finally:
        t.stop()


# what the board reads back after an upload: the file's SHA-256, read in 512-byte pieces
HASH = ("import hashlib, binascii\nh = hashlib.sha256()\nb = bytearray(512)\nf = open('/up.bin', 'rb')\n"
        "while True:\n    n = f.readinto(b)\n    if not n:\n        break\n    h.update(memoryview(b)[:n])\n"
        "f.close()\nprint(binascii.hexlify(h.digest()).decode())")


def uploads(folder, rounds=1, elf=qemu.FIRMWARE_SMALL, size=64 * 1024):
    """A command, then rounds times (an OpenSSH `sftp -b` put of size random bytes, the SHA-256
    read back on the board, a command), on one start of the lean board (LEAN_SHELL, LEAN_INTERN):
    [(kind, worked)], the start's free heap and largest block, and the console."""
    import hashlib

    sb, t, opts = _lean_target(folder, elf)
    src, batch = os.path.join(folder, "up.bin"), os.path.join(folder, "batch")
    with open(batch, "w") as f:
        f.write("put %s /up.bin\n" % src)
    out = []

    def run(kind, argv, want):
        try:
            p = subprocess.run(argv, capture_output=True, timeout=120)
            out.append((kind, p.returncode == 0 and want(p.stdout)))
            if not out[-1][1]:
                print(kind, p.returncode, p.stdout[-300:], p.stderr[-500:])
        except subprocess.TimeoutExpired:
            out.append((kind, False))
        time.sleep(0.5)

    ssh = ["ssh"] + opts + ["-p", str(t.port), "root@127.0.0.1"]
    try:
        run("exec", ssh + ["print(6*7)"], lambda o: o == b"42\n")
        for _ in range(rounds):
            data = os.urandom(size)
            with open(src, "wb") as f:
                f.write(data)
            run("put", ["sftp"] + opts + ["-b", batch, "-P", str(t.port), "root@127.0.0.1"], lambda o: True)
            run("hash", ssh + [HASH], lambda o: o.strip() == hashlib.sha256(data).hexdigest().encode())
            run("exec", ssh + ["print(6*7)"], lambda o: o == b"42\n")
        return out, sb.start_heap, sb.start_block, t.console_text()
    finally:
        t.stop()


def _report(out, heap, block, log):
    lows = re.findall(r"^ussh-bench heap (\d+)\nussh-bench block (\d+)$", log, re.M)
    print("serving with %d B free (largest block %d B)" % (heap, block))
    for (kind, ok), low in zip(out, lows[::2]):  # a connection's, then the wait after it
        print("%-5s %-4s lowest %s B free, largest block then %s B" % (kind, "ok" if ok else "FAIL", low[0], low[1]))
    if "out of memory" in log or not all(ok for _, ok in out):
        print(log[-3000:])
    return 0 if all(ok for _, ok in out) else 1


def main(argv):
    if "--upload" in argv:
        elf = qemu.FIRMWARE_PLAIN if "--plain" in argv else qemu.FIRMWARE_SMALL
        with tempfile.TemporaryDirectory() as d:
            return _report(*uploads(d, int(argv[argv.index("--upload") + 1]), elf))
    if "--shells" in argv:
        with tempfile.TemporaryDirectory() as d:
            return _report(*shells(d, int(argv[argv.index("--shells") + 1])))
    if "--measure" in argv:
        with tempfile.TemporaryDirectory() as d:
            for k, (n, heap) in measure(d).items():
                print("%-50s %12d instructions %7d B heap" % (k, n, heap))
        return 0
    march = "none" if "--march" in argv and argv[argv.index("--march") + 1] == "none" else "armv7m"
    with tempfile.TemporaryDirectory() as d:
        elf = qemu.FIRMWARE_PLAIN if "--plain" in argv else qemu.FIRMWARE_SMALL
        with SmallBoard(os.path.join(d, "flash.img"), march=march, elf=elf, viper="--viper" in argv,
                        preload=["ussh.stream"], lean=LEAN_SETTINGS) as sb:
            print("installed %d B of ussh (-march=%s, viper %s); serving with %d B free (largest block %d B), "
                  "started in %.2f s" % (sb.installed, march, sb.viper, sb.start_heap, sb.start_block,
                                         sb.start_seconds))
            first = sb.serve(heap=True, rx=LEAN_RX, root="/")
            print(first)
            if "serving SSH" not in first:
                print(sb.wait(60))
                return 1
            try:
                p = sb.ssh("print(6*7)", timeout=120)
            except subprocess.TimeoutExpired:
                try:
                    print("ssh timed out; console:", sb.board._read_until(b"\x04", 3))
                except qemu.BoardError as e:
                    print("ssh timed out; console:", str(e)[-3000:])
                return 1
            print("exec:", p.returncode, repr(p.stdout), p.stderr[-300:])
            log = sb.wait(300)
            print(log)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
