"""`make push`: an app folder onto a board running ussh, as one new version (ussh.app).

usage: python tools/push.py DIR TARGET [-i KEY] [-p PORT] [-l USER] [--known-hosts FILE]
                            [--proxy-command CMD] [--accept-new] [--reset] [-v] [--chunk N]
                            [--timeout S]

TARGET is [user@]host[:port] or a Host of ~/.ssh/config (its HostName, Port, User,
IdentityFile, ProxyCommand and UserKnownHostsFile apply). The host key must be in known_hosts
(~/.ssh/known_hosts, or --known-hosts) unless --accept-new. One SSH connection:
1. exec `ussh.apppush.stage(...)` with the SHA-256 of every file of DIR: the board prepares the
   slot that is not active (files it has already are kept or copied there on the board) and
   names the files it still needs; an unchanged folder stops here: nothing is sent;
2. SFTP: only those files, into that slot;
3. exec `ussh.apppush.commit(...)`: the board checks every file's SHA-256 and switches to the new
   version in one step (a rename of its state file); it runs from the next boot, on probation
   until it confirms itself (see ussh.app), else the board goes back to the version before.
Prints what changed (+ added, ~ replaced, - removed) and the version committed. --reset resets
the board afterwards (machine.reset(), where the port has it). Exit status 0 when committed or
unchanged, 1 when the board refused (the reason is printed), 2 for a usage or connection error.
Files and folders whose name starts with "." and __pycache__ folders are left out.
"""
import argparse
import ast
import hashlib
import os
import sys


def local_files(top):
    """{relative path: sha256 hex} of the app folder."""
    out = {}
    for d, dirs, files in os.walk(top):
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and x != "__pycache__")
        for f in sorted(files):
            if f.startswith("."):
                continue
            p = os.path.join(d, f)
            with open(p, "rb") as g:
                out[os.path.relpath(p, top).replace(os.sep, "/")] = hashlib.sha256(g.read()).hexdigest()
    return out


def changes(old, new):
    """(added, replaced, removed): sorted path lists."""
    added = sorted(p for p in new if p not in old)
    replaced = sorted(p for p in new if p in old and old[p] != new[p])
    removed = sorted(p for p in old if p not in new)
    return added, replaced, removed


def _target(a):
    import paramiko

    user, host, port = None, a.target, None
    if "@" in host:
        user, host = host.rsplit("@", 1)
    if host.count(":") == 1:
        host, port = host.split(":")
        port = int(port)
    cfg = {}
    path = os.path.expanduser("~/.ssh/config")
    if os.path.exists(path):
        cfg = paramiko.SSHConfig.from_path(path).lookup(host)
    return {
        "host": cfg.get("hostname", host),
        "port": a.port or port or int(cfg.get("port", 22)),
        "user": a.user or user or cfg.get("user") or os.environ.get("USER", "root"),
        "keys": [a.identity] if a.identity else [os.path.expanduser(k) for k in cfg.get("identityfile", [])],
        "proxy": a.proxy_command or cfg.get("proxycommand"),
        "known": [a.known_hosts] if a.known_hosts else [os.path.expanduser(k) for k in
                                                          cfg.get("userknownhostsfile", "~/.ssh/known_hosts").split()],
    }


def proxy(cmd):
    """A socket whose other end is the stdin and stdout of `cmd` (ssh's ProxyCommand): the
    connection ends when the command does (paramiko's ProxyCommand spins at its EOF)."""
    import shlex
    import socket
    import subprocess

    mine, theirs = socket.socketpair()
    subprocess.Popen(shlex.split(cmd), stdin=theirs, stdout=theirs, close_fds=True)
    theirs.close()
    return mine


def connect(a):
    import paramiko

    t = _target(a)
    c = paramiko.SSHClient()
    for k in t["known"]:
        if os.path.exists(k):
            c.load_host_keys(k)
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy() if a.accept_new else paramiko.RejectPolicy())
    sock = proxy(t["proxy"]) if t["proxy"] else None
    off = {"kex": ["mlkem768x25519-sha256"]} if a.classic_kex else None
    w = a.timeout  # for the handshake too (paramiko's timeout): a slow board computes it all
    c.connect(t["host"], t["port"], username=t["user"], key_filename=t["keys"] or None, sock=sock, timeout=w,
              banner_timeout=w, auth_timeout=w, look_for_keys=not t["keys"], disabled_algorithms=off)
    return c, t


def upload(s, local, remote, chunk, progress=None):
    """One file over SFTP in writes of `chunk` bytes, each acknowledged before the next: a board
    with a small, fragmented heap gathers a write's channel data in one buffer, which must find
    room (paramiko's put() keeps many 32 KB writes in flight; the emulated board then runs out
    of memory at a 4 KB write)."""
    n = 0
    with open(local, "rb") as f, s.open(remote, "wb") as g:
        g.set_pipelined(False)
        while True:
            b = f.read(chunk)
            if not b:
                break
            g.write(b)
            n += len(b)
            if progress:
                progress(n)


def board_call(c, code, timeout=300):
    """Runs Python on the board (SSH exec); the dict of its USSH-PUSH line."""
    ch = c.get_transport().open_session(timeout=timeout)
    ch.settimeout(timeout)
    ch.exec_command(code)
    out = b""
    while True:
        d = ch.recv(65536)
        if not d:
            break
        out += d
    err = b""
    while ch.recv_stderr_ready():
        err += ch.recv_stderr(65536)
    status = ch.recv_exit_status()
    ch.close()
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("USSH-PUSH "):
            return ast.literal_eval(line[len("USSH-PUSH "):])
    raise SystemExit("push: the board answered no USSH-PUSH line (exit %s):\n%s%s"
                     % (status, out.decode(errors="replace"), err.decode(errors="replace")))


def _say(text):
    print(text, flush=True)


def push(a, out=_say):
    files = local_files(a.dir)
    if "main.py" not in files and "main.mpy" not in files:
        out("push: %s has no main.py: nothing to run" % a.dir)
        return 2
    c, t = connect(a)
    try:
        return _push(a, c, t, files, out)
    finally:
        c.close()


def _push(a, c, t, files, out):
    # one channel at a time: each takes a buffer a window long, and a board of 140 KB (the
    # emulated Cortex-M3) has no room for two of them beside a session's other buffers
    where = "%s:%d" % (t["host"], t["port"])
    wait = max(300, a.timeout)
    r = board_call(c, "from ussh import apppush\napppush.stage(%r)" % (files,), wait)
    if "error" in r:
        out("push: %s refused: %s" % (where, r["error"]))
        return 1
    old = r["old"]
    if r.get("same"):
        out("push: nothing changed: %s keeps version %d (0 files sent)" % (where, r["version"]))
        return 0
    added, replaced, removed = changes(old, files)
    for sign, names in (("+", added), ("~", replaced), ("-", removed)):
        for p in names:
            out("  %s %s" % (sign, p))
    need = r["need"]
    sent = 0
    if need:
        s = c.open_sftp()
        s.get_channel().settimeout(max(120, a.timeout))
        made = set()
        for p in need:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = r["slot"] + "/" + "/".join(parts[:i])
                if d not in made:
                    made.add(d)
                    try:
                        s.mkdir(d)
                    except OSError:
                        pass  # there already
            size = os.path.getsize(os.path.join(a.dir, p))
            out("push: sending %s (%d bytes)" % (p, size))
            upload(s, os.path.join(a.dir, p), r["slot"] + "/" + p, a.chunk,
                   (lambda n, p=p, size=size: out("push: %s %d of %d bytes" % (p, n, size))) if a.verbose else None)
            sent += size
        s.close()  # its buffers go before the commit's channel comes
    out("push: sent %d file(s), %d bytes; %d already on the board" % (len(need), sent, len(files) - len(need)))
    r = board_call(c, "from ussh import apppush\napppush.commit(%r, %d)" % (files, r["version"]), wait)
    if "error" in r:
        out("push: %s refused the commit: %s" % (where, r["error"]))
        return 1
    out("push: %s checked %d files' SHA-256 and committed version %d (%d bytes; version %s before)"
        % (where, r["checked"], r["version"], r["bytes"], r["previous"] or "none"))
    if a.reset:
        out("push: resetting the board")
        try:
            board_call(c, "import machine\nprint('USSH-PUSH {}')\nmachine.reset()", 30)
        except Exception:  # noqa: the connection goes with the board
            pass
    else:
        out("push: it runs from the board's next reset, on probation until it confirms itself")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="push an app folder to a board running ussh (see ussh.app)")
    ap.add_argument("dir")
    ap.add_argument("target", help="[user@]host[:port] or a Host of ~/.ssh/config")
    ap.add_argument("-i", "--identity", help="private key file")
    ap.add_argument("-p", "--port", type=int)
    ap.add_argument("-l", "--user")
    ap.add_argument("--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)")
    ap.add_argument("--proxy-command", help="as ssh's ProxyCommand (e.g. socat - TCP:127.0.0.1:N)")
    ap.add_argument("--accept-new", action="store_true", help="accept and remember an unknown host key")
    ap.add_argument("--chunk", type=int, default=1024, help="bytes per SFTP write (default 1024)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show each file's upload progress")
    ap.add_argument("--classic-kex", action="store_true",
                    help="no post-quantum key exchange (curve25519-sha256): less heap on a small board")
    ap.add_argument("--reset", action="store_true", help="reset the board after the commit (machine.reset())")
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds to wait for each step of the SSH connection (handshake, login; default 60)")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.dir):
        print("push: %s is not a folder" % a.dir)
        return 2
    try:
        return push(a)
    except SystemExit:
        raise
    except Exception as e:  # noqa: paramiko's errors: connection, host key, auth
        print("push: %s: %s" % (type(e).__name__, e))
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
