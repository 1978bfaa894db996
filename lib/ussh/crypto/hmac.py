# HMAC-SHA-256 (RFC 2104 with FIPS 180-4 SHA-256), used by the transport as
# hmac-sha2-256(-etm) (RFC 6668) and by the HMAC-DRBG in drbg.py.
from ussh.compat import const, sha256

_B = const(64)  # SHA-256 block size in bytes, "B" in RFC 2104 section 2


class HMACSHA256:
    """HMAC-SHA-256 under one key, for many messages.

    mac(*parts) returns the 32-byte tag of the concatenation of parts (any
    bytes-like objects, e.g. a 4-byte sequence number and a packet
    memoryview) without joining them."""

    def __init__(self, key):
        # RFC 2104 section 2: keys longer than B are hashed first, shorter
        # ones are zero-padded to B bytes. MicroPython hash objects cannot
        # be copied, so each message hashes the padded key again.
        if len(key) > _B:
            key = sha256(key).digest()
        k = int.from_bytes(key, "big") << 8 * (_B - len(key))
        # bytearrays, so that wipe() can overwrite them
        self._i = bytearray((k ^ int.from_bytes(b"\x36" * _B, "big")).to_bytes(_B, "big"))
        self._o = bytearray((k ^ int.from_bytes(b"\x5c" * _B, "big")).to_bytes(_B, "big"))

    def wipe(self):
        """Overwrites the key (the connection or key exchange that used it is over)."""
        i, o = self._i, self._o
        for j in range(_B):  # in place: no heap (a connection out of memory ends here too)
            i[j] = o[j] = 0

    def mac(self, *parts):
        """H(K ^ opad || H(K ^ ipad || parts...)), RFC 2104 section 2."""
        h = sha256(self._i)
        for x in parts:
            h.update(x)
        o = sha256(self._o)
        o.update(h.digest())
        return o.digest()


def hmac_sha256(key, msg):
    """HMAC-SHA-256 (RFC 2104) of msg under key; returns 32 bytes."""
    return HMACSHA256(key).mac(msg)
