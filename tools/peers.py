"""SSH servers on 127.0.0.1 for ussh's tests and benchmarks, and the ssh client command for them.

Shared by host_tests/ (sshd_fixtures.py), bench/ (login.py) and tools/ (free_port); never imported by lib/ussh.

    with Lab() as lab:                      # temp dir + throwaway ed25519 client key
        srv = lab.start("dropbear")         # or "sshd", "asyncssh", "ussh" (runtime="unix"|"cpython")
        p = srv.ssh("echo ok")              # CompletedProcess (stock ssh; client="ssh10" for OpenSSH 10)
    # every server started by the lab is stopped by PID when the lab closes

Servers:
  ussh      `-m ussh --bind 127.0.0.1 --port P --host-key F --authorized-keys F` on the
            MicroPython unix port (MICROPYPATH=lib) or CPython (PYTHONPATH=lib)
  dropbear  dropbear -F -E -s -m -p 127.0.0.1:P -r KEY, login user PEER_USER
  sshd      OpenSSH sshd -D -e -f CFG with ussh's algorithm set, login user PEER_USER
  asyncssh  tools/asyncssh_server.py (answers `echo ...` in-process)

Dropbear and sshd log in a dedicated system user PEER_USER (created here when missing: needs root)
whose shell is /bin/sh and whose home holds no rc files, so the command they run through the login
shell starts as fast as a shell can; Dropbear reads its ~/.ssh/authorized_keys, to which a lab
adds its client key while it runs Dropbear (removed again when the lab closes).
"""
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
SSH10 = os.path.join(ROOT, "tools", "ssh10")
PEER_USER = "usshpeer"
PEER_HOME = "/var/lib/usshpeer"
SERVER_KINDS = ("ussh", "dropbear", "sshd", "asyncssh")


class ServerFailed(Exception):
    pass


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def keygen(path, comment="ussh-test"):
    """Throwaway unencrypted ed25519 key pair at path / path.pub; returns path."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def ussh_available():
    return os.path.exists(os.path.join(LIB, "ussh", "__main__.py"))


def ensure_peer_user():
    """The login user of the Dropbear and sshd peers: /bin/sh, empty home. Returns its name."""
    try:
        pwd.getpwnam(PEER_USER)
    except KeyError:
        if os.geteuid() != 0:
            raise ServerFailed("the %s login user is missing and creating it needs root" % PEER_USER)
        # password '*': no password login, but not a locked account ('!'), which sshd/dropbear refuse
        subprocess.run(["useradd", "--system", "--shell", "/bin/sh", "--home-dir", PEER_HOME,
                        "--no-create-home", "-p", "*", PEER_USER], check=True)
    os.makedirs(os.path.join(PEER_HOME, ".ssh"), exist_ok=True)
    for d in (PEER_HOME, os.path.join(PEER_HOME, ".ssh")):
        os.chmod(d, 0o755)  # root-owned, not group/world writable: what Dropbear's checks want
    return PEER_USER


def _peer_authorized_key(line, add):
    """Add or remove one key in PEER_USER's ~/.ssh/authorized_keys (Dropbear reads only that
    file), under a lock, so labs running at the same time keep each other's keys."""
    path = os.path.join(PEER_HOME, ".ssh", "authorized_keys")
    line = line.strip()
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as f:
                keys = [k.strip() for k in f if k.strip()]
        except FileNotFoundError:
            keys = []
        keys = [k for k in keys if k != line] + ([line] if add else [])
        with open(path + ".new", "w") as f:
            f.write("".join(k + "\n" for k in keys))
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)


def ssh_argv(port, key, known_hosts, cmd, user=None, client="ssh", options=()):
    """The client command line: no algorithm options, only this key, batch mode, accept-new."""
    exe = SSH10 if client == "ssh10" else client
    argv = [exe, "-F", "/dev/null", "-p", str(port), "-i", key, "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=" + known_hosts, "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    for o in options:
        argv += ["-o", o]
    if user:
        argv += ["-l", user]
    return argv + ["127.0.0.1", cmd]


class Server:
    """One server process on 127.0.0.1:port, its output captured in a log file."""

    def __init__(self, name, argv, port, workdir, env=None, user=None, command="echo 1",
                 host_key=None, client_key=None, known_hosts=None):
        self.name = name
        self.argv = argv
        self.port = port
        self.dir = workdir
        self.env = env
        self.user = user  # login name for ssh (None: the client's default)
        self.command = command  # the bench's "print 1" command for this server
        self.host_key = host_key
        self.client_key = client_key
        self.known_hosts = known_hosts or os.path.join(workdir, "known_hosts")
        self.log_path = os.path.join(workdir, "%s-%d.log" % (name, port))
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=20):
        """Start and wait (bounded) until the port accepts; ServerFailed carries the log."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env, cwd=ROOT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed("%s exited with %s before accepting on port %d\n%s"
                                   % (self.name, self.proc.returncode, self.port, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailed("%s did not accept on port %d within %ss\n%s"
                                   % (self.name, self.port, timeout, self.log()))
            time.sleep(0.05)

    def log(self):
        """The server's output so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def ssh_argv(self, cmd, client="ssh", options=()):
        return ssh_argv(self.port, self.client_key, self.known_hosts, cmd, self.user, client, options)

    def ssh(self, cmd, input=None, timeout=60, client="ssh", options=()):
        """Run cmd through `ssh` (client "ssh": stock; "ssh10": OpenSSH 10); CompletedProcess (text)."""
        return subprocess.run(self.ssh_argv(cmd, client, options), input=input, capture_output=True,
                              text=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def descendants(self):
        """PIDs of the server's child processes, theirs, ... (sshd's per-connection processes
        start their own sessions: the process group does not hold them)."""
        out, todo = [], [self.pid] if self.pid else []
        while todo:
            r = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True)
            kids = [int(x) for x in r.stdout.split()]
            out += kids
            todo += kids
        return out

    def stop(self):
        """Stop the server by its PID (SIGTERM, then SIGKILL), its process group's children and
        its descendants (an sshd's sessions: a restarted server has none of its old clients)."""
        p = self.proc
        if p is None:
            return
        kids = self.descendants() if p.poll() is None else []
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        try:  # per-connection children (sshd, dropbear) share the group started with the server
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Lab:
    """A temp dir with a throwaway client key; starts servers in it and stops them all on close."""

    def __init__(self, prefix="ussh-lab-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)  # sshd reads AuthorizedKeysFile as the login user
        self.client_key = keygen(os.path.join(self.dir, "client_ed25519"), "ussh-lab-client")
        with open(self.client_key + ".pub") as f:
            self.client_pub = f.read()
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        with open(self.authorized_keys, "w") as f:
            f.write(self.client_pub)
        os.chmod(self.authorized_keys, 0o644)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.servers = []

    def authorize(self, keys):
        """Replaces authorized_keys with one new key per name of keys (name -> the line's
        options, "" for none); returns {name: private key path}."""
        paths = {}
        with open(self.authorized_keys, "w") as f:
            for name, opts in keys.items():
                paths[name] = keygen(os.path.join(self.dir, "key_" + name), name)
                with open(paths[name] + ".pub") as pub:
                    f.write((opts + " " if opts else "") + pub.read())
        return paths

    def _server(self, name, argv, port, **kw):
        s = Server(name, argv, port, self.dir, client_key=self.client_key,
                   known_hosts=self.known_hosts, **kw)
        self.servers.append(s)
        return s

    def make(self, kind, **kw):
        """An unstarted Server of a kind in SERVER_KINDS (ussh takes runtime, extra_args, heapsize)."""
        return getattr(self, "_make_" + kind)(free_port(), **kw)

    def start(self, kind, timeout=20, **kw):
        return self.make(kind, **kw).start(timeout)

    def _make_ussh(self, port, runtime="unix", extra_args=(), heapsize=None, name=None):
        if not ussh_available():
            raise ServerFailed("ussh not available: lib/ussh/__main__.py does not exist yet")
        host_key = os.path.join(self.dir, "ussh_host_key_%d" % port)  # ussh creates it
        env = dict(os.environ)
        if runtime == "unix":
            argv = [MICROPYTHON] + (["-X", "heapsize=%s" % heapsize] if heapsize else [])
            env["MICROPYPATH"] = LIB + ":.frozen"
        elif runtime == "cpython":
            argv = [VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable, "-u"]
            env["PYTHONPATH"] = LIB
        else:
            raise ValueError("ussh runs as a server on 'unix' or 'cpython', not %r" % runtime)
        argv += ["-m", "ussh", "--bind", "127.0.0.1", "--port", str(port), "--host-key", host_key,
                 "--authorized-keys", self.authorized_keys] + list(extra_args)
        return self._server(name or "ussh-" + runtime, argv, port, env=env, command="print(1)",
                            host_key=host_key)

    def _make_dropbear(self, port):
        user = ensure_peer_user()
        _peer_authorized_key(self.client_pub, add=True)
        self._dropbear_key = True
        host_key = os.path.join(self.dir, "dropbear_host_ed25519")
        if not os.path.exists(host_key):
            subprocess.run(["dropbearkey", "-t", "ed25519", "-f", host_key], check=True,
                           capture_output=True)
        argv = ["dropbear", "-F", "-E", "-s", "-m", "-p", "127.0.0.1:%d" % port, "-r", host_key,
                "-P", os.path.join(self.dir, "dropbear-%d.pid" % port)]
        return self._server("dropbear", argv, port, user=user, host_key=host_key)

    def _make_sshd(self, port, extra=()):
        # extra: sshd_config lines put first (sshd keeps a keyword's first value)
        user = ensure_peer_user()
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
        host_key = os.path.join(self.dir, "sshd_host_ed25519")
        if not os.path.exists(host_key):
            keygen(host_key, "sshd-peer")
        cfg = os.path.join(self.dir, "sshd_config_%d" % port)
        with open(cfg, "w") as f:
            f.write("\n".join(list(extra) + [
                "ListenAddress 127.0.0.1",
                "Port %d" % port,
                "HostKey " + host_key,
                "KexAlgorithms curve25519-sha256",
                "HostKeyAlgorithms ssh-ed25519",
                "PubkeyAcceptedAlgorithms ssh-ed25519",
                "Ciphers aes128-ctr",
                "MACs hmac-sha2-256-etm@openssh.com",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "AuthorizedKeysFile " + self.authorized_keys,
                "StrictModes no",
                "PidFile none",
                "AllowUsers " + user,
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "Subsystem sftp /usr/lib/openssh/sftp-server",  # the transfer bench's reference
                "",
            ]))
        argv = [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", cfg]
        return self._server("sshd", argv, port, user=user, host_key=host_key)

    def _make_asyncssh(self, port):
        host_key = os.path.join(self.dir, "asyncssh_host_ed25519")
        if not os.path.exists(host_key):
            keygen(host_key, "asyncssh-peer")
        argv = [VENV_PYTHON, os.path.join(ROOT, "tools", "asyncssh_server.py"), "--port", str(port),
                "--host-key", host_key, "--authorized-keys", self.authorized_keys]
        return self._server("asyncssh", argv, port, host_key=host_key)

    def close(self):
        for s in self.servers:
            s.stop()
        if getattr(self, "_dropbear_key", False):
            _peer_authorized_key(self.client_pub, add=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
