# RSA user keys with SHA-2 signatures, RFC 8332 (an optional module:
# ussh.plugins loads it when an authorized key or CA needs it). The signature is
# RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2): the whole expected encoding EM is
# built and compared with s^e mod n, never parsed.
from ussh.compat import const, sha256
from ussh.wire import Reader, SSHError, printable

_MIN_BITS = const(2048)  # as OpenSSH's RequiredRSASize defaults to since 9.1
_MAX_BITS = const(16384)  # OpenSSH's SSH_RSA_MAXIMUM_MODULUS_SIZE

# RFC 8017 §9.2 note 1: DER of DigestInfo without the digest itself
_SHA256_INFO = b"010\r\x06\t`\x86H\x01e\x03\x04\x02\x01\x05\x00\x04 "
_SHA512_INFO = b"0Q0\r\x06\t`\x86H\x01e\x03\x04\x02\x03\x05\x00\x04@"


def public(blob):
    """(e, n, bytes of n) of an "ssh-rsa" key blob (RFC 4253 §6.6), or a reason string
    when the key cannot be used."""
    try:
        r = Reader(blob)
        r.string()
        e = r.mpint()
        m = r.string()  # mpint n, positive: its bytes give its size
        r.done()
    except SSHError:
        return "malformed RSA key"
    while m and not m[0]:
        m = m[1:]
    n = int.from_bytes(m, "big")
    bits = 8 * len(m)
    if m:
        t = m[0]
        while t < 0x80:
            t <<= 1
            bits -= 1
    if bits < _MIN_BITS:
        return "RSA key of %d bits is too small (at least %d)" % (bits, _MIN_BITS)
    if bits > _MAX_BITS or e < 3 or not e & 1 or e >= n:
        return "unusable RSA key (%d bits, e=%d)" % (bits, e)
    return e, n, len(m)


def _sha512(data):
    from ussh.crypto.sha512 import sha512

    return sha512(data)


def verify(alg, blob, data, sig):
    """None when sig (an SSH signature blob) is alg's valid signature of
    data under the key blob, else why not."""
    k = public(blob)
    if isinstance(k, str):
        return k
    if data is None:  # a query: the key alone
        return None
    e, n, size = k
    try:
        r = Reader(sig)
        name = r.string()
        s = r.string()
        r.done()
    except SSHError:
        return "malformed signature"
    if name != alg:
        # RFC 8332 §3: the signature's name is the algorithm of the request
        return "signature is %s, not %s" % (printable(name), alg.decode())
    if alg == b"rsa-sha2-256":
        t = _SHA256_INFO + sha256(data).digest()
    else:
        t = _SHA512_INFO + _sha512(data)
    # RFC 8017 §8.2.2 step 1: the signature has the modulus' length (OpenSSH
    # also takes shorter ones, zero-extended, as we do)
    x = int.from_bytes(s, "big")
    if len(s) > size or x >= n:
        return "bad signature"
    # §9.2: EM = 0x00 || 0x01 || PS (0xff..., at least 8) || 0x00 || T
    em = b"\x00\x01" + b"\xff" * (size - 3 - len(t)) + b"\x00" + t
    if pow(x, e, n).to_bytes(size, "big") != em:
        return "bad signature"
    return None


def _v256(att, data, sig):
    return verify(b"rsa-sha2-256", att.blob, data, sig)


def _v512(att, data, sig):
    return verify(b"rsa-sha2-512", att.blob, data, sig)


def register(reg):
    """ussh.plugins: the RSA rows. "ssh-rsa" (SHA-1) is not one: refused,
    as by OpenSSH since 8.8."""
    reg.key_type(b"rsa-sha2-512", b"ssh-rsa", _v512)
    reg.key_type(b"rsa-sha2-256", b"ssh-rsa", _v256)
