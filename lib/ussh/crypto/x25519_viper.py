# X25519 (RFC 7748 section 5) as MicroPython viper code: the fast path of
# curve25519.x25519 on ports with a native emitter (32-bit MicroPython does
# big ints with 16-bit digits: the int ladder costs about 36 million
# Cortex-M3 instructions, this one 19 million).
#
# A field element mod p = 2^255 - 19 is 20 limbs of 13 bits, little-endian,
# in a 40-byte slot read through ptr16. A stored limb is at most 2^13
# (limb 19 below 2^8), so a product of two is at most 2^26 and a column of
# 20 of them plus a carry below 2^31: every value fits the board's 32-bit
# viper int, stays positive, and a 64-bit port computes the same numbers.
# Stored values are not canonical (they may exceed p): only the final
# encoding reduces mod p.
#
# The ladder is a small program of field operations (ADDSUB, E24, MUL, SQN
# below) that one viper function interprets; the program depends on nothing
# secret, the scalar's bits only drive the masked cswap.
import micropython  # noqa: F401 (the compiled source's decorator)

_P = pow(2, 255) - 19

# The one buffer (bytes): words 0..3 what _run and _mtail are to do (below),
# 16..176 forty 32-bit column sums t; slot i (1..14,
# 40 bytes) at 136 + 40 i: 1 x_1, 2 x_2, 3 z_2, 4 x_3, 5 z_3 (2..5 adjacent:
# the cswap exchanges 2-3 with 4-5), 6..14 temporaries; the clamped scalar
# at 736, the program at 768.
_ADDSUB = 0  # d = a + b, e = a - b
_E24 = 1  # d = a - b, e = a + 121665 d
_MUL = 2  # d = a * b
_SQN = 3  # d = a^(2^e)

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
_PROG = _STEP + _INV
_SIZE = 768 + len(_PROG)

_F = bytearray(_SIZE)  # the buffer (one x25519 at a time: no await inside)


def _row(first, indent):
    # two schoolbook rows at once, a_i and a_(i+1) times b, into the column
    # sums r[0..20] (r = t + i): r[j] = r[j] + ai b_j + aj b_(j-1), but
    # r[j] = ... where no earlier row reached (all of the first two rows;
    # r[19] and r[20] of the others)
    s = []
    for j in range(21):
        terms = ["ai * b[%d]" % j] if j < 20 else []
        terms += ["aj * b[%d]" % (j - 1)] if j else []
        acc = "" if first or j >= 19 else "r[%d] + " % j
        s.append("%sr[%d] = %s%s\n" % (" " * indent, j, acc, " + ".join(terms)))
    return "".join(s)


def _multail():
    # a product's limbs from t into slot f[3], as the loops "limb i" below;
    # the last limb (before the fold from bit 255) back in f[3]. Unrolled,
    # 2 million instructions less than a loop; its own function because
    # inline _run crashed the board (HardFault: the Thumb emitter of
    # MicroPython 1.25 with a function this long; the unix port ran it)
    s = ["@micropython.viper\ndef _mtail():\n    r = ptr32(_F)\n    b = ptr16(_F)\n    f = ptr32(_F)\n"
         "    r = ptr32(uint(f) + 16)\n    b = ptr16(uint(f) + 136 + 40 * f[3])\n    q = 0\n    c = 0\n"]
    for i in range(20):
        s.append("    h = r[%d]\n    x = r[%d] + c + ((h & 8191) + q) * 608\n"
                 "    q = h >> 13\n    b[%d] = x & 8191\n    c = x >> 13\n" % (i + 20, i, i))
    s.append("    f[3] = x\n")
    return "".join(s)


exec(_multail())


# Compiled on the board at import, as keccak_viper.py is (its cost, some
# millions of instructions, falls at the server's start: curve25519 imports
# this module then). One function, the whole ladder: a viper call costs
# hundreds of instructions, and viper keeps its first three locals in
# registers (Thumb), here r, b and ai, those of the products' rows; so no
# arguments either (they would come first): the buffer is _F.
exec(
    """
@micropython.viper
def _run():
    r = ptr32(_F)
    b = ptr16(_F)
    ai = 0
    f = ptr32(_F)
    t = ptr32(uint(f) + 16)
    pg = ptr8(uint(f) + 768)
    kb = ptr8(uint(f) + 736)
    swap = 0
    bit = f[0] - 1
    while bit >= -1:
        # RFC 7748 section 5: bit t of the clamped scalar, cswap(swap, ...)
        # by a mask (bit -1: the last cswap, then the inversion)
        kt = 0
        if bit >= 0:
            kt = (kb[bit >> 3] >> (bit & 7)) & 1
        swap ^= kt
        m = 0 - swap
        i = 54
        while i < 74:
            v = (f[i] ^ f[i + 20]) & m
            f[i] = f[i] ^ v
            f[i + 20] = f[i + 20] ^ v
            i += 1
        swap = kt
        pc = 0
        end = f[1]
        if bit < 0:
            pc = f[1]
            end = f[2]
        while pc < end:
            op = pg[pc]
            a = ptr16(uint(f) + 136 + 40 * pg[pc + 1])
            b = ptr16(uint(f) + 136 + 40 * pg[pc + 2])
            d = ptr16(uint(f) + 136 + 40 * pg[pc + 3])
            e = ptr16(uint(f) + 136 + 40 * pg[pc + 4])
            n = 2
            if op == 2:
                n = 1
            elif op == 3:
                n = pg[pc + 4]
            s = 0
            while s < n:
                o = d
                if op >= 2:
                    # a * b: schoolbook rows, two at a time, into the 39
                    # column sums t[0..38] (t[39], never written, is 0)
                    r = ptr32(uint(f) + 16)
                    ai = a[0]
                    aj = a[1]
ROW0
                    i = 2
                    while i < 20:
                        r = ptr32(uint(f) + 16 + 4 * i)
                        ai = a[i]
                        aj = a[i + 1]
ROW
                        i += 2
                elif s == op:
                    o = e
                # limb i of the result, carried into 13 bits in o: for a
                # product column i plus 608 = 2^260 mod p times column
                # i + 20 (its low 13 bits, q the rest: 2^13 higher, so
                # with limb i + 1); for ADDSUB and E24 a + 2p - b first
                # (2p's limbs, 16382 but 16346 and 510 at the ends, exceed
                # any stored limb), then a + b (ADDSUB) or
                # a + 121665 (a + 2p - b) (E24)
                c = 0
                i = 0
                if op >= 2:
                    f[3] = pg[pc + 3]
                    _mtail()
                    x = f[3]
                elif s == 0:
                    c = -36
                    while i < 20:
                        x = a[i] + 16382 - b[i] + c
                        o[i] = x & 8191
                        c = x >> 13
                        i += 1
                    x -= 15872
                elif op == 0:
                    while i < 20:
                        x = a[i] + b[i] + c
                        o[i] = x & 8191
                        c = x >> 13
                        i += 1
                else:
                    while i < 20:
                        x = a[i] + d[i] * 121665 + c
                        o[i] = x & 8191
                        c = x >> 13
                        i += 1
                # from bit 255 up (limb 19's bits 8..) back times 19 into
                # limb 0 (2^255 = 19 mod p), carried on into limbs 1 and 2
                o[19] = x & 255
                x = o[0] + (x >> 8) * 19
                o[0] = x & 8191
                x = o[1] + (x >> 13)
                o[1] = x & 8191
                o[2] = o[2] + (x >> 13)
                if op >= 2:
                    a = d
                    b = d
                s += 1
            pc += 5
        bit -= 1
""".replace("ROW0\n", _row(True, 20)).replace("ROW\n", _row(False, 24))
)


def x25519(k, u):
    """X25519(k, u) of RFC 7748 section 5, as curve25519.x25519 computes it."""
    f = _F
    f[:] = bytes(_SIZE)
    # RFC 7748 section 5: the top bit of u masked, u itself may exceed p
    x = int.from_bytes(u, "little") & (pow(2, 255) - 1)
    for i in range(176, 216, 2):  # x_1 = u
        f[i] = x & 255
        f[i + 1] = (x >> 8) & 31
        x >>= 13
    f[216] = 1  # x_2 = 1, z_2 = 0
    f[296:336] = f[176:216]  # x_3 = u
    f[336] = 1  # z_3 = 1
    f[736:768] = k
    f[736] &= 248  # RFC 7748 section 5 decodeScalar25519
    f[767] = (f[767] & 127) | 64
    f[0] = 255  # words 0..2: the ladder's bits, where its step and the
    f[4] = len(_STEP)  # inversion end in the program
    f[8] = len(_PROG)
    f[768:] = _PROG
    _run()
    for i in range(414, 374, -2):  # slot 6
        x = (x << 13) + (f[i] | (f[i + 1] << 8))  # + not |: a limb may be 2^13
    return (x % _P).to_bytes(32, "little")
