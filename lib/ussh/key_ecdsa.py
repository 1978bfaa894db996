# ecdsa-sha2-nistp256 user keys, RFC 5656 (an optional module:
# ussh.plugins loads it when an authorized key or CA needs it); the curve arithmetic
# is ussh.crypto.p256.
from ussh.compat import sha256
from ussh.crypto import p256
from ussh.wire import Reader, SSHError

ALG = b"ecdsa-sha2-nistp256"


def point(blob, fields=None):
    """The public point of an ecdsa-sha2-nistp256 key blob (RFC 5656 §3.1),
    or why it cannot be used. fields: the sk- variant's reader, positioned
    after the key type."""
    try:
        r = fields or Reader(blob, 4 + len(ALG))
        if r.string() != b"nistp256":
            return "ECDSA key of another curve"
        q = r.string()
        if fields is None:
            r.done()
    except SSHError:
        return "malformed ECDSA key"
    Q = p256.decode(q)
    # RFC 5656 §3.1 and SEC 1 §3.2.2: a point not on the curve is refused
    return Q or "ECDSA public point is not on the curve"


def check(Q, digest, sig):
    """None when sig (RFC 5656 §3.1.2 ecdsa_signature_blob: mpint r,
    mpint s) signs digest under point Q, else why not."""
    try:
        r = Reader(sig)
        er = r.mpint()
        es = r.mpint()
        r.done()
    except SSHError:
        return "malformed ECDSA signature"
    if not (0 < er < p256.n and 0 < es < p256.n):
        return "ECDSA signature r or s out of range"
    return None if p256.verify(Q, digest, er, es) else "bad signature"


def _verify(att, data, sig):
    Q = point(att.blob)
    if isinstance(Q, str) or data is None:
        return Q if isinstance(Q, str) else None
    try:
        r = Reader(sig)
        name = r.string()
        inner = r.string()
        r.done()
    except SSHError:
        return "malformed signature"
    if name != ALG:
        return "signature is not %s" % ALG.decode()
    # RFC 5656 §6.2.1: SHA-256 for nistp256
    return check(Q, sha256(data).digest(), inner)


def register(reg):
    """ussh.plugins: the ecdsa-sha2-nistp256 row."""
    reg.key_type(ALG, ALG, _verify)
