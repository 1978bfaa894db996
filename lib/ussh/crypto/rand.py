# Random bytes for keys, nonces and padding. By default the operating
# system's generator (os.urandom); a board without one hands ussh a raw
# entropy source through set_source(), which then seeds an HMAC_DRBG
# (NIST SP 800-90A Rev. 1 section 10.1.2) with SHA-256. Never `random`.
from ussh import compat
from ussh.compat import const

from .hmac import hmac_sha256

_MAX_REQUEST = const(65536)  # 2^19 bits per Generate call (Table 2)
_RESEED_INTERVAL = const(4096)  # well under the 2^48 of Table 2
_SEED_BYTES = const(48)  # 256-bit entropy input and a 128-bit nonce
_RESEED_BYTES = const(32)


class NoEntropy(Exception):
    """No source of randomness: the port has no os.urandom and no board
    entropy source was given with set_source()."""


class HMACDRBG:
    """HMAC_DRBG with SHA-256 (SP 800-90A Rev. 1 section 10.1.2), without
    prediction resistance: generate(n[, additional]), reseed(entropy[,
    additional]); reseed_counter counts Generate calls since a seed."""

    def __init__(self, entropy, nonce=b"", personalization=b""):
        # 10.1.2.3 Instantiate: Key = 0x00...00, V = 0x01...01, then the
        # same Update as a reseed, of entropy || nonce || personalization.
        self._k = bytes(32)
        self._v = b"\x01" * 32
        self.reseed(bytes(entropy) + bytes(nonce), personalization)

    def _update(self, provided):
        # 10.1.2.2 HMAC_DRBG_Update.
        self._k = hmac_sha256(self._k, self._v + b"\x00" + provided)
        self._v = hmac_sha256(self._k, self._v)
        if provided:
            self._k = hmac_sha256(self._k, self._v + b"\x01" + provided)
            self._v = hmac_sha256(self._k, self._v)

    def reseed(self, entropy, additional=b""):
        """10.1.2.4 Reseed with fresh entropy."""
        self._update(bytes(entropy) + bytes(additional))
        self.reseed_counter = 1

    def generate(self, n, additional=b""):
        """10.1.2.5 Generate: n (at most 65536) pseudorandom bytes."""
        if n > _MAX_REQUEST:
            raise ValueError("HMAC_DRBG request > 64 KB")
        additional = bytes(additional)
        if additional:
            self._update(additional)
        out = bytearray()
        while len(out) < n:
            self._v = hmac_sha256(self._k, self._v)
            out += self._v
        self._update(additional)
        self.reseed_counter += 1
        return bytes(out[:n])


_source = None
_drbg = None


def _read(fn, n):
    e = fn(n)
    if len(e) < n:
        raise NoEntropy("entropy source gave %d of %d bytes" % (len(e), n))
    return e


def set_source(fn, personalization=b"ussh"):
    """Take randomness from fn(n) -> n bytes of board entropy (e.g. a ring
    oscillator or ADC noise) through an HMAC_DRBG, instead of os.urandom.
    fn=None goes back to os.urandom."""
    global _source, _drbg
    _drbg = None if fn is None else HMACDRBG(_read(fn, _SEED_BYTES), b"", personalization)
    _source = fn


def random_bytes(n):
    """n cryptographically random bytes; raises NoEntropy when the runtime
    has no os.urandom and no source was given with set_source()."""
    if _drbg is None:
        try:
            return compat.urandom(n)
        except OSError as e:
            raise NoEntropy("%s; see ussh.crypto.rand.set_source" % e)
    out = bytearray()
    while len(out) < n:
        if _drbg.reseed_counter > _RESEED_INTERVAL:
            _drbg.reseed(_read(_source, _RESEED_BYTES))
        out += _drbg.generate(min(n - len(out), _MAX_REQUEST))
    return bytes(out)
