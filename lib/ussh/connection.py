# One SSH connection, sans-IO: bytes in through feed(), packets out in
# `outq`. The handshake (version, key exchange, user authentication) runs
# straight through; after it a table maps message numbers to handlers.
import gc
import struct

from ussh import wire
from ussh.compat import const, ticks_diff, ticks_ms
from ussh.transport import Transport
from ussh.wire import SSHError, DISCONNECT_BY_APPLICATION, DISCONNECT_PROTOCOL_ERROR

_MSG_DISCONNECT = const(1)
_MSG_IGNORE = const(2)
_MSG_UNIMPLEMENTED = const(3)
_MSG_DEBUG = const(4)
_MSG_KEXINIT = const(20)
_MSG_NEWKEYS = const(21)
_MSG_USERAUTH_REQUEST = const(50)
_MSG_GLOBAL_REQUEST = const(80)
# while the client owes us its KEXINIT, replies wait (RFC 4253 §7.1): at
# most this many packets / bytes, then the connection ends
_HELD_PACKETS = const(32)
_HELD_BYTES = const(65536)
_KEX_BEFORE_AUTH = const(2)  # key exchanges a client may run before login
_FRAMING = const(64)  # a packet's length, padding, MAC and channel header around its data (ussh.budget)
_KEXINIT = const(1536)  # a client's KEXINIT (OpenSSH's: 1.5 KB), the first packet the buffer holds
_RESERVE_WINDOW = const(16384)  # windows up to this: a board's budget, whose receive buffer is made at once


class Config:
    """Server settings shared by every connection; keyword arguments
    override the defaults below."""

    host_key = None  # keys.HostKey
    warm = False  # whether warm() ran
    authorized_keys = ()  # authkeys entries
    log = print
    max_packet = 35000  # RFC 4253 §6.1; the largest packet accepted
    channel_max_packet = 16384  # the largest channel data we accept
    window = 65536  # initial channel window we grant
    max_channels = 4  # per connection
    max_auth_tries = 6
    login_grace = 60  # seconds to authenticate (0: no limit)
    idle_timeout = 0  # seconds without input after login, then DISCONNECT (0: none)
    send_timeout = 30  # seconds in all a command may wait for a client's window or reading, then it is dropped
    rekey_bytes = 1 << 30  # RFC 4253 §9: rekey after 1 GB
    kex_timeout = 30  # seconds a client has to complete a key exchange, re-keys included
    legacy_mac = False  # also offer hmac-sha2-256 (encrypt-and-MAC) for clients without etm
    throttle = True  # ussh.gate's delays after failed logins and its turning away of silent sources
    root = "/"  # the folder file transfer may reach
    trusted_cas = ()  # authkeys entries: CAs whose user certificates log in
    cert_ignore_clock = False  # accept certificates when the clock is not set
    password_hash = None  # "pbkdf2-sha256$..." (ussh.passwd) enables passwords
    host_cert = None  # a host certificate (path or its line) presented beside host_key
    # ssh -L destinations (ussh.forward), as sshd's PermitOpen: host:port words (* for any
    # host or port, [v6]:port), "any" or "none"; by default the board itself
    permit_open = "localhost:* 127.0.0.1:* [::1]:*"
    shell = "ussh.repl"  # the pty shell's module; ussh.lineshell: a line at a time, for a small heap
    unload = ()  # modules ussh.stream lets go when a connection runs out of memory (a small heap's main sets it)

    def __init__(self, **kw):
        for k in kw:
            if not hasattr(self, k):
                raise TypeError("unknown setting %s" % k)
            setattr(self, k, kw[k])
        if self.host_cert:  # ussh.hostcert: an optional module
            from ussh.hostcert import with_cert

            self.host_key = with_cert(self.host_key, self.host_cert)
        from ussh.startup import registry

        self.reg = registry(self)  # key exchanges, key types, subsystems, exec handlers

    def find_key(self, key_type, blob):
        for e in self.authorized_keys:
            if e.algorithm == key_type and e.blob == blob:
                return e




# Message number -> handler(conn, payload), RFC 4250 §4.1.2; DISCONNECT and
# the key exchange messages are handled by Connection._handle itself. The
# login's are ussh.auth's, imported at each login message and let go after the
# login (ussh.server, ussh.stream); the channels' are ussh.channel's (with ussh.scheduler: 15 KB of
# a small heap in all), whose table takes their numbers at the first channel
# message: the key exchange, then the login, have that room.


def _ignore(conn, p):  # IGNORE, UNIMPLEMENTED, DEBUG; CHANNEL_SUCCESS, CHANNEL_FAILURE
    pass


def _auth(conn, p):
    from ussh import auth

    (auth.service_request if p[0] == 5 else auth.userauth_request)(conn, p)


def _channels(conn, p):
    from ussh import channel

    _HANDLERS.update(channel.HANDLERS)  # for good: ussh.channel stays once loaded
    _HANDLERS[p[0]](conn, p)


_HANDLERS = {
    _MSG_IGNORE: _ignore,
    _MSG_UNIMPLEMENTED: _ignore,
    _MSG_DEBUG: _ignore,
    5: _auth,
    _MSG_USERAUTH_REQUEST: _auth,
    _MSG_GLOBAL_REQUEST: _channels,
    90: _channels,  # CHANNEL_OPEN
    93: _channels,  # WINDOW_ADJUST
    94: _channels,  # DATA
    95: _channels,  # EXTENDED_DATA
    96: _channels,  # EOF
    97: _channels,  # CLOSE
    98: _channels,  # REQUEST
    99: _ignore,  # SUCCESS
    100: _ignore,  # FAILURE
}


class Connection:
    """The server side of one SSH connection. A driver feeds it the bytes
    it reads, sends what collects in `outq`, and sets `pump(block)` so that
    a running command can wait for the client (window, stdin)."""

    def __init__(self, cfg, peer="-"):
        self.cfg = cfg
        self.peer = peer
        # a board's budget (ussh.budget): the receive buffer and the channel data's copy made now
        # for a packet of the window's size (the Transport's reserve)
        n = 0
        if cfg.window <= _RESERVE_WINDOW:
            n = max(cfg.channel_max_packet, min(cfg.window, cfg.max_packet), _KEXINIT) + _FRAMING
        # channel.channel_data copies each payload at once
        self.transport = Transport(cfg.max_packet, n, copy_data=True)
        self.version = wire.ident()
        self.peer_version = None
        self.host_key = cfg.host_key
        self.outq = [self.version + b"\r\n"]  # RFC 4253 §4.2
        self.closed = False
        self.torn = False
        self.pump = None
        self.session_id = None
        self.strict = False
        self.ext_info = False
        self.first_kex = True
        self.algorithms = None
        self._kex = None  # the running exchange (a generator)
        self._kexinit = None  # our KEXINIT while an exchange is open
        self._held = []  # packets waiting for the exchange to end, §7.1
        self._held_bytes = 0
        self._kex_t0 = 0  # when our KEXINIT went out
        self.kex_count = 0  # exchanges the client started
        self.service = None
        self.user = None
        self.auth_failures = 0
        # a driver that delays failed logins (ussh.gate) sets 0: feed() then
        # stops after each new failure until the driver counts it here
        self.failures_seen = None
        self.none_seen = False
        self.forced = None  # the command of a command= key (keyopts)
        self.no_pty = False  # the key's options refuse a pty
        self.no_forward = False  # the key's restrict or no-port-forwarding
        self.permitopen = None  # the key's permitopen="host:port" options, a list
        self.open_tcp = None  # the driver's: open_tcp(ch, host, port) (ussh.server); None: no TCP here
        self.channels = {}
        self._sched = None
        self.stall = 0  # ms user code has waited for this client since the driver last had control
        self._send_kexinit()

    @property
    def sched(self):
        # where user code runs (ussh.scheduler), made at the first channel's need
        s = self._sched
        if s is None:
            from ussh.scheduler import Scheduler

            s = self._sched = Scheduler(self)
        return s

    def log(self, msg):
        # messages carry peer text (user names, key ids, commands): one line
        # of printable ASCII whatever the client sent
        self.cfg.log("ussh: %s %s" % (self.peer, wire.printable(msg)))

    def sig_algs(self):
        # RFC 8308 §3.1 server-sig-algs: what this server's keys need
        return list(self.cfg.reg.verifiers)

    # -- output
    def send(self, payload):
        t = self.transport
        if self._kexinit is None and t.bytes_in + t.bytes_out > self.cfg.rekey_bytes:
            self.rekey()  # RFC 4253 §9
        if self._kexinit is not None:
            if self.closed:
                return
            self._held.append(bytes(payload))
            self._held_bytes += len(payload)
            if len(self._held) > _HELD_PACKETS or self._held_bytes > _HELD_BYTES:
                self.disconnect(DISCONNECT_PROTOCOL_ERROR, "too many replies held for a key exchange the client does not answer")
        else:
            self._out(payload)

    def rekeying(self):
        return self._kexinit is not None

    def send_kex(self, payload):
        self._out(payload)

    def _out(self, payload):
        if not self.closed:
            # torn: a MemoryError in here leaves the cipher stream ahead of
            # what was queued; nothing more can be sent on this connection
            self.torn = True
            self.outq.append(self.transport.pack(payload))
            self.torn = False

    def _send_kexinit(self):
        from ussh import kex  # let go after the first exchange on a small heap (ussh.server), back for a re-key

        self._kexinit = kex.kexinit_payload(self.first_kex, self.cfg.legacy_mac, self.cfg.reg.kex,
                                            getattr(self.host_key, "algorithms", kex.HOST_KEY_ALGORITHMS))
        self._kex_t0 = ticks_ms()
        self._out(self._kexinit)

    def kex_left(self, now):
        """Seconds the client has left to complete the key exchange under
        way (cfg.kex_timeout from our KEXINIT), None when there is none."""
        if self._kexinit is None:
            return None
        return self.cfg.kex_timeout - ticks_diff(now, self._kex_t0) / 1000

    def disconnect(self, code, reason):
        # RFC 4253 §11.1
        if not self.closed:
            self._out(wire.disconnect(code, reason))
            self.lost(reason)

    def out_of_memory(self, garble=False):
        # A MemoryError ended this connection (ussh.server, ussh.stream): what it holds goes
        # first (queued packets, the channels: a shell's editor, an upload's buffers; on a small
        # heap the DISCONNECT found no room beside them), then the client is told. Where a packet
        # failed half made (torn: the keystream is ahead of the client's) a socket's close tells
        # it; a stream cannot hang up (garble): the DISCONNECT's MAC is made to fail, so that the
        # client ends at once ("Corrupted MAC") rather than read garbage and wait for its timeout
        q = self.outq
        q[:] = []
        self.channels.clear()
        if self._sched:
            self._sched.deferred[:] = []
        gc.collect()
        torn = self.torn
        if torn and not garble:
            return self.lost("out of memory")
        self.disconnect(DISCONNECT_BY_APPLICATION, "out of memory")
        if torn and q and self.transport.mac_len_out:
            q[-1][-1] ^= 1

    def lost(self, reason="connection lost"):
        if not self.closed:
            self.closed = True
            self.transport.wipe()  # the session keys are done with
            self.log("disconnect: %s" % reason)

    # -- input
    def feed(self, data):
        """Process received bytes (b"" processes what is buffered); returns
        the number of packets handled. Protocol errors end the connection
        with a DISCONNECT carrying the reason."""
        t = self.transport
        n = 0
        try:
            t.feed(data)
            if self.peer_version is None:
                self.peer_version = t.read_version()
                if self.peer_version is None:
                    return 0
                self.log("client %s" % wire.printable(self.peer_version))
            while not self.closed:
                if self.failures_seen is not None and self.auth_failures > self.failures_seen:
                    break  # the driver's delay first
                p = t.read_packet()
                if p is None:
                    break
                n += 1
                self._handle(p)
        except SSHError as e:
            self.disconnect(e.code, e.reason)
        return n

    def _handle(self, p):
        if not p:
            raise SSHError("empty packet")
        n = p[0]
        if n == _MSG_DISCONNECT:
            r = wire.Reader(p, 1)
            r.u32()
            return self.lost("by client: %s" % wire.printable(r.string()))
        if self._kex is not None and 20 <= n <= 49:
            return self._kex_step(p)
        if 21 <= n <= 49:  # RFC 4253 §7: kex messages outside an exchange
            raise SSHError("unexpected message %d outside key exchange" % n)
        if n == _MSG_KEXINIT:
            self.kex_count += 1
            if self.user is None and self.kex_count > _KEX_BEFORE_AUTH:
                raise SSHError("too many key exchanges before authentication")
            if self._kexinit is None:
                self._send_kexinit()
            from ussh import kex

            self._kex = kex.exchange(self, p, self._kexinit)
            return self._kex_step(None)
        if self.session_id is None or self._kex is not None:
            # strict KEX: nothing else during the first exchange; otherwise
            # only transport-generic messages, RFC 4253 §7.1
            if (self.strict and self.first_kex) or n > _MSG_DEBUG:
                raise SSHError("unexpected message %d during key exchange" % n)
        if n >= _MSG_GLOBAL_REQUEST and self.user is None:
            raise SSHError("connection protocol before authentication")
        h = _HANDLERS.get(n)
        if h is None:
            # RFC 4253 §11.4
            self.send(struct.pack(">BI", _MSG_UNIMPLEMENTED, (self.transport.seq_in - 1) & 0xFFFFFFFF))
        else:
            h(self, p)

    def _kex_step(self, p):
        try:
            if p is None:
                next(self._kex)
            else:
                self._kex.send(p)
        except StopIteration:
            self._kex = self._kexinit = None
            self.first_kex = False
            t = self.transport
            t.bytes_in = t.bytes_out = 0
            held, self._held = self._held, []
            self._held_bytes = 0
            for payload in held:
                self._out(payload)

    def rekey(self):
        """Start a new key exchange (RFC 4253 §9)."""
        if self._kexinit is None and not self.closed:
            self._send_kexinit()

    # -- running programs on channels (ussh.scheduler)
    def can_start(self, kind, arg):
        if kind == b"subsystem":
            mod = self.cfg.reg.subsystems.get(arg)
            if mod is None:
                return False
            try:
                __import__(mod)
            except ImportError:  # an install without it
                return False
        return True

    def stalled(self, t0):
        """Counts the time since t0 (ticks_ms) as spent waiting for this
        client (its window, its reading) while a command holds the
        interpreter; True once that is send_timeout in all."""
        self.stall += ticks_diff(ticks_ms(), t0)
        return self.stall >= self.cfg.send_timeout * 1000

    def poll(self):
        if self.pump is not None:
            self.pump(False)

    def wait(self):
        if self.pump is None:
            raise SSHError("no driver to wait with", DISCONNECT_BY_APPLICATION)
        self.pump(True)
        if self.closed:
            from ussh.channel import ChannelClosed

            raise ChannelClosed()
