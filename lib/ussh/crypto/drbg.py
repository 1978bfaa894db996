# HMAC_DRBG with SHA-256 (NIST SP 800-90A Rev. 1 section 10.1.2), without
# prediction resistance: what rand.py draws from on a board that has no
# os.urandom, seeded from the entropy source given to rand.set_source().
from .hmac import hmac_sha256


class HMACDRBG:
    """generate(n[, additional]), reseed(entropy[, additional]);
    reseed_counter counts Generate calls since a seed."""

    def __init__(self, entropy, nonce=b"", personalization=b""):
        # 10.1.2.3 Instantiate: Key = 0x00...00, V = 0x01...01, then the
        # same Update as a reseed, of entropy || nonce || personalization.
        # K and V are updated in place: a board's DRBG runs for every packet, and new K and V
        # objects each time would be left wherever the last packet's allocations put them (for
        # good, between connections: the heap's longest free run cut short by 64 bytes)
        self._k = bytearray(32)
        self._v = bytearray(b"\x01" * 32)
        self.reseed(bytes(entropy) + bytes(nonce), personalization)

    def _update(self, data):
        # 10.1.2.2 HMAC_DRBG_Update: a second round only with provided data
        for b in b"\x00\x01":
            self._k[:] = hmac_sha256(self._k, self._v + bytes((b,)) + data)
            self._v[:] = hmac_sha256(self._k, self._v)
            if not data:
                return

    def reseed(self, entropy, additional=b""):
        """10.1.2.4 Reseed with fresh entropy."""
        self._update(bytes(entropy) + bytes(additional))
        self.reseed_counter = 1

    def generate(self, n, additional=b""):
        """10.1.2.5 Generate: n (at most 65536, Table 2) pseudorandom bytes."""
        out = bytearray(n)
        self.fill(out, additional)
        return bytes(out)

    def fill(self, buf, additional=b""):
        """generate(len(buf)) written into buf (a bytearray) in place: no buffer of that length
        made (a transport's padding pool, refilled mid-session on a board heap in small pieces)."""
        n = len(buf)
        if n > 65536:
            raise ValueError("DRBG request")
        additional = bytes(additional)
        if additional:
            self._update(additional)
        v = self._v
        for i in range(0, n, 32):
            v[:] = hmac_sha256(self._k, v)
            m = min(32, n - i)
            buf[i : i + m] = memoryview(v)[:m]
        self._update(additional)
        self.reseed_counter += 1
