"""Interop matrix: checks a ussh target against every real SSH client and prints a matrix.

usage: python tools/interop.py [--target vboard|qemu|HOST[:PORT]] [--identity KEY] [--user NAME]
                               [--jobs N] [--size BYTES] [--clients a,b] [--ops x,y] [--out DIR]
       make interop [TARGET=...] [IDENTITY=~/.ssh/id_ed25519] [LOGIN_USER=...] [JOBS=N]

Targets:
  vboard      (default) the virtual board: the MicroPython unix port running boards/unix/main.py
              (ussh.start() with a ussh.cfg) in a folder under /tmp, with a throwaway client key;
              started here and stopped by its PID at the end
  qemu        the emulated Cortex-M3 (MPS2-AN385): tools/qemu.py's ssh_target(folder, authorized_keys)
  pico        the emulated Raspberry Pi Pico: tools/pico_login.py's ssh_target (UART1, littlefs)
  HOST[:PORT] a board on the network (port 22 by default), logged in with --identity (an unencrypted
              ed25519 private key whose .pub is in the board's authorized_keys; default ~/.ssh/id_ed25519)

Clients (rows): OpenSSH 9.2 (the system's ssh/sftp/scp), OpenSSH 10.x (Debian sid chroot, tools/ssh10),
paramiko, asyncssh, Fabric, parallel-ssh, Dropbear's dbclient. Operations (columns): exec, shell (pty),
stdin streaming, sftp put/get, scp (SFTP mode), scp -O (legacy), rekey, 2 sessions at once.
A cell is pass, fail (red: the reason and the client's output are in the report) or n/a (grey: the
client has no such operation; the report says why). Exit status 1 when any cell is red.

Writes build/interop/report.html (one self-contained file), report.json and report.txt.
As a module: run_matrix(target="vboard", ...) -> the matrix (a dict, as in report.json).
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import interop_async  # noqa: E402
import interop_clients as ic  # noqa: E402
import interop_libs  # noqa: E402
import interop_openssh  # noqa: E402
import interop_report  # noqa: E402

_CELL_MODULES = (ic, interop_openssh, interop_libs, interop_async)

ROOT = os.path.dirname(TOOLS)
OUT = os.path.join(ROOT, "build", "interop")
CLIENTS, OPS = ic.CLIENTS, ic.OPS


class TargetFailed(Exception):
    pass


class Target:
    """What the cells need: .host .port .user .key (OpenSSH private key under /tmp) .dbkey (Dropbear
    copy) .known_hosts .size (transfer bytes) .stdin_size; the probe adds .banner .fingerprint
    .server_algs; .log() is the server's output when we started it."""

    def __init__(self, name, host, port, user, key, folder, size, jobs):
        self.name, self.host, self.port, self.user, self.key = name, host, port, user, key
        self.dir, self.size, self.jobs = folder, size, jobs
        self.stdin_size = min(size, 64 * 1024)
        self.slow = 1  # the cells' time bounds are multiplied by this (a slow emulated board)
        self.known_hosts = os.path.join(folder, "known_hosts")
        self.dbkey = None
        self.dbkey_error = ""
        self.banner = self.fingerprint = ""
        self.server_algs = {}
        self.proc = None
        self.log_path = None
        self.stop_fn = None

    def log(self):
        if not self.log_path:
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.stop_fn:
            self.stop_fn()
        p = self.proc
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _wait_port(host, port, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise TargetFailed("%s exited with %s before accepting on port %d" % (what, proc.returncode, port))
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TargetFailed("%s did not accept on %s:%d within %d s" % (what, host, port, timeout))
            time.sleep(0.05)


def _client_key(folder):
    key = os.path.join(folder, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ussh-interop", "-f", key], check=True,
                   stdin=subprocess.DEVNULL)
    return key


def start_vboard(folder, size, jobs):
    """The virtual board: boards/unix/main.py on the unix port (tools/vboard.py's env and boot
    command), ussh.cfg on 127.0.0.1:free port; the board's lib/ussh is this checkout's lib/ussh."""
    import peers
    import vboard

    board = os.path.join(folder, "board")
    os.makedirs(os.path.join(board, "lib"))
    os.symlink(os.path.join(ROOT, "lib", "ussh"), os.path.join(board, "lib", "ussh"))
    shutil.copy(os.path.join(ROOT, "boards", "unix", "main.py"), board)
    key = _client_key(folder)
    shutil.copy(key + ".pub", os.path.join(board, "authorized_keys"))
    port = peers.free_port()
    with open(os.path.join(board, "ussh.cfg"), "w") as f:
        f.write("# written by tools/interop.py\nbind = 127.0.0.1\nport = %d\nhost_key = ssh_host_ed25519_key\n"
                "authorized_keys = authorized_keys\nmax_connections = %d\nroot = %s\n"
                "# for dbclient (Dropbear 2022: no encrypt-then-MAC); the report says so\nlegacy_mac = 1\n"
                % (port, 8 + 2 * jobs, board))
    t = Target("vboard", "127.0.0.1", port, "board", key, folder, size, jobs)
    t.log_path = os.path.join(folder, "vboard.log")
    with open(t.log_path, "wb") as log:
        t.proc = subprocess.Popen(vboard.boot_argv(board), cwd=board, env=vboard.env(board), stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_port(t.host, port, t.proc, 30, "the virtual board")
    except TargetFailed as e:
        t.stop()
        raise TargetFailed("%s\n%s" % (e, t.log()))
    return t


def start_qemu(folder, size, jobs):
    """The emulated Cortex-M3: expects tools/qemu.py to offer ssh_target(folder, authorized_keys) -> an
    object with .host, .port, .stop() (and optionally .log_path), serving SSH on a loopback TCP port."""
    key = _client_key(folder)
    try:
        import qemu
    except ImportError as e:
        raise TargetFailed("tools/qemu.py cannot be imported (%s): the emulated Cortex-M3 target is not there" % e)
    fn = getattr(qemu, "ssh_target", None)
    if fn is None:
        raise TargetFailed("tools/qemu.py has no ssh_target(folder, authorized_keys) yet: it cannot serve SSH "
                           "to the interop matrix")
    h = fn(folder, key + ".pub")
    t = Target("qemu", h.host, h.port, "board", key, folder, size, 1)  # one serial stream: one cell at a time
    t.stop_fn = h.stop
    t.known_hosts_line = getattr(h, "known_hosts_line", None)
    t.log_path = getattr(h, "log_path", None)
    return t


def start_pico(folder, size, jobs):
    """The emulated Raspberry Pi Pico (tools/pico_login.py ssh_target): SSH on its UART1, one
    connection at a time, transfers into its littlefs."""
    import pico_login

    key = _client_key(folder)
    h = pico_login.ssh_target(folder, key + ".pub")
    t = Target("pico", h.host, h.port, "board", key, folder, size, 1)  # one serial stream: one cell at a time
    # the emulated RP2040 runs at 0.45x a real Pico unloaded (20-25 M cycles/s on a busy 2-core
    # machine): OpenSSH's rekey cell, ~97 key exchanges (RekeyLimit=16K both ways) while 96 KB
    # stream, takes 56-110 s of it there, and the board was seen busy all along, not stalled
    t.slow = 3
    t.stop_fn = h.stop
    t.known_hosts_line = h.known_hosts_line
    t.log_path = h.log_path
    return t


def host_target(spec, folder, size, jobs, identity=None, user=None):
    host, _, port = spec.rpartition(":") if ":" in spec else (spec, "", "22")
    identity = os.path.expanduser(identity or "~/.ssh/id_ed25519")
    if not os.path.exists(identity):
        raise TargetFailed("no identity %s: give --identity (make interop IDENTITY=...)" % identity)
    key = os.path.join(folder, "id_user")  # under /tmp, where OpenSSH 10's chroot can read it
    shutil.copy(identity, key)
    os.chmod(key, 0o600)
    import getpass

    return Target(spec, host, int(port), user or getpass.getuser(), key, folder, size, jobs)


def probe(t):
    """The target's banner and its KEXINIT's name-lists (RFC 4253 7.1), its host key (ssh-keyscan ->
    known_hosts, fingerprint), and a Dropbear copy of the client key."""
    s = socket.create_connection((t.host, t.port), timeout=10)
    try:
        s.sendall(b"SSH-2.0-ussh_interop_probe\r\n")
        t.banner, t.server_algs = ic.read_version_and_kexinit(s)
    except ic.CellFailed as e:
        raise TargetFailed("probe: %s" % e)
    finally:
        s.close()
    known = getattr(t, "known_hosts_line", None)
    if known:  # the target knows its key (qemu: a UART board answers only a client that speaks first)
        lines, r = [known], None
    else:
        r = subprocess.run(["ssh-keyscan", "-T", "10", "-p", str(t.port), "-t", "ed25519", t.host],
                           capture_output=True, text=True, timeout=30)
        lines = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")]
    if not lines:
        raise TargetFailed("ssh-keyscan got no ed25519 host key: %s" % r.stderr[-500:])
    with open(t.known_hosts, "w") as f:
        f.write("\n".join(lines) + "\n")
    fp = subprocess.run(["ssh-keygen", "-lf", t.known_hosts], capture_output=True, text=True, timeout=10)
    t.fingerprint = fp.stdout.split()[1] if fp.stdout.split() else "?"
    t.dbkey = os.path.join(t.dir, "id_dropbear")
    r = subprocess.run(["dropbearconvert", "openssh", "dropbear", t.key, t.dbkey], capture_output=True, text=True)
    if r.returncode != 0:
        t.dbkey, t.dbkey_error = None, (r.stdout + r.stderr).strip()[-300:]


def _run_cell(t, client, op, folder, settle=0):
    cell = ic.Cell(client, op, t, folder)
    bound = ic.BOUNDS[op] * t.slow
    res = {"client": client, "op": op, "status": "fail", "reason": "", "seconds": None, "bound": bound}
    reason = ic.NA.get((client, op)) or ic.NA_TARGET.get(t.name, {}).get((client, op))
    if reason:
        res.update(status="na", reason=reason)
        return res
    name = "%s_%s" % (client.replace("-", "_"), op.replace("-", "_"))
    fn = next((getattr(mod, name) for mod in _CELL_MODULES if hasattr(mod, name)), None)
    os.makedirs(folder, exist_ok=True)
    box = {}
    # a board notices a closed connection a moment after the client closed it, and refuses one over
    # its limit (2 by default): let the previous cell's connections go first
    time.sleep(settle)

    def body():
        try:
            fn(cell)
            box["ok"] = True
        except Exception as e:  # any client error is this cell's failure, with its reason
            box["err"] = "%s: %s" % (type(e).__name__, e) if not isinstance(e, ic.CellFailed) else str(e)
            import traceback

            cell.log("exception", traceback.format_exc()[-4000:])

    t0 = time.monotonic()
    th = threading.Thread(target=body, daemon=True)
    th.start()
    th.join(bound)
    res["seconds"] = round(time.monotonic() - t0, 2)
    if th.is_alive():
        box["err"] = "no result within the cell's bound of %d s" % bound
        cell.kill()  # a hung client must not hold the target (qemu: its one TCP connection) for later cells
    if box.get("ok") and not th.is_alive():
        res["status"] = "pass"
    else:
        res["reason"] = (box.get("err") or "failed").strip().splitlines()[0][:300] if box.get("err") else "failed"
    if t.name in ("qemu", "pico") and op in ("sftp", "scp", "scp-O"):
        _clear_ramfs(t, cell)
    res.update(algs=dict(cell.algs), login_ms=cell.login_ms, login_note=cell.login_note, mbps=dict(cell.mbps),
               notes=list(cell.notes), output="".join(cell.out))
    if client == "dbclient":
        res["notes"].append(DBCLIENT_NOTE)
    return res


# Dropbear 2022's dbclient has no encrypt-then-MAC: it needs the target's opt-in (issue 17)
DBCLIENT_NOTE = ("needs the target's legacy_mac = 1 (--legacy-mac): hmac-sha2-256, encrypt-and-MAC; "
                 "the virtual board runs with it, a board without it refuses dbclient")


def _clear_ramfs(t, cell):
    """Empties the qemu board's filesystem after a transfer cell, so that each cell starts from the
    same state (the system's OpenSSH, bounded; a failure goes into the cell's output)."""
    # every file in its "/": the cells' uploads, and the temporary copies and journal of uploads an
    # "out of memory" cut short (ussh removes those only at its start)
    code = "import os\nfor n in os.listdir('/'):\n    os.remove('/' + n)\n"
    if t.name == "pico":  # its littlefs also holds the board's keys: the cells' files only
        code = "import os\nfor n in os.listdir('/'):\n    if n.startswith('interop') or n.startswith('.'):\n        os.remove('/' + n)\n"
    argv = ["ssh", "-F", "/dev/null", "-i", t.key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" +
            t.known_hosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % (10 * t.slow),
            "-p", str(t.port), "%s@%s" % (t.user, t.host), code]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        out = p.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        ic.kill_group(p)
        out = b"no exit within 30 s"
    if p.returncode != 0:
        cell.log("removing interop-* from the board's filesystem (exit %s)" % p.returncode,
                 out.decode(errors="replace"))


def _preload():
    """Imports the client libraries once, here: importing them first in parallel threads races."""
    for name in ("paramiko", "asyncssh", "fabric", "pssh.clients", "ssh2.session", "pexpect"):
        try:
            __import__(name)
        except Exception:
            pass  # the cells that need it fail with the import's own error


def _cleanup_remote(t):
    """Removes interop-* files the cells left on a board (a failed cell may leave its upload)."""
    try:
        import paramiko

        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        c.connect(t.host, t.port, username=t.user, key_filename=t.key, look_for_keys=False, allow_agent=False,
                  timeout=10)
        s = c.open_sftp()
        for name in s.listdir("."):
            if name.startswith("interop-"):
                s.remove(name)
        c.close()
    except Exception:
        pass


def run_matrix(target="vboard", identity=None, user=None, jobs=None, size=None, clients=CLIENTS, ops=OPS,
               out_dir=OUT, log=print, settle=None):
    """Runs the matrix against target; writes out_dir/report.{html,json,txt} (out_dir None: no files);
    returns the matrix: {"target": {...}, "clients", "ops", "cells": {client: {op: cell}}, ...}."""
    folder = tempfile.mkdtemp(prefix="ussh-interop-", dir="/tmp")  # OpenSSH 10's chroot sees /tmp only
    os.chmod(folder, 0o755)
    local = target in ("vboard", "qemu", "pico")  # started here, thrown away after: nothing to clean up
    # qemu: 64 KiB onto the board's flash filesystem (boards/qemu/flash.py, outside its heap);
    # pico: 64 KiB into its littlefs on the emulated flash
    size = size or (4 << 20 if target == "vboard" else 64 * 1024)
    jobs = jobs or 1
    settle = (0 if target == "vboard" else 0.5) if settle is None else settle
    started = time.time()
    t, setup_error = None, None
    try:
        if target == "vboard":
            t = start_vboard(folder, size, jobs)
        elif target == "qemu":
            t = start_qemu(folder, size, jobs)
        elif target == "pico":
            t = start_pico(folder, size, jobs)
        else:
            t = host_target(target, folder, size, jobs, identity, user)
        probe(t)
    except Exception as e:
        setup_error = "the target did not start: %s" % (e if isinstance(e, TargetFailed) else "%s: %s" % (
            type(e).__name__, e))
    cells = {c: {} for c in clients}
    try:
        if setup_error:
            for c in clients:
                for op in ops:
                    cells[c][op] = {"client": c, "op": op, "status": "fail", "reason": setup_error.splitlines()[0],
                                    "output": setup_error, "bound": ic.BOUNDS[op]}
        else:
            log("interop: %s %s:%d (%s, %s), %d cells, %d at once" % (
                t.name, t.host, t.port, t.banner, t.fingerprint, len(clients) * len(ops), t.jobs))
            _preload()
            order = [(c, op) for op in ops for c in clients]
            with ThreadPoolExecutor(max_workers=t.jobs) as pool:
                futs = {(c, op): pool.submit(_run_cell, t, c, op, os.path.join(folder, "cells", "%s-%s" % (c, op)),
                                             settle)
                        for c, op in order}
                for (c, op), f in futs.items():
                    cells[c][op] = f.result()
            if not local:
                _cleanup_remote(t)
    finally:
        if t is not None:
            t.stop()
    server_log = t.log() if t is not None else ""
    shutil.rmtree(folder, ignore_errors=True)
    m = {
        "target": {"name": target, "host": t.host if t else None, "port": t.port if t else None,
                   "banner": t.banner if t else "", "fingerprint": t.fingerprint if t else "",
                   "algorithms": t.server_algs if t else {}, "transfer_bytes": size, "jobs": jobs, "settle": settle,
                   "setup_error": setup_error, "server_log": server_log[-30000:]},
        "clients": list(clients), "ops": list(ops), "cells": cells,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
    }
    if out_dir:
        interop_report.write(m, out_dir)
    return m


def red_cells(m):
    return [(c, op, cell["reason"]) for c, row in m["cells"].items() for op, cell in row.items()
            if cell["status"] == "fail"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="vboard", help="vboard (default), qemu, pico or HOST[:PORT]")
    ap.add_argument("--identity", help="private key for a HOST target (default ~/.ssh/id_ed25519)")
    ap.add_argument("--user", help="login name for a HOST target (ussh accepts any)")
    ap.add_argument("--jobs", type=int, help="cells at once (default 1: a board takes 2 sessions, and serves only the session "
                    "whose command runs)")
    ap.add_argument("--size", type=int, help="bytes per transfer (vboard 4 MiB, qemu 16 KiB, HOST 64 KiB)")
    ap.add_argument("--settle", type=float, help="seconds between cells (vboard 0, others 0.5: a board "
                    "frees a closed session's slot a moment later)")
    ap.add_argument("--clients", help="comma-separated subset of " + ",".join(CLIENTS))
    ap.add_argument("--ops", help="comma-separated subset of " + ",".join(OPS))
    ap.add_argument("--out", default=OUT, help="report folder (default build/interop)")
    a = ap.parse_args(argv)
    clients = a.clients.split(",") if a.clients else CLIENTS
    ops = a.ops.split(",") if a.ops else OPS
    bad = [x for x in clients if x not in CLIENTS] + [x for x in ops if x not in OPS]
    if bad:
        ap.error("unknown client/operation: %s" % ", ".join(bad))
    m = run_matrix(a.target, a.identity, a.user, a.jobs, a.size, clients, ops, a.out, settle=a.settle)
    print(interop_report.text(m))
    print("report: %s" % os.path.relpath(os.path.join(a.out, "report.html"), os.getcwd()))
    return 1 if red_cells(m) else 0


if __name__ == "__main__":
    sys.exit(main())
