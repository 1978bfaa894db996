# X25519 (RFC 7748 section 5) on fe_viper.py's field arithmetic: the fast
# path of curve25519.x25519 on ports with a native emitter (32-bit
# MicroPython does big ints with 16-bit digits: the int ladder costs about
# 36 million Cortex-M3 instructions).
#
# The ladder is a small program of field operations (ADDSUB, E24, MUL, SQN)
# that fe_viper._run interprets, once per scalar bit; the program depends on
# nothing secret, the scalar's bits only drive the masked cswap of
# fe_viper._ladder. Slots: 1 x_1, 2 x_2, 3 z_2, 4 x_3, 5 z_3 (2..5 adjacent:
# the cswap exchanges 2-3 with 4-5), 6..14 temporaries.
from ussh.crypto import fe_viper as fe
from ussh.crypto.fe_viper import ADDSUB as _ADDSUB, E24 as _E24, MUL as _MUL, SQN as _SQN

# RFC 7748 section 5, one ladder step on x_2, z_2, x_3, z_3 (after the
# cswap), instructions (op, a, b, d, e): A=6 AA=7 B=8 BB=9 E=10 C=11 D=12
# DA=13 CB=14; z_2 = AA + a24 E early (x_2, z_2 are read only by the first)
_STEP = bytes((
    _ADDSUB, 2, 3, 6, 8,  # A = x_2 + z_2, B = x_2 - z_2
    _SQN, 6, 6, 7, 1,  # AA = A^2
    _SQN, 8, 8, 9, 1,  # BB = B^2
    _E24, 7, 9, 10, 3,  # E = AA - BB, z_2 = AA + a24 * E
    _ADDSUB, 4, 5, 11, 12,  # C = x_3 + z_3, D = x_3 - z_3
    _MUL, 12, 6, 13, 0,  # DA = D * A
    _MUL, 11, 8, 14, 0,  # CB = C * B
    _ADDSUB, 13, 14, 4, 5,  # x_3 = DA + CB, z_3 = DA - CB
    _SQN, 4, 4, 4, 1,  # x_3 = (DA + CB)^2
    _SQN, 5, 5, 5, 1,  # z_3 = x_1 * (DA - CB)^2
    _MUL, 5, 1, 5, 0,
    _MUL, 7, 9, 2, 0,  # x_2 = AA * BB
    _MUL, 3, 10, 3, 0,  # z_2 = E * (AA + a24 * E)
))
# x_2 * z_2^(p - 2) into slot 6, the addition chain of curve25519.inverse:
# z^2=6 t=7 z^9=8 z^11=9 then z^(2^n - 1) for n = 5: 10, 10: 11, 20: 12,
# 50: 13, 100: 14
_INV = bytes((
    _SQN, 3, 3, 6, 1,
    _SQN, 6, 6, 7, 2,
    _MUL, 7, 3, 8, 0,
    _MUL, 8, 6, 9, 0,
    _SQN, 9, 9, 7, 1,
    _MUL, 7, 8, 10, 0,
    _SQN, 10, 10, 7, 5,
    _MUL, 7, 10, 11, 0,
    _SQN, 11, 11, 7, 10,
    _MUL, 7, 11, 12, 0,
    _SQN, 12, 12, 7, 20,
    _MUL, 7, 12, 7, 0,  # z^(2^40 - 1)
    _SQN, 7, 7, 7, 10,
    _MUL, 7, 11, 13, 0,
    _SQN, 13, 13, 7, 50,
    _MUL, 7, 13, 14, 0,
    _SQN, 14, 14, 7, 100,
    _MUL, 7, 14, 7, 0,  # z^(2^200 - 1)
    _SQN, 7, 7, 7, 50,
    _MUL, 7, 13, 7, 0,  # z^(2^250 - 1)
    _SQN, 7, 7, 7, 5,
    _MUL, 7, 9, 7, 0,  # z^(2^255 - 21) = z^(p - 2)
    _MUL, 7, 2, 6, 0,
))
_STEP += b"\xff"
_INV += b"\xff"


def x25519(k, u):
    """X25519(k, u) of RFC 7748 section 5, as curve25519.x25519 computes it."""
    # RFC 7748 section 5: the top bit of u masked, u itself may exceed p
    # (UNPACK takes 255 bits: below 2p, which the field's slots hold)
    k = bytearray(k)
    k[0] &= 248  # RFC 7748 section 5 decodeScalar25519
    k[31] = (k[31] & 127) | 64
    u = int.from_bytes(u, "little") & (pow(2, 255) - 1)
    fe.put(1, u, 4, u)  # x_1 = x_3 = u
    fe.put(2, 1, 5, 1)  # x_2 = z_3 = 1
    fe.put(3, 0)  # z_2 = 0
    fe.ladder(_STEP, k)
    fe.run(_INV)
    return fe.get(6).to_bytes(32, "little")
