# Ed25519 signatures (RFC 8032 §5.1) over the field of curve25519.py.
#
# Points are extended twisted Edwards coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 §5.1.4). This module holds what
# both ways of doing the point arithmetic share: encoding and decoding,
# the scalars' digits (comb, width-w NAF, halved), the key, signing,
# verification, and the tables of multiples of B: 3 KB of affine (x, y)
# byte strings from ed25519_tab.py where that module is (in flash when
# frozen), else built on first use by ed25519_pure.py. The point
# arithmetic is ed25519_viper.py's where the port runs viper code (_fast),
# else the ints of ed25519_pure.py, which a port with viper never loads
# (unless the tables must be built, or a test asks for the int code).
from ussh.crypto.curve25519 import p, _MASK, inverse, pow_2_252_3

from .sha512 import sha512

# RFC 8032 §5.1: d = -121665/121666, 2*d, the group order L, sqrt(-1) =
# 2^((p-1)/4); as little-endian bytes or with pow(), half the .mpy bytes of
# literals (mpy-cross stores a big int as its decimal digits).
d = int.from_bytes(b"\xa3xY\x13\xcaM\xebu\xab\xd8AAM\np\x00\x98\xe8ywy@\xc7\x8cs\xfeo+\xeel\x03R", "little")
d2 = 2 * d % p
L = pow(2, 252) + 27742317777372353535851937790883648493
sqrt_m1 = int.from_bytes(b"\xb0\xa0\x0eJ'\x1b\xee\xc4x\xe4/\xad\x06\x18C/\xa7\xd7\xfb=\x99\x00M+\x0b\xdf\xc1O\x80$\x83+", "little")

# The tables of multiples of B (64 bytes per point), _T = [odd B, comb 0,
# odd B', comb 1]: [1]B, [3]B, .., [15]B and the same for B' = [2^128]B
# (width-5 NAF digits in verification); the signed comb for [k]B, 10 teeth
# 26 bits apart in two tables of 5: with G_j = [2^(26*j)]B, entry u (0..15)
# of comb g (0, 1) is G_5g + the sum over j = 1..4 of (+G_(5g+j) if bit
# j-1 of u else -G_(5g+j)).
_T = None


def _table():
    # The tables above: precomputed in ed25519_tab.py (optional; frozen into
    # a firmware it stays in flash, and the first signature or X25519 key
    # skips 135 million Cortex-M3 instructions of building), else built.
    global _T
    if _T is None:
        _T = _load_table() or _ints()._build()
    return _T


def _load_table():
    # ed25519_tab.py's table, loaded with this module where the viper code
    # runs (every signature and verification needs it): its one 3 KB object
    # finds a free run while the heap is young; at the first signature (the
    # host key's check, after the server's imports) a small heap had none left
    try:
        from .ed25519_tab import TABLE
    except ImportError:
        return None
    m = memoryview(TABLE)
    return [m[:512], m[512:1536], m[1536:2048], m[2048:3072]]


def _comb_digits(k):
    # (neg, digits) of ed25519_pure._base_mul and _base_sum: an odd k is written with 260 digits
    # s_i = +-1, k = sum s_i 2^i, where s_i = 2*c_i - 1 for the bits c_i of
    # (k + 2^260 - 1) / 2. Column i (0..25) of the comb is digits
    # i + 26*j, j = 0..9: digits i..i+104 are s_i times entry u of table 0,
    # digits i+130..i+234 are s_(i+130) times entry u' of table 1 (u from
    # the signs of the other four, flipped when s_i = -1). An even k is
    # done as -[L - k]B. Every k takes the same steps.
    neg = 1 - (k & 1)
    k += neg * (L - k - k)
    c = ((k + pow(2, 260) - 1) >> 1).to_bytes(33, "little")
    e = bytearray(52)
    for i in range(52):
        m = i + 104 * (i > 25)  # i, or i - 26 + 130
        s = c[m >> 3] >> (m & 7) & 1
        u = 0
        for j in range(4):
            m += 26
            u |= (c[m >> 3] >> (m & 7) & 1) << j
        e[i] = 32 + (2 * (u ^ (15 - 15 * s)) + 1) * (s + s - 1)
    return neg, e


def _ints():
    # ed25519_pure.py, the point arithmetic with ints, imported at first use
    # (as the table: a portable 56 KB heap then had more room than when it
    # was part of this module); where viper runs, only if it is wanted
    from ussh.crypto import ed25519_pure

    return ed25519_pure


def _base_sum(k):
    # [k]B as ed25519_viper's sum (in its slots); returns neg
    neg, e = _comb_digits(k)
    T = _table()
    _fast.sum_terms(((e[:26], T[1]), (e[26:], T[3])), 25)
    return neg


def _base_encode(k):
    # the encoding of [k]B, 0 <= k < L
    if _fast:
        return _fast.encode_sum(_base_sum(k))
    return _encode(*_ints()._base_mul(k))


def base_u(k):
    """The Montgomery u-coordinate of [k]B (RFC 7748 section 4.1: u = (1 +
    y) / (1 - y) = (Z + Y) / (Z - Y)), 32 bytes, for curve25519.x25519_base."""
    if _fast:
        _base_sum(k)
        return _fast.u_of_sum()
    _, Y, Z = _ints()._base_mul(k)
    return ((Z + Y) * inverse(Z - Y) % p).to_bytes(32, "little")


def _wnaf(k, w):
    # width-w non-adjacent form of 0 <= k < 2^253, least significant first:
    # e[i] = 0 for a zero digit, else digit + 32 (digits are odd, below
    # 2^(w-1) in size, each followed by at least w-1 zeros)
    b = k.to_bytes(34, "little")
    e = bytearray(256)
    mask = (1 << w) - 1
    i = 0
    carry = 0
    while i < 256:
        v = ((b[i >> 3] | (b[(i >> 3) + 1] << 8)) >> (i & 7)) & mask
        if (v & 1) == carry:
            carry &= v
            i += 1
            continue
        v += carry
        carry = v >> (w - 1)
        e[i] = v + 32 - (carry << w)
        i += w
    return e


def _half_size(k):
    # (u, v) with u = v*k mod L and |u|, |v| < 2^127: the extended Euclidean
    # algorithm on (L, k), stopped halfway; r_i = t_i*k (mod L) all along
    # and |t_i| * r_(i-1) <= L.
    r0 = L
    r1 = k
    t0 = 0
    t1 = 1
    while r1 >> 126:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    return r1, t1


def _encode(X, Y, Z):
    # RFC 8032 §5.1.2
    zi = inverse(Z)
    x = X * zi % p
    y = Y * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(s):
    # RFC 8032 §5.1.3; None when s is not the encoding of a point
    y = int.from_bytes(s, "little")
    x_0 = y >> 255
    y &= _MASK
    if y >= p:
        return None
    if _fast:
        u, vxx, x = _fast.decode_parts(y)
    else:
        u = (y * y - 1) % p
        v = (d * y * y + 1) % p
        v3 = v * v % p * v % p
        x = u * v3 % p * pow_2_252_3(u * v3 % p * v3 % p * v % p) % p
        vxx = v * x % p * x % p
    if vxx != u:
        if vxx != p - u:
            return None
        x = x * sqrt_m1 % p
    if x == 0 and x_0:
        return None
    if (x & 1) != x_0:
        x = p - x
    return (x, y, 1, x * y % p)

# {32-byte public key: its comb tables} of the keys ed25519_pre.prepare made
# ahead (the users' keys, while the server is idle), and that module's check
_pre = {}
_pre_check = None


def ed25519_expand(seed):
    """(seed, s, prefix, A): the 32-byte private key seed expanded (RFC 8032
    §5.1.5: secret scalar s, prefix, public key A), which ed25519_public and
    ed25519_sign also take in its place: a key that signs many times keeps it
    (keys.HostKey), as this module keeps no key."""
    if type(seed) is tuple:
        return seed
    seed = bytes(seed)
    h = sha512(seed)
    a = bytearray(h[:32])
    a[0] &= 248
    a[31] = (a[31] & 63) | 64
    s = int.from_bytes(a, "little")
    return (seed, s, h[32:], _base_encode(s % L))


def ed25519_public(seed):
    """The 32-byte Ed25519 public key of a 32-byte private key (seed),
    RFC 8032 §5.1.5."""
    return ed25519_expand(seed)[3]


def ed25519_sign(seed, msg):
    """The 64-byte Ed25519 signature R || S of msg under the 32-byte private
    key seed, RFC 8032 §5.1.6."""
    _, s, prefix, A = ed25519_expand(seed)
    msg = bytes(msg)
    r = int.from_bytes(sha512(prefix + msg), "little") % L
    R = _base_encode(r)
    k = int.from_bytes(sha512(R + A + msg), "little") % L
    return R + ((r + k * s) % L).to_bytes(32, "little")


def ed25519_verify(pub, msg, sig):
    """True when sig is a valid Ed25519 signature of msg under the 32-byte
    public key pub (RFC 8032 §5.1.7); False for anything else, never an
    exception but MemoryError."""
    try:
        for x in (pub, msg, sig):
            if not isinstance(x, (bytes, bytearray, memoryview)):
                return False
        if len(pub) != 32 or len(sig) != 64:
            return False
        pub = bytes(pub)
        sig = bytes(sig)
        S = int.from_bytes(sig[32:], "little")
        if S >= L:
            return False
        tabs = None if _fast else _pre.get(pub)  # a key prepared ahead (ed25519_pre)
        A = tabs or _decode(pub)
        R = _decode(sig[:32])
        if A is None or R is None:
            return False
        k = int.from_bytes(sha512(sig[:32] + pub + bytes(msg)), "little") % L
        if tabs:
            return _pre_check(tabs, S, R, k)
        # RFC 8032 §5.1.7: [8][S]B = [8]R + [8][k]A. With u = v*k mod L from
        # _half_size, v times this is [8]([w]B - [u]A - [v]R) = 0 for
        # w = v*S mod L (8A and 8R are in the group of order L, and v is not
        # 0 mod L), where u and v have half the bits of k: half the doublings.
        # w = w0 + 2^128 w1 is split over B and B' = [2^128]B; the factor 8
        # is three more doublings at the end of the chain.
        u, v = _half_size(k)
        w = v * S % L
        S = w >> 128
        if u > 0:
            A = (-A[0], A[1], A[2], -A[3])
        if v > 0:
            R = (-R[0], R[1], R[2], -R[3])
        T = _table()
        e = ((_wnaf(8 * (w - (S << 128)), 5), T[0]), (_wnaf(8 * S, 5), T[2]))
        if _fast:
            _fast.odd_multiples(A[0] % p, A[1], 18)
            _fast.odd_multiples(R[0] % p, R[1], 34)
            _fast.sum_terms(e + ((_wnaf(8 * abs(u), 4), 18), (_wnaf(8 * abs(v), 4), 34)), 131)
            return _fast.sum_is_identity()
        m = _ints()
        X, Y, Z = m._sum(e + ((_wnaf(8 * abs(u), 4), m._odd_multiples(A)), (_wnaf(8 * abs(v), 4), m._odd_multiples(R))), 131)
        return X % p == 0 and (Y - Z) % p == 0  # (_sum's results are not reduced)
    except MemoryError:
        raise  # the heap, not the signature: the connection ends saying so (not "bad signature")
    except Exception:
        return False


def _viper():
    # ed25519_viper.py (optional): the point arithmetic on fe_viper.py's
    # field where the port runs viper code (chosen as curve25519 chooses its
    # X25519: see curve25519.fast_paths); else ed25519_pure.py's ints
    from ussh.crypto import curve25519

    m = curve25519.load_fast("ed25519", "ussh.crypto.ed25519_viper")
    if m:
        m.setup(d, d2)
    return m


_fast = _viper()  # the module ed25519_viper, or False
if _fast:  # (the int code, whose products cut the heap up anyway, loads it at first use:
    _T = _load_table()  # early, a portable 56 KB heap had no run for its sha512 left)
