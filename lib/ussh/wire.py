# SSH data types (RFC 4251 §5): a bounds-checked reader that threads `pos`
# and ends with an end-of-packet check, and encoders that build bytes.
import struct

from ussh.compat import const

# Disconnect reason codes, RFC 4253 §11.1 (the ones ussh sends)
DISCONNECT_PROTOCOL_ERROR = const(2)
DISCONNECT_KEY_EXCHANGE_FAILED = const(3)
DISCONNECT_MAC_ERROR = const(5)
DISCONNECT_SERVICE_NOT_AVAILABLE = const(7)
DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED = const(8)
DISCONNECT_CONNECTION_LOST = const(10)
DISCONNECT_BY_APPLICATION = const(11)
DISCONNECT_TOO_MANY_CONNECTIONS = const(12)
DISCONNECT_AUTH_CANCELLED_BY_USER = const(13)
DISCONNECT_NO_MORE_AUTH_METHODS = const(14)


class SSHError(Exception):
    """A protocol failure that ends the connection: `code` is the RFC 4253
    §11.1 disconnect reason sent to the peer, `reason` a readable text."""

    def __init__(self, reason, code=DISCONNECT_PROTOCOL_ERROR):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Reader:
    """Reads SSH data types from buf[pos:end]; every read is bounds-checked
    and a short or malformed field raises SSHError."""

    def __init__(self, buf, pos=0, end=None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def _take(self, n):
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise SSHError("packet too short")
        self.pos = pos + n
        return pos

    def byte(self):
        return self.buf[self._take(1)]

    def boolean(self):
        return self.buf[self._take(1)] != 0

    def u32(self):
        pos = self._take(4)
        b = self.buf
        return (b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]

    def u64(self):
        return (self.u32() << 32) | self.u32()

    def string(self):
        n = self.u32()
        pos = self._take(n)
        return bytes(self.buf[pos : pos + n])

    def text(self):
        # RFC 4251 §5: UTF-8 text; undecodable input is a protocol error
        try:
            return self.string().decode()
        except UnicodeError:
            raise SSHError("invalid UTF-8 string")

    def namelist(self):
        s = self.string()
        return s.split(b",") if s else []

    def mpint(self):
        s = self.string()
        n = int.from_bytes(s, "big") if s else 0
        if s and s[0] & 0x80:
            n -= 1 << (8 * len(s))
        return n

    def rest(self):
        pos = self.pos
        self.pos = self.end
        return bytes(self.buf[pos : self.end])

    def done(self):
        # Every parser ends here: trailing bytes mean a malformed packet.
        if self.pos != self.end:
            raise SSHError("trailing bytes in packet")


def wipe(b):
    # Overwrites a secret held in a bytearray once it is no longer needed
    if b is not None:
        b[:] = bytes(len(b))


def printable(b):
    # Peer text for a log line: bytes outside printable ASCII become "?" (a
    # version line's comment may be anything, RFC 4253 §4.2); str is taken
    # as its UTF-8 bytes: no line breaks or terminal escapes reach a log
    # (a copy marked in place: a list of one str per character took 8 bytes a
    # character, in one run that a small heap's login once failed to find)
    b = bytearray(b.encode() if isinstance(b, str) else b)
    for i in range(len(b)):
        if not 32 <= b[i] < 127:
            b[i] = 63
    return str(b, "ascii")


def byte(n):
    return bytes((n,))


def boolean(v):
    return b"\x01" if v else b"\x00"


def u32(n):
    return struct.pack(">I", n)


def disconnect(code, reason):
    # SSH_MSG_DISCONNECT's payload, RFC 4253 §11.1: reason code, description, language tag (empty)
    return struct.pack(">BI", 1, code) + string(reason) + string(b"")


def ident():
    # our identification string, RFC 4253 §4.2 (without its CR LF)
    from ussh import VERSION

    return b"SSH-2.0-ussh_" + VERSION.encode()


def refusal(code, reason):
    # A connection turned away before any key exchange, without a Connection (no memory, or
    # no place): our identification and a DISCONNECT in the clear, RFC 4253 §4.2, §6, §11.1
    # (no keys: zero padding, no MAC)
    payload = disconnect(code, reason)
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return ident() + b"\r\n" + struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def namelist(names):
    return string(b",".join(names))


def mpint(n):
    # RFC 4251 §5: two's complement, big-endian, no unnecessary leading bytes
    if n == 0:
        return b"\x00\x00\x00\x00"
    k = 1  # n >= 0 here; no int.bit_length on MicroPython
    while n >> (8 * k):
        k += 1
    return mpint_bytes(n.to_bytes(k, "big"))


def mpint_bytes(b):
    # An unsigned big-endian value (a shared secret) encoded as mpint
    i = 0
    while i < len(b) and b[i] == 0:
        i += 1
    b = b[i:]
    if b and b[0] & 0x80:
        b = b"\x00" + b
    return string(b)
