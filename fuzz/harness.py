"""ussh's in-process fuzzer (CPython): drives lib/ussh's sans-IO Connection in every protocol state.

A state is reached once by a scripted client (ussh's own Transport framing with the client's keys,
`cryptography` for the client's X25519 / ML-KEM / Ed25519), then each case starts from a deep copy
of that state (server Connection and client together), so the mutated packets are encrypted and
MAC'd with the keys of the running connection and reach the parsers behind the transport.

A case is a list of items, each turned into wire bytes by the state's client:
    ("raw", bytes)                 fed as is (before keys: version lines, garbage)
    ("pkt", payload)               one packet, packed like a client would
    ("pkt", payload, opts)         opts: {"pad": n} padding-length byte, {"dlen": n} length field
                                   off by n (MAC still valid over it), {"mac": 1} a wrong MAC
and an optional list of cut points (the bytes arrive in pieces). Inputs come from mutations of
recorded OpenSSH payloads (fuzz/corpus/), of the scripted client's own packets, and from random
SSH structure (message numbers, u32s, strings, name-lists).

Oracle: conn.feed() may only return (a protocol error becomes a DISCONNECT inside feed); any
exception escaping it is a finding, as is a case running longer than HANG_S seconds, a buffer
outgrowing its limit (receive buffer, output queue, channel input, held packets, channels), and a
login without the authorized key's valid signature. User code never runs: Repl._run is replaced by
a stub (the fuzzer targets ussh's parsers, not Python); sftp/scp work in a throwaway root folder and
every file operation outside it is a finding.
"""
import copy
import copyreg
import hashlib
import os
import random
import signal
import struct
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
if LIB not in sys.path:
    sys.path.insert(0, LIB)

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey  # noqa: E402

from ussh import authkeys, kex, keys, repl, wire  # noqa: E402
from ussh.connection import Config, Connection  # noqa: E402
from ussh.transport import Transport  # noqa: E402

HANG_S = 5  # a case taking longer is a hang
OUT_LIMIT = 4 << 20  # bytes one case may queue (the client grants a 1 MiB channel window)

# memoryviews (AES keystream buffers) copy as fresh buffers
copyreg.pickle(memoryview, lambda m: (memoryview, (bytearray(m),)))


def u32(n):
    return struct.pack(">I", n & 0xFFFFFFFF)


s = wire.string


class Finding(Exception):
    pass


class Hang(BaseException):  # not an Exception: ussh's own handlers must not swallow it
    pass


def _stub_run(self, src, mode):
    # instead of compiling and running user code: some output, status 0 (1 when the
    # output raised, as user code's exceptions end in status 1)
    self._flush()
    self._busy = True
    try:
        self._o.write("ran %d\n" % len(src))
        status = 0
    except Exception:
        status = 1
    except KeyboardInterrupt:  # Ctrl-C (a "signal" request) while the code prints
        status = 1
    self._busy = False
    return status




# -- file operations confined to the fuzz root
_ROOTS = []
_GUARD = [False]  # on while a case runs


def _guard_fs():
    import builtins

    def inside(p):
        if isinstance(p, int):
            return True
        p = os.fsdecode(p)
        if "\0" in p:
            return True  # the call itself refuses it (ValueError): reported as a crash
        p = os.path.realpath(p)
        return any(p == r or p.startswith(r + os.sep) for r in _ROOTS) or p.startswith(LIB)

    def wrap(mod, name, nargs, write_only=False):
        f = getattr(mod, name)

        def g(*a, **kw):
            if not _GUARD[0] or write_only and not _writes(a, kw):
                return f(*a, **kw)
            for p in a[:nargs]:
                if not inside(p):
                    raise Finding("%s outside the root folder: %r" % (name, p))
            return f(*a, **kw)

        setattr(mod, name, g)

    def _writes(a, kw):
        mode = a[1] if len(a) > 1 else kw.get("mode", "r")
        return isinstance(mode, str) and any(c in mode for c in "wax+")

    for name, n in (("remove", 1), ("rename", 2), ("replace", 2), ("rmdir", 1), ("mkdir", 1),
                    ("chmod", 1), ("utime", 1), ("truncate", 1), ("unlink", 1)):
        wrap(os, name, n)
    wrap(builtins, "open", 1, write_only=True)


def install():
    """What a fuzz process needs (never done at import): user code stubbed, file operations
    checked against the fuzz root folders."""
    if repl.Repl._run is not _stub_run:
        repl.Repl._run = _stub_run
        _guard_fs()


def _pack(t, payload, pad=None, dlen=0, mac=0):
    # a client packet (etm, or encrypt-and-MAC when t.etm_out is false, once keyed), with
    # optional faults; the MAC is valid unless mac
    enc = t.enc
    if enc and not t.etm_out:
        return _pack_eam(t, payload, pad, dlen, mac)
    bs = 16 if enc else 8
    padn = bs - ((0 if enc else 4) + 1 + len(payload)) % bs
    if padn < 4:
        padn += bs
    body = bytearray(bytes([padn if pad is None else pad & 0xFF]) + payload + bytes(padn))
    length = u32(len(body) + dlen)
    seq = t.seq_out
    t.seq_out = (seq + 1) & 0xFFFFFFFF
    if not enc:
        return length + bytes(body)
    enc.apply(body, 0, len(body))
    tag = t.mac_out.mac(u32(seq), length + bytes(body))
    if mac:
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    return length + bytes(body) + tag


def _pack_eam(t, payload, pad, dlen, mac):
    # RFC 4253 §6: MAC over seq || plaintext packet, then the whole packet encrypted
    padn = 16 - (5 + len(payload)) % 16
    if padn < 4:
        padn += 16
    body = bytes([padn if pad is None else pad & 0xFF]) + payload + bytes(padn)
    pkt = bytearray(u32(len(body) + dlen) + body)
    seq = t.seq_out
    t.seq_out = (seq + 1) & 0xFFFFFFFF
    tag = t.mac_out.mac(u32(seq), bytes(pkt))
    if mac:
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    t.enc.apply(pkt, 0, len(pkt))
    return bytes(pkt) + tag


class Client:
    """The scripted client: packs payloads for the server and reads its replies."""

    version = b"SSH-2.0-OpenSSH_9.2p1 ussh-fuzz"

    def __init__(self):
        self.t = Transport(1 << 20)  # client -> server framing
        self.rx = Transport(1 << 20)  # server -> client
        self.rx_version = False
        self.pending = None
        self.newkeys_seen = False
        self.strict = False

    def wire(self, items):
        out = []
        for it in items:
            if it[0] == "raw":
                out.append(it[1])
            else:
                out.append(_pack(self.t, it[1], **(it[2] if len(it) > 2 else {})))
        return b"".join(out)

    def replies(self, conn):
        """The server's packets queued so far, decrypted; the queue is emptied."""
        data = b"".join(bytes(x) for x in conn.outq)
        conn.outq[:] = []
        rx = self.rx
        rx.feed(data)
        got = []
        if not self.rx_version:
            if rx.read_version() is None:
                return got
            self.rx_version = True
        while True:
            if self.newkeys_seen:
                if not self.pending:  # the keys are not known yet: stop here
                    return got
                rx.set_in(*self.pending)
                if self.strict:
                    rx.seq_in = 0
                self.pending = None
                self.newkeys_seen = False
            p = rx.read_packet()
            if p is None:
                return got
            got.append(p)
            if p[0] == 21:
                self.newkeys_seen = True


def _expect(got, n):
    for p in got:
        if p[0] == n:
            return p
    raise RuntimeError("expected message %d, got %r" % (n, [p[:1] for p in got]))


class Lab:
    """A server configuration (host key, one authorized client key, a throwaway root folder)
    and the states a fuzz case can start from."""

    def __init__(self, log=None, install_hooks=True):
        if install_hooks:
            install()
        self.root = tempfile.mkdtemp(prefix="ussh-fuzz-")
        _ROOTS.append(os.path.realpath(self.root))
        self.reset_root()
        self.host_key = keys.HostKey(hashlib.sha256(b"ussh fuzz host key").digest())
        self.ckey = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ussh fuzz client").digest())
        self.other = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"not authorized").digest())
        self.blob = self._blob(self.ckey)
        import collections

        self.logged = collections.deque(maxlen=200)  # the server's last log lines
        line = "ssh-ed25519 " + keys.b64encode(self.blob).decode() + " fuzz"
        # RSA, ECDSA, FIDO keys with options, CAs and a password (fuzz/userkeys.py)
        from userkeys import password_hash, user_keys

        self.uk = user_keys()
        ak = authkeys.parse("\n".join([line] + self.uk.authorized_lines()) + "\n", self.logged.append)
        cas = authkeys.parse("\n".join(self.uk.ca_lines()) + "\n", self.logged.append)
        self.cfg = Config(host_key=self.host_key, authorized_keys=ak, root=self.root, trusted_cas=cas,
                          password_hash=password_hash(), log=log or self.logged.append,
                          legacy_mac=True)  # the "eam" state
        self._snap = {}

    def reset_root(self):
        """The root folder as at the start (cases upload, remove, truncate...)."""
        import shutil

        for name in os.listdir(self.root):
            p = os.path.join(self.root, name)
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
        with open(os.path.join(self.root, "hello.txt"), "wb") as f:
            f.write(b"hello fuzz\n" * 50)
        os.mkdir(os.path.join(self.root, "sub"))

    @staticmethod
    def _blob(k):
        pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return s(b"ssh-ed25519") + s(pub)

    def new_conn(self):
        conn = Connection(self.cfg, "127.0.0.1:2222")  # an address: from= and source-address apply
        conn.pump = _pump(conn)
        return conn, Client()

    # -- the scripted client's packets
    def kexinit(self, pq=False, mac=b"hmac-sha2-256-etm@openssh.com"):
        kexs = [b"mlkem768x25519-sha256" if pq else b"curve25519-sha256", b"ext-info-c",
                b"kex-strict-c-v00@openssh.com"]
        nl = wire.namelist
        return b"".join([b"\x14", bytes(16), nl(kexs), nl([b"ssh-ed25519"]), nl([b"aes128-ctr"]),
                         nl([b"aes128-ctr"]), nl([mac]), nl([mac]), nl([b"none"]), nl([b"none"]),
                         nl([]), nl([]), b"\x00", u32(0)])

    def userauth_body(self, user=b"fuzz", key=None, query=False):
        key = key or self.ckey
        return (b"\x32" + s(user) + s(b"ssh-connection") + s(b"publickey") + (b"\x00" if query else b"\x01")
                + s(b"ssh-ed25519") + s(self._blob(key)))

    def sign_as(self, conn, body, name):
        """body signed for conn by the signer `name` (userkeys.SIGNERS); "password": as is."""
        if name in ("ours", "other", None):
            return self.sign(conn, body, self.other if name == "other" else None)
        if name == "password":
            return body
        return body + s(self.uk.sign(name, s(conn.session_id) + body))

    def sign(self, conn, body, key=None):
        sig = (key or self.ckey).sign(s(conn.session_id) + body)
        return body + s(s(b"ssh-ed25519") + s(sig))

    # -- reaching the states
    def build(self, name):
        """(conn, client) in state `name` (see STATES), built from scratch."""
        conn, c = self.new_conn()
        if name == "banner":
            return conn, c
        conn.feed(c.version + b"\r\n")
        got = c.replies(conn)
        i_s = _expect(got, 20)
        if name == "kexinit":
            return conn, c
        pq = name == "kex_pq"
        # "eam": a session on encrypt-and-MAC (hmac-sha2-256, RFC 4253 §6.4), when the server has it
        mac = b"hmac-sha2-256" if name == "eam" else b"hmac-sha2-256-etm@openssh.com"
        i_c = self.kexinit(pq, mac)
        conn.feed(c.wire([("pkt", i_c)]))
        c.strict = True
        if name in ("kex_ecdh", "kex_pq"):
            return conn, c
        eph = X25519PrivateKey.generate()
        q_c = eph.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        conn.feed(c.wire([("pkt", b"\x1e" + s(q_c))]))
        got = c.replies(conn)
        r = wire.Reader(_expect(got, 31), 1)
        k_s, q_s, _sig = r.string(), r.string(), r.string()
        k = wire.mpint_bytes(eph.exchange(X25519PublicKey.from_public_bytes(q_s)))
        h = hashlib.sha256(b"".join([s(c.version), s(conn.version), s(i_c), s(i_s), s(k_s), s(q_c),
                                     s(q_s), k])).digest()
        sid = h
        c.pending = kex._keys(k, h, sid, b"aes128-ctr", mac, (b"B", b"D", b"F"))
        c.replies(conn)  # NEWKEYS switches the reading side (EXT_INFO follows)
        c.k, c.h = k, h
        if name == "newkeys":
            return conn, c
        conn.feed(c.wire([("pkt", b"\x15")]))
        c.t.set_out(*kex._keys(k, h, sid, b"aes128-ctr", mac, (b"A", b"C", b"E")))
        c.t.seq_out = 0
        if name in ("service", "eam"):
            return conn, c
        conn.feed(c.wire([("pkt", b"\x05" + s(b"ssh-userauth"))]))
        _expect(c.replies(conn), 6)
        if name == "userauth":
            return conn, c
        conn.feed(c.wire([("pkt", self.sign(conn, self.userauth_body()))]))
        _expect(c.replies(conn), 52)
        if name in ("authed", "rekey"):
            return conn, c
        conn.feed(c.wire([("pkt", b"\x5a" + s(b"session") + u32(0) + u32(1 << 20) + u32(32768))]))
        _expect(c.replies(conn), 91)
        if name in ("channel", "scp"):
            return conn, c
        if name == "shell":
            conn.feed(c.wire([("pkt", b"\x62" + u32(0) + s(b"pty-req") + b"\x01" + s(b"xterm") + u32(80)
                               + u32(24) + u32(0) + u32(0) + s(b"\x00")),
                              ("pkt", b"\x62" + u32(0) + s(b"shell") + b"\x01")]))
            c.replies(conn)
            return conn, c
        if name == "sftp":
            conn.feed(c.wire([("pkt", b"\x62" + u32(0) + s(b"subsystem") + b"\x01" + s(b"sftp"))]))
            _expect(c.replies(conn), 99)
            conn.feed(c.wire([("pkt", b"\x5e" + u32(0) + s(u32(5) + b"\x01" + u32(3)))]))
            _expect(c.replies(conn), 94)
            return conn, c
        raise ValueError(name)

    def state(self, name):
        """A fresh copy of state `name` (built once, then copied)."""
        snap = self._snap.get(name)
        if snap is None:
            conn, c = self.build(name)
            conn.outq[:] = []
            c.rx = None  # the copy never reads replies
            snap = self._snap[name] = (conn, c, COPYABLE[name])
        conn, c, copyable = snap
        if not copyable:
            conn, c = self.build(name)
            conn.outq[:] = []
            c.rx = None
            return conn, c
        memo = {id(self.cfg): self.cfg, id(self.host_key): self.host_key}
        conn2, c2 = copy.deepcopy((conn, c), memo)
        conn2.pump = _pump(conn2)
        return conn2, c2


def _pump(conn):
    # what server.py's pump does with a client that sends nothing more: handle
    # what is buffered; waiting for more input ends the connection
    def pump(block):
        if conn.feed(b"") or not block:
            return
        conn.lost("fuzz: end of input")

    return pump


# state -> whether a snapshot can be copied (a running key exchange is a generator: rebuilt)
COPYABLE = {"banner": True, "kexinit": True, "kex_ecdh": False, "kex_pq": False, "newkeys": False,
            "service": True, "userauth": True, "authed": True, "rekey": True, "channel": True,
            "shell": True, "sftp": True, "scp": True, "eam": True}
STATES = list(COPYABLE)


def encode(lab, conn, c, items):
    """The wire bytes of a case's items for this (conn, client)."""
    out = []
    for it in items:
        kind = it[0]
        if kind == "raw":
            out.append(it[1])
            continue
        payload = it[1]
        if kind == "signed":  # a body signed for this connection (the key: it[3] "other" or ours)
            payload = lab.sign_as(conn, payload, it[3])
        out.append(_pack(c.t, payload, **(it[2] or {})))
    return b"".join(out)


def _alarm(signum, frame):
    raise Hang()


def check(conn, lab, items):
    """Invariants after each feed: bounded buffers, no login without a valid signature."""
    t = conn.transport
    if len(t.rbuf) > conn.cfg.max_packet + 4 + 64:
        raise Finding("receive buffer %d bytes" % len(t.rbuf))
    queued = sum(len(x) for x in conn.outq)
    if queued > OUT_LIMIT:
        raise Finding("output queue %d bytes" % queued)
    if len(conn._held) > 64:
        raise Finding("%d held packets" % len(conn._held))
    if len(conn.channels) > conn.cfg.max_channels:
        raise Finding("%d channels" % len(conn.channels))
    for ch in conn.channels.values():
        if len(ch.inbuf) > conn.cfg.window:
            raise Finding("channel input %d bytes over the window" % len(ch.inbuf))
        if ch.window < 0:
            raise Finding("negative window")
    if conn.user is not None and conn._fuzz_user is None:
        if not any(it[0] == "signed" and it[3] != "other" for it in items):
            raise Finding("logged in without a valid signature of the authorized key")


def run_case(lab, state, items, cuts=()):
    """One case: copy of `state`, items encoded and fed (in pieces at `cuts`). Returns None, or
    (kind, detail) for a finding: kind "crash", "hang" or "limit"."""
    conn, c = lab.state(state)
    conn._fuzz_user = conn.user
    data = encode(lab, conn, c, items)
    pieces, last = [], 0
    for cut in sorted(cuts):
        if last < cut < len(data):
            pieces.append(data[last:cut])
            last = cut
    pieces.append(data[last:])
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    _GUARD[0] = True
    try:
        for piece in pieces:
            conn.feed(piece)
            check(conn, lab, items)
            conn.outq[:] = []
            if conn.closed:
                break
    except Hang:
        return "hang", "no answer within %d s" % HANG_S
    except Finding as e:
        return "limit", str(e)
    except BaseException as e:  # noqa: B036 -- anything leaving feed() is a finding
        return "crash", "".join(traceback.format_exception(type(e), e, e.__traceback__))
    finally:
        _GUARD[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        for ch in list(conn.channels.values()):  # files an sftp session left open
            r = getattr(ch, "repl", None)
            for h in list(getattr(r, "handles", {}).values()):
                f = getattr(h, "f", None)
                try:
                    f and f.close()
                except Exception:
                    pass
    return None

