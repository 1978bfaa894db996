# Arithmetic in GF(p), p = 2^255 - 19, and the X25519 function of RFC 7748.
#
# Field elements are Python ints: sums and differences are left unreduced
# (big ints never overflow), products are reduced as the comments say, and
# only the final encoding is canonical. ed25519.py uses the same field
# through inverse() and pow_2_252_3().

# (pow(), not a literal: mpy-cross stores a big int literal as its decimal
# digits, 80 bytes of .mpy each.)
p = pow(2, 255) - 19

# RFC 7748 §4.1: (A - 2) / 4 for Curve25519's A = 486662.
a24 = 121665

_MASK = pow(2, 255) - 1


def _sq_times(x, n):
    # x^(2^n) by n squarings. For x below 2^256 each square is folded twice
    # (see _ladder), which leaves it below 2^256 again: a third cheaper on
    # a board than % p, and the chains below are nearly all squarings.
    M = _MASK
    for _ in range(n):
        x = x * x
        x = (x & M) + 19 * (x >> 255)
        x = (x & M) + 19 * (x >> 255)
    return x


def _pow_2_250_1(z):
    # (z^(2^250 - 1), z^11): the common part of the two exponentiations below.
    z2 = z * z % p
    z9 = _sq_times(z2, 2) * z % p
    z11 = z9 * z2 % p
    z_5_0 = z11 * z11 % p * z9 % p  # z^(2^5 - 1)
    z_10_0 = _sq_times(z_5_0, 5) * z_5_0 % p
    z_20_0 = _sq_times(z_10_0, 10) * z_10_0 % p
    z_40_0 = _sq_times(z_20_0, 20) * z_20_0 % p
    z_50_0 = _sq_times(z_40_0, 10) * z_10_0 % p
    z_100_0 = _sq_times(z_50_0, 50) * z_50_0 % p
    z_200_0 = _sq_times(z_100_0, 100) * z_100_0 % p
    return _sq_times(z_200_0, 50) * z_50_0 % p, z11


def inverse(z):
    # z^(p - 2) = 1/z, and 0 for z = 0 (RFC 7748 §5).
    t, z11 = _pow_2_250_1(z % p)
    return _sq_times(t, 5) * z11 % p


def pow_2_252_3(z):
    # z^((p - 5) / 8) = z^(2^252 - 3), for square roots (RFC 8032 §5.1.3).
    t, _ = _pow_2_250_1(z % p)
    return _sq_times(t, 2) * z % p


def _clamp(k):
    # RFC 7748 §5 decodeScalar25519, kept as bytes so the ladder reads bits
    # with small-int operations.
    k = bytearray(k)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return k


def _ladder(k, x_1):
    # RFC 7748 §5: the Montgomery ladder over bits 254..0 of the clamped
    # scalar k (bytes, little-endian), x_1 the input u-coordinate. Returns
    # the projective result (x_2, z_2). AA, BB, DA, CB and (DA - CB)^2 feed
    # only sums or one more product, so they are folded once,
    # x = (x mod 2^255) + 19*(x >> 255), which is cheaper than % p and
    # leaves them a few bits above 2^255 (below 2^276); x_2, x_3, z_3 and
    # z_2, which are squared in the next step, are folded once and then
    # reduced % p: on a board that is cheaper than the second fold (one
    # big-int object made instead of three: fewer garbage collections),
    # and the division of a number below 2^330 by p is short. E may be
    # negative: the folds hold for negative ints too (& and >> round
    # towards minus infinity), and % p leaves a residue in [0, p).
    M = _MASK
    P = p
    A24 = a24
    x_2 = 1
    z_2 = 0
    x_3 = x_1
    z_3 = 1
    swap = 0
    for t in range(254, -1, -1):
        k_t = (k[t >> 3] >> (t & 7)) & 1
        swap ^= k_t
        # cswap(swap, x_2, x_3), cswap(swap, z_2, z_3): no branch, the same
        # steps for either bit; picking from a tuple costs a tenth of the
        # arithmetic swap (x_2 + swap * (x_3 - x_2), ..: eight big-int
        # operations, and quicker for swap = 0, which skips the product)
        q = (x_2, z_2, x_3, z_3)
        o = swap + swap
        x_2 = q[o]
        z_2 = q[o + 1]
        x_3 = q[2 - o]
        z_3 = q[3 - o]
        swap = k_t

        A = x_2 + z_2
        AA = A * A
        AA = (AA & M) + 19 * (AA >> 255)
        B = x_2 - z_2
        BB = B * B
        BB = (BB & M) + 19 * (BB >> 255)
        E = AA - BB
        C = x_3 + z_3
        D = x_3 - z_3
        DA = D * A
        DA = (DA & M) + 19 * (DA >> 255)
        CB = C * B
        CB = (CB & M) + 19 * (CB >> 255)
        x_3 = DA + CB
        x_3 = x_3 * x_3
        x_3 = ((x_3 & M) + 19 * (x_3 >> 255)) % P
        z_3 = DA - CB
        z_3 = z_3 * z_3
        z_3 = x_1 * ((z_3 & M) + 19 * (z_3 >> 255))
        z_3 = ((z_3 & M) + 19 * (z_3 >> 255)) % P
        x_2 = AA * BB
        x_2 = ((x_2 & M) + 19 * (x_2 >> 255)) % P
        z_2 = E * (AA + A24 * E)
        z_2 = ((z_2 & M) + 19 * (z_2 >> 255)) % P
    q = (x_2, z_2, x_3, z_3)
    o = swap + swap
    return q[o], q[o + 1]


def x25519(k, u):
    """X25519(k, u) of RFC 7748 §5: the 32-byte u-coordinate of k times the
    point with 32-byte u-coordinate u. The scalar is clamped and the top bit
    of u ignored; a low-order u gives 32 zero bytes, which the caller must
    refuse (RFC 7748 §6.1)."""
    if _fast:
        return _fast(k, u)
    return x25519_pure(k, u)


# Which fast paths loaded, and why not where one did not: {name: module
# or "portable: <reason>"}, for logs and the bench (fast_paths()).
_paths = {}


def load_fast(name, module):
    """The optional viper module `module` (fe_viper.py's field arithmetic
    underneath) where this port runs viper code, else False, the choice
    recorded under name. Machine code frozen or in a .mpy (make mpy, a
    firmware) loads without a compiler; a .py is compiled here, at import:
    its machine code then needs heap that a small board may not have
    (fe_viper: about 30 KB while compiling), and an emitter may refuse a
    function (before the field code was split up, armv6m's "native method
    too big"): then the ints, and the reason is kept."""
    from ussh.compat import have_viper

    why = "no native emitter here"
    if have_viper():
        try:
            m = __import__(module, None, None, ["x"])
            _paths[name] = "viper"
            return m
        except Exception as e:  # MemoryError, NotImplementedError, ...
            why = "%s: %s" % (type(e).__name__, e)
    _paths[name] = "portable: " + why
    return False


def fast_paths():
    """{primitive: "viper" or "portable: <reason>"} for X25519 and Ed25519."""
    return dict(_paths)


_fast = load_fast("x25519", "ussh.crypto.x25519_viper")
_fast = _fast and _fast.x25519  # x25519_viper.x25519, or False


def x25519_pure(k, u):
    # x25519() with Python ints: CPython, ports without viper, and tests
    # RFC 7748 §5: mask the most significant bit, accept non-canonical u
    x_1 = (int.from_bytes(u, "little") & _MASK) % p
    x_2, z_2 = _ladder(_clamp(k), x_1)
    return (x_2 * inverse(z_2) % p).to_bytes(32, "little")


def x25519_base(k):
    """X25519(k, 9) of RFC 7748 §6.1: the 32-byte public key for the secret
    key k."""
    # u = 9 is the Ed25519 base point B on the birationally equivalent
    # Edwards curve (RFC 7748 §4.1), where ed25519.py has a fixed-base comb
    # that beats the ladder. (Imported here: ed25519 imports this module.)
    from ussh.crypto.ed25519 import L, base_u

    return base_u(int.from_bytes(_clamp(k), "little") % L)
