"""The interop matrix's cells: one function per (client, operation), named CLIENT_OP, driven by
tools/interop.py. Here: the shared part (Cell, processes, KEXINIT lists, the pty shell) and the
dbclient row; OpenSSH in interop_openssh.py, paramiko and Fabric in interop_libs.py, asyncssh and
parallel-ssh in interop_async.py.

A cell function takes a Cell (its target, a scratch folder under /tmp, a log) and either returns
normally (pass), raises CellFailed / any exception (fail: the reason and the captured client
output go into the report) or is listed in NA (grey: the client has no such operation).
A cell fills in cell.algs (kex, hostkey, cipher, mac as negotiated), cell.login_ms and, for
transfers, cell.mbps = {"up": ., "down": .}.
"""
import hashlib
import io
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
SSH10 = os.path.join(ROOT, "tools", "ssh10")
SID = os.path.join(ROOT, "build", "sid")

CLIENTS = ("openssh9", "openssh10", "paramiko", "asyncssh", "fabric", "parallel-ssh", "dbclient")
OPS = ("exec", "shell", "stdin", "sftp", "scp", "scp-O", "rekey", "2-sessions")
# seconds a cell may take (every process and library call inside has its own smaller timeout)
BOUNDS = {"exec": 30, "shell": 30, "stdin": 60, "sftp": 120, "scp": 120, "scp-O": 120, "rekey": 90,
          "2-sessions": 45}
NA = {
    ("paramiko", "scp"): "paramiko has no scp client",
    ("paramiko", "scp-O"): "paramiko has no scp client",
    ("asyncssh", "scp"): "asyncssh.scp() speaks only the legacy scp protocol (see scp -O)",
    ("fabric", "scp"): "Fabric transfers files over SFTP only (see sftp)",
    ("fabric", "scp-O"): "Fabric transfers files over SFTP only (see sftp)",
    ("fabric", "rekey"): "Fabric has no rekey call (its paramiko transport: see the paramiko row)",
    ("parallel-ssh", "scp"): "parallel-ssh's scp_send/scp_recv speak the legacy protocol (see scp -O)",
    ("parallel-ssh", "rekey"): "libssh2 (parallel-ssh's native client) exposes no key re-exchange",
    ("dbclient", "sftp"): "Dropbear has no sftp client",
    ("dbclient", "scp"): "Debian's dropbear-bin ships no scp",
    ("dbclient", "scp-O"): "Debian's dropbear-bin ships no scp",
    ("dbclient", "rekey"): "dbclient rekeys only after 1 GB or 8 h (compile-time), no option",
}
# per target: what its transport cannot do, whatever the client (grey cells, with the reason)
_ONE_STREAM = ("the emulated Cortex-M3 serves SSH on one UART: qemu's TCP port for it takes one "
               "connection at a time, so two connections at once cannot work (two channels on one "
               "connection do: see the OpenSSH and paramiko rows)")
NA_TARGET = {
    "qemu": {
        ("asyncssh", "2-sessions"): _ONE_STREAM,
        ("fabric", "2-sessions"): _ONE_STREAM,
        ("parallel-ssh", "2-sessions"): _ONE_STREAM,
        ("dbclient", "2-sessions"): _ONE_STREAM,
    },
}
_ONE_UART = ("the emulated Pico serves SSH on its UART1: the emulator's TCP port for it takes one "
             "connection at a time, so two connections at once cannot work (two channels on one "
             "connection do: see the OpenSSH and paramiko rows)")
NA_TARGET["pico"] = {k: _ONE_UART for k in NA_TARGET["qemu"]}
EXEC_CMD = "print(6*7)"
# reads stdin to its end, prints its length and SHA-256 (readline: little heap on a board)
STDIN_CMD = ("import sys, hashlib, binascii\nh = hashlib.sha256()\nn = 0\nwhile True:\n"
             "    l = sys.stdin.readline()\n    if not l: break\n    h.update(l.encode()); n += len(l)\n"
             "print(n, binascii.hexlify(h.digest()).decode())")


class CellFailed(Exception):
    pass


class Cell:
    """One cell's context and result. target: .host .port .user .key .dbkey .known_hosts .size"""

    def __init__(self, client, op, target, folder):
        self.client, self.op, self.target, self.dir = client, op, target, folder
        self.algs = {}
        self.login_ms = None
        self.login_note = ""
        self.mbps = {}
        self.notes = []
        self.out = []  # captured client output
        self.procs = []  # the client processes started by run(): killed by kill() when the bound expires

    def log(self, title, text):
        if text:
            self.out.append("--- %s\n%s" % (title, text if text.endswith("\n") else text + "\n"))

    def kill(self):
        """Kills every client process this cell started that still runs, with its children (scp's
        and sftp's ssh): each was started as the leader of its own process group."""
        for p in self.procs:
            kill_group(p)

    def check(self, ok, reason):
        if not ok:
            raise CellFailed(reason)

    def remote(self, what):
        return "interop-%s-%s" % (self.client, what)

    def local_file(self, name="up.bin", size=None):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(os.urandom(self.target.size if size is None else size))
        return path


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def stdin_data(n):
    """About n bytes of text lines and the line the STDIN_CMD prints for them."""
    lines, total, i = [], 0, 0
    while total < n:
        line = "%07d %s\n" % (i, "x" * 56)
        lines.append(line)
        total += len(line)
        i += 1
    data = "".join(lines)
    return data, "%d %s" % (len(data), hashlib.sha256(data.encode()).hexdigest())


def mbps(size, seconds):
    return round(size / max(seconds, 1e-6) / 1e6, 2)


# ---- key exchange lists ----------------------------------------------------------------------

KEXINIT_NAMES = ("kex", "hostkey", "cipher_cs", "cipher_sc", "mac_cs", "mac_sc", "comp_cs", "comp_sc")


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise CellFailed("the peer closed the connection after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def read_version_and_kexinit(s):
    """(version line, {name: [algorithms]}) from a peer that was just sent our version line:
    RFC 4253 4.2 (lines before the version allowed) and 7.1 (KEXINIT's name-lists)."""
    line = b""
    while not line.startswith(b"SSH-"):
        line = b""
        while not line.endswith(b"\n") and len(line) < 256:
            line += read_exact(s, 1)
    n, pad = struct.unpack(">IB", read_exact(s, 5))
    payload = read_exact(s, n - 1)[: n - 1 - pad]
    lists, pos = {}, 17  # message number 20 and the cookie
    for name in KEXINIT_NAMES:
        ln = struct.unpack(">I", payload[pos:pos + 4])[0]
        lists[name] = payload[pos + 4:pos + 4 + ln].decode().split(",")
        pos += 4 + ln
    return line.strip().decode(errors="replace"), lists


def negotiate(client, server):
    """RFC 4253 7.1: per list, the client's first algorithm the server also has."""
    pick = lambda k: next((a for a in client.get(k, []) if a in server.get(k, [])), "?")  # noqa: E731
    return {"kex": pick("kex"), "hostkey": pick("hostkey"), "cipher": pick("cipher_sc"), "mac": pick("mac_sc")}


def client_kexinit(cell, argv_for_port, env=None):
    """A client's own algorithm lists: it connects to a listener here that answers with a version
    line, reads the client's KEXINIT and hangs up (for clients that do not print what they chose)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)
    p = subprocess.Popen(argv_for_port(ls.getsockname()[1]), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env, cwd=cell.dir)
    try:
        s, _ = ls.accept()
        s.settimeout(10)
        with s:
            s.sendall(b"SSH-2.0-ussh_interop_listener\r\n")
            return read_version_and_kexinit(s)
    finally:
        ls.close()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


# ---- processes -------------------------------------------------------------------------------

class Proc:
    pass


def kill_group(p):
    """SIGKILL to the process group of p (started with start_new_session=True), then reaps p."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass


def run(cell, argv, input=None, timeout=60, env=None, mark=None, title=None):
    """Runs argv; returns Proc(rc, out, err, secs, mark_secs: when `mark` first showed on stderr)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cell.dir,
                         start_new_session=True)  # its own group: a timeout kills scp's ssh too
    cell.procs.append(p)
    r = Proc()
    r.mark_secs = None
    chunks = {"out": [], "err": []}

    def pump(stream, key):
        for line in iter(stream.readline, b""):
            if key == "err" and mark and r.mark_secs is None and mark.encode() in line:
                r.mark_secs = time.monotonic() - t0
            chunks[key].append(line)

    threads = [threading.Thread(target=pump, args=(p.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(p.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    if input is not None:
        def feed():
            try:
                p.stdin.write(input.encode() if isinstance(input, str) else input)
                p.stdin.close()
            except OSError:
                pass
        threading.Thread(target=feed, daemon=True).start()
    try:
        r.rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        r.rc = None
    for t in threads:
        t.join(5)
    r.secs = time.monotonic() - t0
    r.out = b"".join(chunks["out"]).decode(errors="replace")
    r.err = b"".join(chunks["err"]).decode(errors="replace")
    cell.log("%s (exit %s, %.2f s)" % (title or " ".join(argv[-3:])[:120], r.rc, r.secs),
             "$ %s\n%s%s" % (" ".join(argv), r.out[-4000:], r.err[-12000:]))
    cell.check(r.rc is not None, "%s: no exit within %d s" % (argv[0], timeout))
    return r

def ossh_algs(cell, text):
    """Negotiated algorithms and login time from `ssh -v` output."""
    for key, rx in (("kex", r"kex: algorithm: (\S+)"), ("hostkey", r"kex: host key algorithm: (\S+)"),
                    ("cipher", r"kex: server->client cipher: (\S+)"), ("mac", r"kex: server->client cipher: \S+ MAC: (\S+)")):
        m = re.search(rx, text)
        if m:
            cell.algs[key] = m.group(1)


def pexpect_shell(cell, argv, env=None, prompt=">>> "):
    """Log in with a pty, wait for the REPL prompt, send a line, read its result, Ctrl-D."""
    import pexpect

    buf = io.StringIO()
    t0 = time.monotonic()
    child = pexpect.spawn(argv[0], argv[1:], timeout=20, encoding="utf-8", env=env, cwd=cell.dir)
    child.logfile_read = buf
    try:
        child.expect(prompt)
        cell.login_ms = round((time.monotonic() - t0) * 1000, 1)
        cell.login_note = "start to the first '>>> ' prompt"
        child.send("x = 6*7\r")
        child.expect(prompt)
        child.send("print(x)\r")
        child.expect("42\r+\n")  # \r\r\n through a local pty (Fabric's shell)
        child.expect(prompt)
        child.send("\x04")
        child.expect(pexpect.EOF)
        deadline = time.monotonic() + 10  # the pty's EOF can come before the process has exited
        while child.isalive() and time.monotonic() < deadline:
            time.sleep(0.02)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        raise CellFailed("shell: %s; the last output: %r" % (type(e).__name__, (child.before or "")[-200:]))
    finally:
        child.close(force=True)
        cell.log("%s (pty transcript, exit %s)" % (os.path.basename(argv[0]), child.exitstatus),
                 "$ %s\n%s" % (" ".join(argv), buf.getvalue()[-12000:]))
        ossh_algs(cell, buf.getvalue())
        m = re.search(r"INTEROP-ALGS (\S+) (\S+) (\S+) (\S+)", buf.getvalue())
        if m:
            cell.algs = dict(zip(("kex", "hostkey", "cipher", "mac"), m.groups()))
    cell.check(child.exitstatus == 0, "shell session ended with exit %s" % child.exitstatus)


# ---- Dropbear's dbclient -----------------------------------------------------------------------

def _db_argv(cell, cmd=None, tty=False):
    t = cell.target
    cell.check(t.dbkey is not None, "no Dropbear copy of the identity: %s" % getattr(t, "dbkey_error", "?"))
    return ["dbclient", "-y", "-i", t.dbkey, "-p", str(t.port), "-l", t.user] + (["-t"] if tty else []) + \
        [t.host] + ([cmd] if cmd is not None else [])


def _db_env(cell):
    return dict(os.environ, HOME=cell.dir)  # its known_hosts (-y: accept a new key) stays in the cell's folder


def dbclient_exec(cell):
    r = run(cell, _db_argv(cell, EXEC_CMD), timeout=30, env=_db_env(cell), title="dbclient print(6*7)")
    cell.check((r.rc, r.out) == (0, "42\n"), "exit %s, stdout %r" % (r.rc, r.out[:200]))
    cell.login_ms = round(r.secs * 1000, 1)
    cell.login_note = "the whole dbclient run (no verbose output to time the login alone)"
    _db_algs(cell)


def _db_algs(cell):
    # dbclient prints nothing of what it chose: its KEXINIT against the target's (RFC 4253 7.1)
    t = cell.target
    version, lists = client_kexinit(cell, lambda port: ["dbclient", "-y", "-y", "-i", t.dbkey, "-p", str(port),
                                                        "127.0.0.1", "true"], _db_env(cell))
    cell.algs = negotiate(lists, t.server_algs)
    cell.notes.append("algorithms: %s's KEXINIT negotiated against the target's" % version)


def dbclient_stdin(cell):
    data, want = stdin_data(cell.target.stdin_size)
    r = run(cell, _db_argv(cell, STDIN_CMD), input=data, timeout=50, env=_db_env(cell), title="dbclient stdin")
    cell.check((r.rc, r.out) == (0, want + "\n"), "exit %s, stdout %r (want %r)" % (r.rc, r.out[:200], want))
    _db_algs(cell)


def dbclient_shell(cell):
    pexpect_shell(cell, _db_argv(cell, tty=True), env=_db_env(cell))
    _db_algs(cell)


def dbclient_2_sessions(cell):
    res = {}

    def one(tag):
        res[tag] = run(cell, _db_argv(cell, "print(%r * 3)" % tag), timeout=30, env=_db_env(cell),
                       title="dbclient " + tag)

    threads = [threading.Thread(target=one, args=(tag,)) for tag in ("a", "b")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(35)
    for tag in ("a", "b"):
        r = res.get(tag)
        cell.check(r is not None and (r.rc, r.out) == (0, tag * 3 + "\n"), "session %s: %s" % (tag, r and r.out))
    cell.notes.append("two connections at once (dbclient has no multiplexing)")
    _db_algs(cell)
