# Random bytes for keys, nonces and padding. By default the operating
# system's generator (os.urandom); a board without one hands ussh a raw
# entropy source through set_source(), which then seeds an HMAC_DRBG
# (drbg.py). Never `random`.
from ussh import compat
from ussh.compat import const

_RESEED = const(4096)  # Generate calls between reseeds, well under the 2^48 of SP 800-90A Table 2


class NoEntropy(Exception):
    """No source of randomness: the port has no os.urandom and no board
    entropy source was given with set_source()."""


_drbg = None  # (HMACDRBG, source) after set_source()


def _read(fn, n):
    e = fn(n)
    if len(e) < n:
        raise NoEntropy("short entropy read")
    return e


def set_source(fn, personalization=b"ussh"):
    """Take randomness from fn(n) -> n bytes of board entropy (e.g. a ring
    oscillator or ADC noise) through an HMAC_DRBG, instead of os.urandom.
    fn=None goes back to os.urandom."""
    global _drbg
    d = None
    if fn:
        from .drbg import HMACDRBG

        # 256-bit entropy input and 128-bit nonce (SP 800-90A 10.1.2.3)
        d = (HMACDRBG(_read(fn, 48), b"", personalization), fn)
    _drbg = d


def random_bytes(n):
    """n cryptographically random bytes; raises NoEntropy when the runtime
    has no os.urandom and no source was given with set_source()."""
    if not _drbg:
        try:
            return compat.urandom(n)
        except OSError as e:
            raise NoEntropy("%s (ussh.crypto.rand.set_source) before starting ussh" % e)
    d, fn = _drbg
    out = bytearray()
    while len(out) < n:
        if d.reseed_counter > _RESEED:
            d.reseed(_read(fn, 32))
        out += d.generate(min(n - len(out), 65536))
    return bytes(out)


def random_into(buf):
    """random_bytes(len(buf)) written into the bytearray buf (at most 64 KB): from the DRBG in
    place, with no buffer of that length made."""
    if not _drbg:
        buf[:] = random_bytes(len(buf))
        return
    d, fn = _drbg
    if d.reseed_counter > _RESEED:
        d.reseed(_read(fn, 32))
    d.fill(buf)


def require():
    """Raises NoEntropy, saying why and what to do, when there is no
    randomness: servers call it as they start, so a board without a source
    is refused then, not at its first connection."""
    random_bytes(1)
