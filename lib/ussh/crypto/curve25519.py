# Arithmetic in GF(p), p = 2^255 - 19, and the X25519 function of RFC 7748.
#
# Field elements are Python ints. A product is brought back below about
# 2^256 with "% p"; sums and differences are left unreduced (big ints never
# overflow) and only the final encoding is canonical. ed25519.py uses the
# same field through inverse() and pow_2_252_3().

p = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED

# RFC 7748 §4.1: (A - 2) / 4 for Curve25519's A = 486662.
a24 = 121665


def _sq_times(x, n):
    # x^(2^n) by n squarings.
    for _ in range(n):
        x = x * x % p
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
    # scalar k (bytes, little-endian), with x_1 the input u-coordinate.
    # Returns (x_2, z_2), the projective result.
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
        # cswap(swap, x_2, x_3) and cswap(swap, z_2, z_3), arithmetic, no branch
        mask = -swap
        dummy = mask & (x_2 ^ x_3)
        x_2 ^= dummy
        x_3 ^= dummy
        dummy = mask & (z_2 ^ z_3)
        z_2 ^= dummy
        z_3 ^= dummy
        swap = k_t

        A = x_2 + z_2
        AA = A * A % P
        B = x_2 - z_2
        BB = B * B % P
        E = AA - BB
        C = x_3 + z_3
        D = x_3 - z_3
        DA = D * A % P
        CB = C * B % P
        x_3 = DA + CB
        x_3 = x_3 * x_3 % P
        z_3 = DA - CB
        z_3 = x_1 * (z_3 * z_3 % P) % P
        x_2 = AA * BB % P
        z_2 = E * (AA + A24 * E) % P
    mask = -swap
    dummy = mask & (x_2 ^ x_3)
    x_2 ^= dummy
    dummy = mask & (z_2 ^ z_3)
    z_2 ^= dummy
    return x_2, z_2


def x25519(k, u):
    """X25519(k, u) of RFC 7748 §5: the 32-byte u-coordinate of k times the
    point with 32-byte u-coordinate u. The scalar is clamped and the top bit
    of u ignored; a low-order u gives 32 zero bytes, which the caller must
    refuse (RFC 7748 §6.1)."""
    # RFC 7748 §5: mask the most significant bit, accept non-canonical u
    x_1 = (int.from_bytes(u, "little") & 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF) % p
    x_2, z_2 = _ladder(_clamp(k), x_1)
    return (x_2 * inverse(z_2) % p).to_bytes(32, "little")


def x25519_base(k):
    """X25519(k, 9) of RFC 7748 §6.1: the 32-byte public key for the secret
    key k."""
    return x25519(k, b"\x09" + bytes(31))
