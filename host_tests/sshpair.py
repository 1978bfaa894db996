"""Two in-memory SSH peers for the fast tier (make check): a scripted client against lib/ussh's
sans-IO Connection, no sockets, no threads. Runs on CPython and on the MicroPython unix port, so
it uses ussh's own primitives for the client's side (X25519, Ed25519, AES-CTR, HMAC).

    p = Pair()                   # version, key exchange, ssh-userauth, publickey: logged in
    a = p.open()                 # a session channel; a is the client's id for it
    p.request(a, b"exec", b"print(1)")
    p.events()                   # what the server sent since, decoded:
        [("success", a), ("data", a, b"1\\n"), ("eof", a), ("exit", a, 0), ("close", a)]

Interleavings: while user code waits for the client (conn.wait: input(), a full window), the
server's pump takes the next step of p.script (client bytes, or a function returning them; a
function runs when reached, so it sees what the server sent so far). A wait with nothing scripted
raises Stuck: the test would hang there. Non-blocking polls take nothing, so a test does not
depend on timing.
"""
import struct

try:
    import ussh  # noqa: F401
except ImportError:  # CPython under pytest: lib/ is not on the path (the unix port has MICROPYPATH)
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from ussh import kex, keys, wire
from ussh.authkeys import AuthorizedKey
from ussh.connection import Config, Connection
from ussh.driver import pump
from ussh.crypto import x25519, x25519_base
from ussh.compat import sha256
from ussh.transport import Transport

s = wire.string
u32 = wire.u32

HOST_SEED = b"\x01" * 32
USER_SEED = b"\x02" * 32
VERSION = b"SSH-2.0-OpenSSH_9.9 sshpair"
WINDOW = 1 << 20  # what the client grants each channel

# server message number -> event name (channel messages carry the client's channel id)
NAMES = {1: "disconnect", 3: "unimplemented", 6: "service-accept", 7: "ext-info", 51: "auth-failure",
         52: "auth-success", 60: "pk-ok", 81: "request-success", 82: "request-failure", 91: "open-ok",
         92: "open-failure", 93: "window", 94: "data", 95: "stderr", 96: "eof", 97: "close", 98: "request",
         99: "success", 100: "failure"}


class Stuck(Exception):
    """The server waits for the client and the script has nothing more."""


def raises(exc, f, *a):
    """The exception f(*a) raises, which must be an exc (pytest.raises without pytest)."""
    try:
        f(*a)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (f, exc.__name__))


_dirs = [0]


def tmpdir():
    """A new empty folder under /tmp (MicroPython has no tempfile)."""
    import os
    from ussh.crypto import random_bytes

    d = "/tmp/ussh-pair-" + "".join(["%02x" % x for x in random_bytes(6)])
    os.mkdir(d)
    return d


def rmtree(d):
    """Removes folder d and everything in it (MicroPython has no shutil)."""
    import os

    for name in os.listdir(d):
        p = d + "/" + name
        if os.stat(p)[0] & 0o170000 == 0o040000:
            rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)


class Folder:
    """with Folder() as d: a tmpdir() removed afterwards."""

    def __enter__(self):
        self.d = tmpdir()
        return self.d

    def __exit__(self, *a):
        rmtree(self.d)


def user_key():
    return keys.HostKey(USER_SEED)


def config(**kw):
    """A Config with the pair's host key and its user key authorized; kw: Config settings."""
    kw.setdefault("host_key", keys.HostKey(HOST_SEED))
    if "authorized_keys" not in kw:
        k = user_key()
        kw["authorized_keys"] = [AuthorizedKey(k.algorithm, k.blob, "pair", [], 1)]
    kw.setdefault("log", Log())
    return Config(**kw)


class Log(list):
    def __call__(self, line):
        self.append(line)

    def has(self, text):
        return [x for x in self if text in x]


def decode(p):
    """A server payload as a tuple: (name, [channel,] fields...)."""
    n = p[0]
    name = NAMES.get(n, n)
    r = wire.Reader(p, 1)
    if n == 94:
        return (name, r.u32(), r.string())
    if n == 95:
        ch = r.u32()
        r.u32()
        return (name, ch, r.string())
    if n == 98:
        ch = r.u32()
        what = r.string()
        r.boolean()
        if what == b"exit-status":
            return ("exit", ch, r.u32())
        return (name, ch, what, r.rest())
    if n == 93:
        return (name, r.u32(), r.u32())
    if n == 91:
        return (name, r.u32(), r.u32(), r.u32(), r.u32())
    if n == 92:
        return (name, r.u32(), r.u32(), r.text())
    if n in (96, 97, 99, 100):
        return (name, r.u32())
    if n == 1:
        r.u32()
        return (name, r.text())
    return (name, bytes(p[1:]))


class Pair:
    """A server Connection and a scripted client, logged in (login=False: after the key
    exchange only; kexinit: False for none at all)."""

    def __init__(self, cfg=None, login=True, kexinit=True, user=b"pair"):
        self.cfg = cfg or config()
        self.log = self.cfg.log
        self.conn = Connection(self.cfg, "127.0.0.1:2222")
        self.conn.pump = self._pump
        self.script = []
        self.stuck = False
        self.out = Transport(1 << 20)  # client -> server
        self.rx = Transport(1 << 20)  # server -> client
        self.rx_version = False
        self.newkeys_seen = False
        self._pending_in = None  # the server's keys, once worked out
        self.ids = {}  # client channel id -> server channel id
        self.got = []  # payloads received and not yet read by the test
        self.next_id = 100
        self.sent_version = False
        if kexinit:
            self.handshake()
            if login:
                self.login(user)

    # -- the wire
    def _pump(self, block):
        def recv(blocking):
            if not blocking:
                return None
            if not self.script:
                # user code may catch this (it reports every exception): feed() raises it again
                self.stuck = True
                raise Stuck("the server waits for the client, and the script has nothing more")
            step = self.script.pop(0)
            while callable(step):
                step = step()
            if not self.sent_version:
                step = VERSION + b"\r\n" + step
                self.sent_version = True
            return step

        pump(self.conn, self._collect, recv, block)

    def pack(self, payload):
        return bytes(self.out.pack(payload))

    def feed(self, *payloads):
        """Sends packets (payloads; bytes from wire() or kex_*() as they are) to the server, as
        the driver would feed them."""
        data = b"".join([p if isinstance(p, bytearray) else self.pack(p) for p in payloads])
        self.send_raw(data)

    def send_raw(self, data):
        if not self.sent_version:
            data = VERSION + b"\r\n" + data
            self.sent_version = True
        self.conn.feed(data)
        self._collect()
        if self.stuck:
            self.stuck = False
            raise Stuck("the server waited for the client with nothing scripted")

    def _collect(self):
        q = self.conn.outq
        data = b"".join([bytes(x) for x in q])
        q[:] = []
        rx = self.rx
        rx.feed(data)
        if not self.rx_version:
            if rx.read_version() is None:
                return
            self.rx_version = True
        while True:
            if self.newkeys_seen:
                if self._pending_in is None:  # not worked out yet: the rest waits
                    return
                rx.set_in(*self._pending_in)
                rx.seq_in = 0  # strict KEX
                self._pending_in = None
                self.newkeys_seen = False
            p = rx.read_packet()
            if p is None:
                return
            self.got.append(p)
            if p[0] == 20:
                self.i_s = p  # the server's KEXINIT, for the exchange hash
            if p[0] == 21:
                self.newkeys_seen = True

    def packets(self):
        """The server's payloads since the last call."""
        self._collect()
        got, self.got = self.got, []
        return got

    def events(self, *skip):
        """The server's messages since the last call, decoded; skip: names left out
        (window adjusts are always left out)."""
        return [e for e in [decode(p) for p in self.packets()] if e[0] not in skip and e[0] != "window"]

    # -- handshake
    def kexinit(self):
        nl = wire.namelist
        return b"".join([b"\x14", bytes(16), nl([b"curve25519-sha256", b"ext-info-c", b"kex-strict-c-v00@openssh.com"]),
                         nl([b"ssh-ed25519"]), nl([b"aes128-ctr"]), nl([b"aes128-ctr"]),
                         nl([b"hmac-sha2-256-etm@openssh.com"]), nl([b"hmac-sha2-256-etm@openssh.com"]),
                         nl([b"none"]), nl([b"none"]), nl([]), nl([]), b"\x00", u32(0)])

    def handshake(self):
        self.feed(self.kex_start())
        self.feed(self.kex_finish())
        self.kex_packets = self.last_kex + self.packets()  # ... NEWKEYS, EXT_INFO

    def kex_start(self):
        """The client's KEXINIT and ECDH_INIT, as bytes to send (the first time with our version)."""
        self.i_c = self.kexinit()
        self.d = bytearray(b"\x05" * 32)
        self.q_c = x25519_base(self.d)
        return self.wire(self.i_c, b"\x1e" + s(self.q_c))()

    def kex_finish(self):
        """Reads the server's KEXINIT and ECDH_REPLY, works out the keys; our NEWKEYS as bytes
        (everything packed after it uses the new keys)."""
        got = self.packets()
        i_s = self.i_s
        r = wire.Reader([p for p in got if p[0] == 31][0], 1)
        k_s, q_s, sig = r.string(), r.string(), r.string()
        k = bytearray(wire.mpint_bytes(x25519(self.d, q_s)))
        h = sha256()
        for x in (VERSION, self.conn.version, self.i_c, i_s, k_s, self.q_c, q_s):
            h.update(s(x))
        h.update(k)
        h = h.digest()
        if getattr(self, "session_id", None) is None:
            self.session_id = h
        sid = self.session_id
        self.host_sig = (k_s, h, sig)
        mac = b"hmac-sha2-256-etm@openssh.com"
        # the server's direction (B, D, F) is keyed when its NEWKEYS is read
        self._pending_in = kex._keys(k, h, sid, b"aes128-ctr", mac, (b"B", b"D", b"F"))
        self.last_kex = got
        out = bytearray(self.pack(b"\x15"))
        self.out.set_out(*kex._keys(k, h, sid, b"aes128-ctr", mac, (b"A", b"C", b"E")))
        self.out.seq_out = 0  # strict KEX
        return out

    def auth_body(self, user=b"pair", key=None, query=False, alg=b"ssh-ed25519"):
        key = key or user_key()
        return (b"\x32" + s(user) + s(b"ssh-connection") + s(b"publickey") + (b"\x00" if query else b"\x01")
                + s(alg) + s(key.blob))

    def signed(self, body, key=None):
        return body + s((key or user_key()).sign(s(self.session_id) + body))

    def login(self, user=b"pair"):
        self.feed(b"\x05" + s(b"ssh-userauth"), self.signed(self.auth_body(user)))
        ev = self.events()
        if ("auth-success", b"") not in ev:
            raise AssertionError("login failed: %r %r" % (ev, list(self.log)))
        return ev

    # -- channels
    def open(self, window=WINDOW, max_packet=32768):
        """Opens a session channel; returns the client's id for it."""
        cid = self.next_id
        self.next_id += 1
        self.feed(b"\x5a" + s(b"session") + u32(cid) + u32(window) + u32(max_packet))
        got = self.packets()
        ok = [p for p in got if p[0] == 91 and decode(p)[1] == cid]
        if not ok:
            raise AssertionError("channel open: %r" % [decode(p) for p in got])
        self.ids[cid] = decode(ok[0])[2]  # the server's id
        self.got = [p for p in got if p is not ok[0]] + self.got  # the rest stays for events()
        return cid

    def chreq(self, cid, name, data=b"", reply=True):
        return b"\x62" + u32(self.ids[cid]) + s(name) + (b"\x01" if reply else b"\x00") + data

    def request(self, cid, kind, arg=None, reply=True):
        """exec (arg: the command), shell or subsystem (arg: its name) on cid."""
        self.feed(self.chreq(cid, kind, b"" if arg is None else s(arg), reply))

    def pty(self, cid):
        return self.chreq(cid, b"pty-req", s(b"xterm") + u32(80) + u32(24) + u32(0) + u32(0) + s(b""))

    def data(self, cid, b):
        return b"\x5e" + u32(self.ids[cid]) + s(b)

    def eof(self, cid):
        return b"\x60" + u32(self.ids[cid])

    def close(self, cid):
        return b"\x61" + u32(self.ids[cid])

    def signal(self, cid, name=b"INT"):
        return self.chreq(cid, b"signal", s(name), False)

    def wire(self, *payloads):
        """Packets as one scripted step (packed when the step is reached: sequence numbers)."""
        return lambda: bytearray(b"".join([self.pack(p) for p in payloads]))


def text(events, cid, kinds=("data", "stderr")):
    """The bytes a channel's data (and stderr) events carry, joined."""
    return b"".join([e[2] for e in events if e[0] in kinds and e[1] == cid])


def of(events, cid):
    """A channel's events, without its data."""
    return [e for e in events if len(e) > 1 and e[1] == cid and e[0] not in ("data", "stderr")]
