# HMAC-SHA-256 (RFC 2104 with FIPS 180-4 SHA-256), used by the transport as
# hmac-sha2-256(-etm) (RFC 6668) and by the HMAC-DRBG in rand.py.
from ussh.compat import const, sha256

_B = const(64)  # SHA-256 block size in bytes, "B" in RFC 2104 section 2
_IPAD = const(0x36)
_OPAD = const(0x5C)


class HMACSHA256:
    """HMAC-SHA-256 under one key, for many messages.

    mac(*parts) returns the 32-byte tag of the concatenation of parts (any
    bytes-like objects, e.g. a 4-byte sequence number and a packet
    memoryview) without joining them."""

    def __init__(self, key):
        # RFC 2104 section 2: keys longer than B are hashed first, shorter
        # ones are zero-padded to B bytes.
        if len(key) > _B:
            key = sha256(key).digest()
        ipad = bytearray(_B)
        opad = bytearray(_B)
        for i in range(_B):
            k = key[i] if i < len(key) else 0
            ipad[i] = k ^ _IPAD
            opad[i] = k ^ _OPAD
        inner = sha256(ipad)
        if hasattr(inner, "copy"):
            # Hash states after the padded key, cloned per message.
            self._inner = inner
            self._outer = sha256(opad)
            self._ipad = None
        else:
            # MicroPython hash objects cannot be cloned: re-feed the pads.
            self._inner = None
            self._ipad = bytes(ipad)
            self._opad = bytes(opad)

    def mac(self, *parts):
        """H(K ^ opad || H(K ^ ipad || parts...)), RFC 2104 section 2."""
        if self._ipad is None:
            h = self._inner.copy()
            for p in parts:
                h.update(p)
            o = self._outer.copy()
            o.update(h.digest())
            return o.digest()
        h = sha256(self._ipad)
        for p in parts:
            h.update(p)
        o = sha256(self._opad)
        o.update(h.digest())
        return o.digest()


def hmac_sha256(key, msg):
    """HMAC-SHA-256 (RFC 2104) of msg under key; returns 32 bytes."""
    return HMACSHA256(key).mac(msg)
