"""Helpers for the file transfer tests (test_sftp.py, test_scp.py): a ussh server serving a root
folder, the stock sftp/scp command lines for it, paramiko's SFTP client, files of given sizes."""
import contextlib
import hashlib
import os
import struct
import subprocess

import paramiko

SIZES = (0, 1, 32767, 32768, (1 << 20) + 7)
RUNTIMES = ("unix", "cpython")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_files(folder, sizes=SIZES):
    """Random files f<size> in folder; returns {name: sha256}."""
    os.makedirs(folder, exist_ok=True)
    out = {}
    for n in sizes:
        p = os.path.join(folder, "f%d" % n)
        with open(p, "wb") as f:
            f.write(os.urandom(n))
        out["f%d" % n] = sha(p)
    return out


def start(ussh_server, tmp_path, runtime, root=None):
    """A ussh server whose --root is tmp_path/root (created); returns (srv, root)."""
    root = root or str(tmp_path / "root")
    os.makedirs(root, exist_ok=True)
    return ussh_server(runtime, extra_args=("--root", root)), root


def _common(srv):
    return ["-F", "/dev/null", "-i", srv.client_key, "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=" + srv.known_hosts, "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]


def sftp_argv(srv, batch):
    return ["sftp"] + _common(srv) + ["-P", str(srv.port), "-b", batch, "127.0.0.1"]


def sftp_batch(srv, tmp_path, lines, timeout=60):
    """Runs `sftp -b` with the given commands; CompletedProcess (text)."""
    batch = tmp_path / "batch"
    batch.write_text("\n".join(lines) + "\n")
    return subprocess.run(sftp_argv(srv, str(batch)), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def scp(srv, args, legacy=False, timeout=60):
    """Runs `scp [-O] -P port ... args` (remote paths as 127.0.0.1:path); CompletedProcess (text)."""
    argv = ["scp"] + (["-O"] if legacy else []) + _common(srv) + ["-P", str(srv.port)] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@contextlib.contextmanager
def paramiko_client(srv):
    """A paramiko SSHClient logged in to srv."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", srv.port, username="root", key_filename=srv.client_key,
                   look_for_keys=False, allow_agent=False, timeout=10, banner_timeout=10, auth_timeout=10)
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def paramiko_sftp(srv):
    """paramiko's SFTP client logged in to srv."""
    with paramiko_client(srv) as client:
        s = client.open_sftp()
        s.get_channel().settimeout(30)
        yield s


def leftovers(root):
    """Every temporary upload file or journal under root."""
    out = []
    for d, dirs, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith("~") or f == ".ussh-uploads"]
    return out


class RawSftp:
    """SFTP v3 packets over a paramiko session channel, to check exact STATUS codes (paramiko's own
    client folds every code other than NO_SUCH_FILE and PERMISSION_DENIED into one IOError)."""

    def __init__(self, transport):
        self.ch = transport.open_session(timeout=10)
        self.ch.settimeout(30)
        self.ch.invoke_subsystem("sftp")
        self.id = 0
        self._send(bytes([1]) + struct.pack(">I", 3))
        t, body = self._read()
        assert t == 2, t
        self.version = struct.unpack(">I", body[:4])[0]
        self.extensions = body[4:]

    def _send(self, payload):
        self.ch.sendall(struct.pack(">I", len(payload)) + payload)

    def _exact(self, n):
        out = b""
        while len(out) < n:
            d = self.ch.recv(n - len(out))
            if not d:
                raise EOFError("sftp channel closed")
            out += d
        return out

    def _read(self):
        n = struct.unpack(">I", self._exact(4))[0]
        p = self._exact(n)
        return p[0], p[1:]

    def request(self, t, *fields):
        """Sends request t with fields (bytes/str: string; int: u32; ('q', n): u64; ('raw', b));
        returns (reply type, body after the request id)."""
        self.id += 1
        out = bytes([t]) + struct.pack(">I", self.id)
        for f in fields:
            if isinstance(f, str):
                f = f.encode()
            if isinstance(f, bytes):
                out += struct.pack(">I", len(f)) + f
            elif isinstance(f, int):
                out += struct.pack(">I", f)
            elif f[0] == "q":
                out += struct.pack(">Q", f[1])
            else:
                out += f[1]
        self._send(out)
        rt, body = self._read()
        assert struct.unpack(">I", body[:4])[0] == self.id
        return rt, body[4:]

    def status(self, t, *fields):
        """(code, message) of a request answered with STATUS (an assertion error otherwise)."""
        rt, body = self.request(t, *fields)
        assert rt == 101, (rt, body)
        code, n = struct.unpack(">II", body[:8])
        return code, body[8:8 + n].decode()

    def handle(self, t, *fields):
        rt, body = self.request(t, *fields)
        assert rt == 102, (rt, body)
        n = struct.unpack(">I", body[:4])[0]
        return body[4:4 + n]


# request and status numbers, draft-ietf-secsh-filexfer-02
OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT, SETSTAT, FSETSTAT, OPENDIR, READDIR = range(3, 13)
REMOVE, MKDIR, RMDIR, REALPATH, STAT, RENAME, READLINK = range(13, 20)
EXTENDED = 200
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, BAD_MESSAGE = range(6)
OP_UNSUPPORTED = 8
F_READ, F_WRITE, F_APPEND, F_CREAT, F_TRUNC, F_EXCL = 1, 2, 4, 8, 16, 32
NO_ATTRS = ("raw", b"\0\0\0\0")
