# Arithmetic in GF(p), p = 2^255 - 19, as MicroPython viper code: the fast
# path of X25519 (x25519_viper.py) and Ed25519 (ed25519_viper.py) on ports
# with a native emitter. WRITTEN BY tools/gen_fe_viper.py from
# tools/fe_viper.py.in: edit those, not this file.
#
# A field element is 20 limbs of 13 bits, little-endian, in a 48-byte slot
# of the buffer F read through ptr16 (its last 8 bytes: where an operation
# on it as its first operand puts its results). A stored limb is at most 2^13 (limb
# 19 below 2^8), so a product of two is at most 2^26 and a column of 20 of
# them plus the folded high column below 2^31: every value fits the board's
# 32-bit viper int, stays positive, and a 64-bit port computes the same
# numbers. Stored values are not canonical (they may exceed p): get()
# reduces mod p. Every operation takes the same steps whatever the values.
#
# The work is a small program of field operations on slots (5 bytes each:
# op, a, b, d, e; 255 ends it) that _run interprets; _mul and _sqr are
# straight-line code (no branch: armv6m's Thumb cannot branch over more
# than 2 KB, "native method too big"), each called once per product.
# Functions take addresses as ints: viper keeps its first three locals in
# registers, and the arguments come first. With mpy-cross -march=... (make
# mpy, a frozen firmware) this is machine code in the .mpy: no compile at
# import.
import micropython  # noqa: F401 (the decorator)

from ussh.compat import have_thumb

ADDSUB = 0  # d = a + b, e = a - b (e apart from a and b: fe_thumb writes it first)
E24 = 1  # d = a - b, e = a + 121665 d (RFC 7748's a24)
MUL = 2  # d = a * b
SQN = 3  # d = a^(2^e)
ADD = 4  # d = a + b
SUB = 5  # d = a - b
UNPACK = 6  # d, e = the 32-byte little-endian numbers src[0:32], src[32:64] mod 2^255
END = 255
P = pow(2, 255) - 19
SLOTS = 57  # slot 0: _run's scratch; x25519_viper 1..14, ed25519_viper 1..56
F = bytearray(48 * SLOTS)  # one operation at a time: no await inside any


@micropython.viper
def _addr(b: ptr8) -> int:
    return int(b)


BASE = _addr(F)


@micropython.viper
def _mul(a: int, b: int):
    # slot d = a * b, d (word 10 of slot a) apart from a and b: columns k and
    # k + 20 of the schoolbook product, limb by limb
    d = a + ptr32(a)[10] - 65536
    h = ptr16(a)[1] * ptr16(b)[19] + ptr16(a)[2] * ptr16(b)[18] + ptr16(a)[3] * ptr16(b)[17] + ptr16(a)[4] * ptr16(b)[16] + ptr16(a)[5] * ptr16(b)[15] + ptr16(a)[6] * ptr16(b)[14] + ptr16(a)[7] * ptr16(b)[13] + ptr16(a)[8] * ptr16(b)[12] + ptr16(a)[9] * ptr16(b)[11] + ptr16(a)[10] * ptr16(b)[10] + ptr16(a)[11] * ptr16(b)[9] + ptr16(a)[12] * ptr16(b)[8] + ptr16(a)[13] * ptr16(b)[7] + ptr16(a)[14] * ptr16(b)[6] + ptr16(a)[15] * ptr16(b)[5] + ptr16(a)[16] * ptr16(b)[4] + ptr16(a)[17] * ptr16(b)[3] + ptr16(a)[18] * ptr16(b)[2] + ptr16(a)[19] * ptr16(b)[1]
    x = ptr16(a)[0] * ptr16(b)[0] + (h & 8191) * 608
    q = h >> 13
    ptr16(d)[0] = x & 8191
    c = x >> 13
    h = ptr16(a)[2] * ptr16(b)[19] + ptr16(a)[3] * ptr16(b)[18] + ptr16(a)[4] * ptr16(b)[17] + ptr16(a)[5] * ptr16(b)[16] + ptr16(a)[6] * ptr16(b)[15] + ptr16(a)[7] * ptr16(b)[14] + ptr16(a)[8] * ptr16(b)[13] + ptr16(a)[9] * ptr16(b)[12] + ptr16(a)[10] * ptr16(b)[11] + ptr16(a)[11] * ptr16(b)[10] + ptr16(a)[12] * ptr16(b)[9] + ptr16(a)[13] * ptr16(b)[8] + ptr16(a)[14] * ptr16(b)[7] + ptr16(a)[15] * ptr16(b)[6] + ptr16(a)[16] * ptr16(b)[5] + ptr16(a)[17] * ptr16(b)[4] + ptr16(a)[18] * ptr16(b)[3] + ptr16(a)[19] * ptr16(b)[2]
    x = ptr16(a)[0] * ptr16(b)[1] + ptr16(a)[1] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[1] = x & 8191
    c = x >> 13
    h = ptr16(a)[3] * ptr16(b)[19] + ptr16(a)[4] * ptr16(b)[18] + ptr16(a)[5] * ptr16(b)[17] + ptr16(a)[6] * ptr16(b)[16] + ptr16(a)[7] * ptr16(b)[15] + ptr16(a)[8] * ptr16(b)[14] + ptr16(a)[9] * ptr16(b)[13] + ptr16(a)[10] * ptr16(b)[12] + ptr16(a)[11] * ptr16(b)[11] + ptr16(a)[12] * ptr16(b)[10] + ptr16(a)[13] * ptr16(b)[9] + ptr16(a)[14] * ptr16(b)[8] + ptr16(a)[15] * ptr16(b)[7] + ptr16(a)[16] * ptr16(b)[6] + ptr16(a)[17] * ptr16(b)[5] + ptr16(a)[18] * ptr16(b)[4] + ptr16(a)[19] * ptr16(b)[3]
    x = ptr16(a)[0] * ptr16(b)[2] + ptr16(a)[1] * ptr16(b)[1] + ptr16(a)[2] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[2] = x & 8191
    c = x >> 13
    h = ptr16(a)[4] * ptr16(b)[19] + ptr16(a)[5] * ptr16(b)[18] + ptr16(a)[6] * ptr16(b)[17] + ptr16(a)[7] * ptr16(b)[16] + ptr16(a)[8] * ptr16(b)[15] + ptr16(a)[9] * ptr16(b)[14] + ptr16(a)[10] * ptr16(b)[13] + ptr16(a)[11] * ptr16(b)[12] + ptr16(a)[12] * ptr16(b)[11] + ptr16(a)[13] * ptr16(b)[10] + ptr16(a)[14] * ptr16(b)[9] + ptr16(a)[15] * ptr16(b)[8] + ptr16(a)[16] * ptr16(b)[7] + ptr16(a)[17] * ptr16(b)[6] + ptr16(a)[18] * ptr16(b)[5] + ptr16(a)[19] * ptr16(b)[4]
    x = ptr16(a)[0] * ptr16(b)[3] + ptr16(a)[1] * ptr16(b)[2] + ptr16(a)[2] * ptr16(b)[1] + ptr16(a)[3] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[3] = x & 8191
    c = x >> 13
    h = ptr16(a)[5] * ptr16(b)[19] + ptr16(a)[6] * ptr16(b)[18] + ptr16(a)[7] * ptr16(b)[17] + ptr16(a)[8] * ptr16(b)[16] + ptr16(a)[9] * ptr16(b)[15] + ptr16(a)[10] * ptr16(b)[14] + ptr16(a)[11] * ptr16(b)[13] + ptr16(a)[12] * ptr16(b)[12] + ptr16(a)[13] * ptr16(b)[11] + ptr16(a)[14] * ptr16(b)[10] + ptr16(a)[15] * ptr16(b)[9] + ptr16(a)[16] * ptr16(b)[8] + ptr16(a)[17] * ptr16(b)[7] + ptr16(a)[18] * ptr16(b)[6] + ptr16(a)[19] * ptr16(b)[5]
    x = ptr16(a)[0] * ptr16(b)[4] + ptr16(a)[1] * ptr16(b)[3] + ptr16(a)[2] * ptr16(b)[2] + ptr16(a)[3] * ptr16(b)[1] + ptr16(a)[4] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[4] = x & 8191
    c = x >> 13
    h = ptr16(a)[6] * ptr16(b)[19] + ptr16(a)[7] * ptr16(b)[18] + ptr16(a)[8] * ptr16(b)[17] + ptr16(a)[9] * ptr16(b)[16] + ptr16(a)[10] * ptr16(b)[15] + ptr16(a)[11] * ptr16(b)[14] + ptr16(a)[12] * ptr16(b)[13] + ptr16(a)[13] * ptr16(b)[12] + ptr16(a)[14] * ptr16(b)[11] + ptr16(a)[15] * ptr16(b)[10] + ptr16(a)[16] * ptr16(b)[9] + ptr16(a)[17] * ptr16(b)[8] + ptr16(a)[18] * ptr16(b)[7] + ptr16(a)[19] * ptr16(b)[6]
    x = ptr16(a)[0] * ptr16(b)[5] + ptr16(a)[1] * ptr16(b)[4] + ptr16(a)[2] * ptr16(b)[3] + ptr16(a)[3] * ptr16(b)[2] + ptr16(a)[4] * ptr16(b)[1] + ptr16(a)[5] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[5] = x & 8191
    c = x >> 13
    h = ptr16(a)[7] * ptr16(b)[19] + ptr16(a)[8] * ptr16(b)[18] + ptr16(a)[9] * ptr16(b)[17] + ptr16(a)[10] * ptr16(b)[16] + ptr16(a)[11] * ptr16(b)[15] + ptr16(a)[12] * ptr16(b)[14] + ptr16(a)[13] * ptr16(b)[13] + ptr16(a)[14] * ptr16(b)[12] + ptr16(a)[15] * ptr16(b)[11] + ptr16(a)[16] * ptr16(b)[10] + ptr16(a)[17] * ptr16(b)[9] + ptr16(a)[18] * ptr16(b)[8] + ptr16(a)[19] * ptr16(b)[7]
    x = ptr16(a)[0] * ptr16(b)[6] + ptr16(a)[1] * ptr16(b)[5] + ptr16(a)[2] * ptr16(b)[4] + ptr16(a)[3] * ptr16(b)[3] + ptr16(a)[4] * ptr16(b)[2] + ptr16(a)[5] * ptr16(b)[1] + ptr16(a)[6] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[6] = x & 8191
    c = x >> 13
    h = ptr16(a)[8] * ptr16(b)[19] + ptr16(a)[9] * ptr16(b)[18] + ptr16(a)[10] * ptr16(b)[17] + ptr16(a)[11] * ptr16(b)[16] + ptr16(a)[12] * ptr16(b)[15] + ptr16(a)[13] * ptr16(b)[14] + ptr16(a)[14] * ptr16(b)[13] + ptr16(a)[15] * ptr16(b)[12] + ptr16(a)[16] * ptr16(b)[11] + ptr16(a)[17] * ptr16(b)[10] + ptr16(a)[18] * ptr16(b)[9] + ptr16(a)[19] * ptr16(b)[8]
    x = ptr16(a)[0] * ptr16(b)[7] + ptr16(a)[1] * ptr16(b)[6] + ptr16(a)[2] * ptr16(b)[5] + ptr16(a)[3] * ptr16(b)[4] + ptr16(a)[4] * ptr16(b)[3] + ptr16(a)[5] * ptr16(b)[2] + ptr16(a)[6] * ptr16(b)[1] + ptr16(a)[7] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[7] = x & 8191
    c = x >> 13
    h = ptr16(a)[9] * ptr16(b)[19] + ptr16(a)[10] * ptr16(b)[18] + ptr16(a)[11] * ptr16(b)[17] + ptr16(a)[12] * ptr16(b)[16] + ptr16(a)[13] * ptr16(b)[15] + ptr16(a)[14] * ptr16(b)[14] + ptr16(a)[15] * ptr16(b)[13] + ptr16(a)[16] * ptr16(b)[12] + ptr16(a)[17] * ptr16(b)[11] + ptr16(a)[18] * ptr16(b)[10] + ptr16(a)[19] * ptr16(b)[9]
    x = ptr16(a)[0] * ptr16(b)[8] + ptr16(a)[1] * ptr16(b)[7] + ptr16(a)[2] * ptr16(b)[6] + ptr16(a)[3] * ptr16(b)[5] + ptr16(a)[4] * ptr16(b)[4] + ptr16(a)[5] * ptr16(b)[3] + ptr16(a)[6] * ptr16(b)[2] + ptr16(a)[7] * ptr16(b)[1] + ptr16(a)[8] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[8] = x & 8191
    c = x >> 13
    h = ptr16(a)[10] * ptr16(b)[19] + ptr16(a)[11] * ptr16(b)[18] + ptr16(a)[12] * ptr16(b)[17] + ptr16(a)[13] * ptr16(b)[16] + ptr16(a)[14] * ptr16(b)[15] + ptr16(a)[15] * ptr16(b)[14] + ptr16(a)[16] * ptr16(b)[13] + ptr16(a)[17] * ptr16(b)[12] + ptr16(a)[18] * ptr16(b)[11] + ptr16(a)[19] * ptr16(b)[10]
    x = ptr16(a)[0] * ptr16(b)[9] + ptr16(a)[1] * ptr16(b)[8] + ptr16(a)[2] * ptr16(b)[7] + ptr16(a)[3] * ptr16(b)[6] + ptr16(a)[4] * ptr16(b)[5] + ptr16(a)[5] * ptr16(b)[4] + ptr16(a)[6] * ptr16(b)[3] + ptr16(a)[7] * ptr16(b)[2] + ptr16(a)[8] * ptr16(b)[1] + ptr16(a)[9] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[9] = x & 8191
    c = x >> 13
    h = ptr16(a)[11] * ptr16(b)[19] + ptr16(a)[12] * ptr16(b)[18] + ptr16(a)[13] * ptr16(b)[17] + ptr16(a)[14] * ptr16(b)[16] + ptr16(a)[15] * ptr16(b)[15] + ptr16(a)[16] * ptr16(b)[14] + ptr16(a)[17] * ptr16(b)[13] + ptr16(a)[18] * ptr16(b)[12] + ptr16(a)[19] * ptr16(b)[11]
    x = ptr16(a)[0] * ptr16(b)[10] + ptr16(a)[1] * ptr16(b)[9] + ptr16(a)[2] * ptr16(b)[8] + ptr16(a)[3] * ptr16(b)[7] + ptr16(a)[4] * ptr16(b)[6] + ptr16(a)[5] * ptr16(b)[5] + ptr16(a)[6] * ptr16(b)[4] + ptr16(a)[7] * ptr16(b)[3] + ptr16(a)[8] * ptr16(b)[2] + ptr16(a)[9] * ptr16(b)[1] + ptr16(a)[10] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[10] = x & 8191
    c = x >> 13
    h = ptr16(a)[12] * ptr16(b)[19] + ptr16(a)[13] * ptr16(b)[18] + ptr16(a)[14] * ptr16(b)[17] + ptr16(a)[15] * ptr16(b)[16] + ptr16(a)[16] * ptr16(b)[15] + ptr16(a)[17] * ptr16(b)[14] + ptr16(a)[18] * ptr16(b)[13] + ptr16(a)[19] * ptr16(b)[12]
    x = ptr16(a)[0] * ptr16(b)[11] + ptr16(a)[1] * ptr16(b)[10] + ptr16(a)[2] * ptr16(b)[9] + ptr16(a)[3] * ptr16(b)[8] + ptr16(a)[4] * ptr16(b)[7] + ptr16(a)[5] * ptr16(b)[6] + ptr16(a)[6] * ptr16(b)[5] + ptr16(a)[7] * ptr16(b)[4] + ptr16(a)[8] * ptr16(b)[3] + ptr16(a)[9] * ptr16(b)[2] + ptr16(a)[10] * ptr16(b)[1] + ptr16(a)[11] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[11] = x & 8191
    c = x >> 13
    h = ptr16(a)[13] * ptr16(b)[19] + ptr16(a)[14] * ptr16(b)[18] + ptr16(a)[15] * ptr16(b)[17] + ptr16(a)[16] * ptr16(b)[16] + ptr16(a)[17] * ptr16(b)[15] + ptr16(a)[18] * ptr16(b)[14] + ptr16(a)[19] * ptr16(b)[13]
    x = ptr16(a)[0] * ptr16(b)[12] + ptr16(a)[1] * ptr16(b)[11] + ptr16(a)[2] * ptr16(b)[10] + ptr16(a)[3] * ptr16(b)[9] + ptr16(a)[4] * ptr16(b)[8] + ptr16(a)[5] * ptr16(b)[7] + ptr16(a)[6] * ptr16(b)[6] + ptr16(a)[7] * ptr16(b)[5] + ptr16(a)[8] * ptr16(b)[4] + ptr16(a)[9] * ptr16(b)[3] + ptr16(a)[10] * ptr16(b)[2] + ptr16(a)[11] * ptr16(b)[1] + ptr16(a)[12] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[12] = x & 8191
    c = x >> 13
    h = ptr16(a)[14] * ptr16(b)[19] + ptr16(a)[15] * ptr16(b)[18] + ptr16(a)[16] * ptr16(b)[17] + ptr16(a)[17] * ptr16(b)[16] + ptr16(a)[18] * ptr16(b)[15] + ptr16(a)[19] * ptr16(b)[14]
    x = ptr16(a)[0] * ptr16(b)[13] + ptr16(a)[1] * ptr16(b)[12] + ptr16(a)[2] * ptr16(b)[11] + ptr16(a)[3] * ptr16(b)[10] + ptr16(a)[4] * ptr16(b)[9] + ptr16(a)[5] * ptr16(b)[8] + ptr16(a)[6] * ptr16(b)[7] + ptr16(a)[7] * ptr16(b)[6] + ptr16(a)[8] * ptr16(b)[5] + ptr16(a)[9] * ptr16(b)[4] + ptr16(a)[10] * ptr16(b)[3] + ptr16(a)[11] * ptr16(b)[2] + ptr16(a)[12] * ptr16(b)[1] + ptr16(a)[13] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[13] = x & 8191
    c = x >> 13
    h = ptr16(a)[15] * ptr16(b)[19] + ptr16(a)[16] * ptr16(b)[18] + ptr16(a)[17] * ptr16(b)[17] + ptr16(a)[18] * ptr16(b)[16] + ptr16(a)[19] * ptr16(b)[15]
    x = ptr16(a)[0] * ptr16(b)[14] + ptr16(a)[1] * ptr16(b)[13] + ptr16(a)[2] * ptr16(b)[12] + ptr16(a)[3] * ptr16(b)[11] + ptr16(a)[4] * ptr16(b)[10] + ptr16(a)[5] * ptr16(b)[9] + ptr16(a)[6] * ptr16(b)[8] + ptr16(a)[7] * ptr16(b)[7] + ptr16(a)[8] * ptr16(b)[6] + ptr16(a)[9] * ptr16(b)[5] + ptr16(a)[10] * ptr16(b)[4] + ptr16(a)[11] * ptr16(b)[3] + ptr16(a)[12] * ptr16(b)[2] + ptr16(a)[13] * ptr16(b)[1] + ptr16(a)[14] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[14] = x & 8191
    c = x >> 13
    h = ptr16(a)[16] * ptr16(b)[19] + ptr16(a)[17] * ptr16(b)[18] + ptr16(a)[18] * ptr16(b)[17] + ptr16(a)[19] * ptr16(b)[16]
    x = ptr16(a)[0] * ptr16(b)[15] + ptr16(a)[1] * ptr16(b)[14] + ptr16(a)[2] * ptr16(b)[13] + ptr16(a)[3] * ptr16(b)[12] + ptr16(a)[4] * ptr16(b)[11] + ptr16(a)[5] * ptr16(b)[10] + ptr16(a)[6] * ptr16(b)[9] + ptr16(a)[7] * ptr16(b)[8] + ptr16(a)[8] * ptr16(b)[7] + ptr16(a)[9] * ptr16(b)[6] + ptr16(a)[10] * ptr16(b)[5] + ptr16(a)[11] * ptr16(b)[4] + ptr16(a)[12] * ptr16(b)[3] + ptr16(a)[13] * ptr16(b)[2] + ptr16(a)[14] * ptr16(b)[1] + ptr16(a)[15] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[15] = x & 8191
    c = x >> 13
    h = ptr16(a)[17] * ptr16(b)[19] + ptr16(a)[18] * ptr16(b)[18] + ptr16(a)[19] * ptr16(b)[17]
    x = ptr16(a)[0] * ptr16(b)[16] + ptr16(a)[1] * ptr16(b)[15] + ptr16(a)[2] * ptr16(b)[14] + ptr16(a)[3] * ptr16(b)[13] + ptr16(a)[4] * ptr16(b)[12] + ptr16(a)[5] * ptr16(b)[11] + ptr16(a)[6] * ptr16(b)[10] + ptr16(a)[7] * ptr16(b)[9] + ptr16(a)[8] * ptr16(b)[8] + ptr16(a)[9] * ptr16(b)[7] + ptr16(a)[10] * ptr16(b)[6] + ptr16(a)[11] * ptr16(b)[5] + ptr16(a)[12] * ptr16(b)[4] + ptr16(a)[13] * ptr16(b)[3] + ptr16(a)[14] * ptr16(b)[2] + ptr16(a)[15] * ptr16(b)[1] + ptr16(a)[16] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[16] = x & 8191
    c = x >> 13
    h = ptr16(a)[18] * ptr16(b)[19] + ptr16(a)[19] * ptr16(b)[18]
    x = ptr16(a)[0] * ptr16(b)[17] + ptr16(a)[1] * ptr16(b)[16] + ptr16(a)[2] * ptr16(b)[15] + ptr16(a)[3] * ptr16(b)[14] + ptr16(a)[4] * ptr16(b)[13] + ptr16(a)[5] * ptr16(b)[12] + ptr16(a)[6] * ptr16(b)[11] + ptr16(a)[7] * ptr16(b)[10] + ptr16(a)[8] * ptr16(b)[9] + ptr16(a)[9] * ptr16(b)[8] + ptr16(a)[10] * ptr16(b)[7] + ptr16(a)[11] * ptr16(b)[6] + ptr16(a)[12] * ptr16(b)[5] + ptr16(a)[13] * ptr16(b)[4] + ptr16(a)[14] * ptr16(b)[3] + ptr16(a)[15] * ptr16(b)[2] + ptr16(a)[16] * ptr16(b)[1] + ptr16(a)[17] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[17] = x & 8191
    c = x >> 13
    h = ptr16(a)[19] * ptr16(b)[19]
    x = ptr16(a)[0] * ptr16(b)[18] + ptr16(a)[1] * ptr16(b)[17] + ptr16(a)[2] * ptr16(b)[16] + ptr16(a)[3] * ptr16(b)[15] + ptr16(a)[4] * ptr16(b)[14] + ptr16(a)[5] * ptr16(b)[13] + ptr16(a)[6] * ptr16(b)[12] + ptr16(a)[7] * ptr16(b)[11] + ptr16(a)[8] * ptr16(b)[10] + ptr16(a)[9] * ptr16(b)[9] + ptr16(a)[10] * ptr16(b)[8] + ptr16(a)[11] * ptr16(b)[7] + ptr16(a)[12] * ptr16(b)[6] + ptr16(a)[13] * ptr16(b)[5] + ptr16(a)[14] * ptr16(b)[4] + ptr16(a)[15] * ptr16(b)[3] + ptr16(a)[16] * ptr16(b)[2] + ptr16(a)[17] * ptr16(b)[1] + ptr16(a)[18] * ptr16(b)[0] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[18] = x & 8191
    c = x >> 13
    x = ptr16(a)[0] * ptr16(b)[19] + ptr16(a)[1] * ptr16(b)[18] + ptr16(a)[2] * ptr16(b)[17] + ptr16(a)[3] * ptr16(b)[16] + ptr16(a)[4] * ptr16(b)[15] + ptr16(a)[5] * ptr16(b)[14] + ptr16(a)[6] * ptr16(b)[13] + ptr16(a)[7] * ptr16(b)[12] + ptr16(a)[8] * ptr16(b)[11] + ptr16(a)[9] * ptr16(b)[10] + ptr16(a)[10] * ptr16(b)[9] + ptr16(a)[11] * ptr16(b)[8] + ptr16(a)[12] * ptr16(b)[7] + ptr16(a)[13] * ptr16(b)[6] + ptr16(a)[14] * ptr16(b)[5] + ptr16(a)[15] * ptr16(b)[4] + ptr16(a)[16] * ptr16(b)[3] + ptr16(a)[17] * ptr16(b)[2] + ptr16(a)[18] * ptr16(b)[1] + ptr16(a)[19] * ptr16(b)[0] + c + q * 608
    ptr16(d)[19] = x & 255
    x = ptr16(d)[0] + (x >> 8) * 19
    ptr16(d)[0] = x & 8191
    x = ptr16(d)[1] + (x >> 13)
    ptr16(d)[1] = x & 8191
    ptr16(d)[2] = ptr16(d)[2] + (x >> 13)


@micropython.viper
def _sqr(a: int):
    # d = a^2 (d: word 10 of slot a, apart from a): the products a_i a_j,
    # i < j, once and doubled
    d = a + ptr32(a)[10] - 65536
    h = ((ptr16(a)[1] * ptr16(a)[19] + ptr16(a)[2] * ptr16(a)[18] + ptr16(a)[3] * ptr16(a)[17] + ptr16(a)[4] * ptr16(a)[16] + ptr16(a)[5] * ptr16(a)[15] + ptr16(a)[6] * ptr16(a)[14] + ptr16(a)[7] * ptr16(a)[13] + ptr16(a)[8] * ptr16(a)[12] + ptr16(a)[9] * ptr16(a)[11]) << 1) + ptr16(a)[10] * ptr16(a)[10]
    x = ptr16(a)[0] * ptr16(a)[0] + (h & 8191) * 608
    q = h >> 13
    ptr16(d)[0] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[2] * ptr16(a)[19] + ptr16(a)[3] * ptr16(a)[18] + ptr16(a)[4] * ptr16(a)[17] + ptr16(a)[5] * ptr16(a)[16] + ptr16(a)[6] * ptr16(a)[15] + ptr16(a)[7] * ptr16(a)[14] + ptr16(a)[8] * ptr16(a)[13] + ptr16(a)[9] * ptr16(a)[12] + ptr16(a)[10] * ptr16(a)[11]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[1]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[1] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[3] * ptr16(a)[19] + ptr16(a)[4] * ptr16(a)[18] + ptr16(a)[5] * ptr16(a)[17] + ptr16(a)[6] * ptr16(a)[16] + ptr16(a)[7] * ptr16(a)[15] + ptr16(a)[8] * ptr16(a)[14] + ptr16(a)[9] * ptr16(a)[13] + ptr16(a)[10] * ptr16(a)[12]) << 1) + ptr16(a)[11] * ptr16(a)[11]
    x = ((ptr16(a)[0] * ptr16(a)[2]) << 1) + ptr16(a)[1] * ptr16(a)[1] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[2] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[4] * ptr16(a)[19] + ptr16(a)[5] * ptr16(a)[18] + ptr16(a)[6] * ptr16(a)[17] + ptr16(a)[7] * ptr16(a)[16] + ptr16(a)[8] * ptr16(a)[15] + ptr16(a)[9] * ptr16(a)[14] + ptr16(a)[10] * ptr16(a)[13] + ptr16(a)[11] * ptr16(a)[12]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[3] + ptr16(a)[1] * ptr16(a)[2]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[3] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[5] * ptr16(a)[19] + ptr16(a)[6] * ptr16(a)[18] + ptr16(a)[7] * ptr16(a)[17] + ptr16(a)[8] * ptr16(a)[16] + ptr16(a)[9] * ptr16(a)[15] + ptr16(a)[10] * ptr16(a)[14] + ptr16(a)[11] * ptr16(a)[13]) << 1) + ptr16(a)[12] * ptr16(a)[12]
    x = ((ptr16(a)[0] * ptr16(a)[4] + ptr16(a)[1] * ptr16(a)[3]) << 1) + ptr16(a)[2] * ptr16(a)[2] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[4] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[6] * ptr16(a)[19] + ptr16(a)[7] * ptr16(a)[18] + ptr16(a)[8] * ptr16(a)[17] + ptr16(a)[9] * ptr16(a)[16] + ptr16(a)[10] * ptr16(a)[15] + ptr16(a)[11] * ptr16(a)[14] + ptr16(a)[12] * ptr16(a)[13]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[5] + ptr16(a)[1] * ptr16(a)[4] + ptr16(a)[2] * ptr16(a)[3]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[5] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[7] * ptr16(a)[19] + ptr16(a)[8] * ptr16(a)[18] + ptr16(a)[9] * ptr16(a)[17] + ptr16(a)[10] * ptr16(a)[16] + ptr16(a)[11] * ptr16(a)[15] + ptr16(a)[12] * ptr16(a)[14]) << 1) + ptr16(a)[13] * ptr16(a)[13]
    x = ((ptr16(a)[0] * ptr16(a)[6] + ptr16(a)[1] * ptr16(a)[5] + ptr16(a)[2] * ptr16(a)[4]) << 1) + ptr16(a)[3] * ptr16(a)[3] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[6] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[8] * ptr16(a)[19] + ptr16(a)[9] * ptr16(a)[18] + ptr16(a)[10] * ptr16(a)[17] + ptr16(a)[11] * ptr16(a)[16] + ptr16(a)[12] * ptr16(a)[15] + ptr16(a)[13] * ptr16(a)[14]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[7] + ptr16(a)[1] * ptr16(a)[6] + ptr16(a)[2] * ptr16(a)[5] + ptr16(a)[3] * ptr16(a)[4]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[7] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[9] * ptr16(a)[19] + ptr16(a)[10] * ptr16(a)[18] + ptr16(a)[11] * ptr16(a)[17] + ptr16(a)[12] * ptr16(a)[16] + ptr16(a)[13] * ptr16(a)[15]) << 1) + ptr16(a)[14] * ptr16(a)[14]
    x = ((ptr16(a)[0] * ptr16(a)[8] + ptr16(a)[1] * ptr16(a)[7] + ptr16(a)[2] * ptr16(a)[6] + ptr16(a)[3] * ptr16(a)[5]) << 1) + ptr16(a)[4] * ptr16(a)[4] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[8] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[10] * ptr16(a)[19] + ptr16(a)[11] * ptr16(a)[18] + ptr16(a)[12] * ptr16(a)[17] + ptr16(a)[13] * ptr16(a)[16] + ptr16(a)[14] * ptr16(a)[15]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[9] + ptr16(a)[1] * ptr16(a)[8] + ptr16(a)[2] * ptr16(a)[7] + ptr16(a)[3] * ptr16(a)[6] + ptr16(a)[4] * ptr16(a)[5]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[9] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[11] * ptr16(a)[19] + ptr16(a)[12] * ptr16(a)[18] + ptr16(a)[13] * ptr16(a)[17] + ptr16(a)[14] * ptr16(a)[16]) << 1) + ptr16(a)[15] * ptr16(a)[15]
    x = ((ptr16(a)[0] * ptr16(a)[10] + ptr16(a)[1] * ptr16(a)[9] + ptr16(a)[2] * ptr16(a)[8] + ptr16(a)[3] * ptr16(a)[7] + ptr16(a)[4] * ptr16(a)[6]) << 1) + ptr16(a)[5] * ptr16(a)[5] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[10] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[12] * ptr16(a)[19] + ptr16(a)[13] * ptr16(a)[18] + ptr16(a)[14] * ptr16(a)[17] + ptr16(a)[15] * ptr16(a)[16]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[11] + ptr16(a)[1] * ptr16(a)[10] + ptr16(a)[2] * ptr16(a)[9] + ptr16(a)[3] * ptr16(a)[8] + ptr16(a)[4] * ptr16(a)[7] + ptr16(a)[5] * ptr16(a)[6]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[11] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[13] * ptr16(a)[19] + ptr16(a)[14] * ptr16(a)[18] + ptr16(a)[15] * ptr16(a)[17]) << 1) + ptr16(a)[16] * ptr16(a)[16]
    x = ((ptr16(a)[0] * ptr16(a)[12] + ptr16(a)[1] * ptr16(a)[11] + ptr16(a)[2] * ptr16(a)[10] + ptr16(a)[3] * ptr16(a)[9] + ptr16(a)[4] * ptr16(a)[8] + ptr16(a)[5] * ptr16(a)[7]) << 1) + ptr16(a)[6] * ptr16(a)[6] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[12] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[14] * ptr16(a)[19] + ptr16(a)[15] * ptr16(a)[18] + ptr16(a)[16] * ptr16(a)[17]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[13] + ptr16(a)[1] * ptr16(a)[12] + ptr16(a)[2] * ptr16(a)[11] + ptr16(a)[3] * ptr16(a)[10] + ptr16(a)[4] * ptr16(a)[9] + ptr16(a)[5] * ptr16(a)[8] + ptr16(a)[6] * ptr16(a)[7]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[13] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[15] * ptr16(a)[19] + ptr16(a)[16] * ptr16(a)[18]) << 1) + ptr16(a)[17] * ptr16(a)[17]
    x = ((ptr16(a)[0] * ptr16(a)[14] + ptr16(a)[1] * ptr16(a)[13] + ptr16(a)[2] * ptr16(a)[12] + ptr16(a)[3] * ptr16(a)[11] + ptr16(a)[4] * ptr16(a)[10] + ptr16(a)[5] * ptr16(a)[9] + ptr16(a)[6] * ptr16(a)[8]) << 1) + ptr16(a)[7] * ptr16(a)[7] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[14] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[16] * ptr16(a)[19] + ptr16(a)[17] * ptr16(a)[18]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[15] + ptr16(a)[1] * ptr16(a)[14] + ptr16(a)[2] * ptr16(a)[13] + ptr16(a)[3] * ptr16(a)[12] + ptr16(a)[4] * ptr16(a)[11] + ptr16(a)[5] * ptr16(a)[10] + ptr16(a)[6] * ptr16(a)[9] + ptr16(a)[7] * ptr16(a)[8]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[15] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[17] * ptr16(a)[19]) << 1) + ptr16(a)[18] * ptr16(a)[18]
    x = ((ptr16(a)[0] * ptr16(a)[16] + ptr16(a)[1] * ptr16(a)[15] + ptr16(a)[2] * ptr16(a)[14] + ptr16(a)[3] * ptr16(a)[13] + ptr16(a)[4] * ptr16(a)[12] + ptr16(a)[5] * ptr16(a)[11] + ptr16(a)[6] * ptr16(a)[10] + ptr16(a)[7] * ptr16(a)[9]) << 1) + ptr16(a)[8] * ptr16(a)[8] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[16] = x & 8191
    c = x >> 13
    h = ((ptr16(a)[18] * ptr16(a)[19]) << 1)
    x = ((ptr16(a)[0] * ptr16(a)[17] + ptr16(a)[1] * ptr16(a)[16] + ptr16(a)[2] * ptr16(a)[15] + ptr16(a)[3] * ptr16(a)[14] + ptr16(a)[4] * ptr16(a)[13] + ptr16(a)[5] * ptr16(a)[12] + ptr16(a)[6] * ptr16(a)[11] + ptr16(a)[7] * ptr16(a)[10] + ptr16(a)[8] * ptr16(a)[9]) << 1) + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[17] = x & 8191
    c = x >> 13
    h = ptr16(a)[19] * ptr16(a)[19]
    x = ((ptr16(a)[0] * ptr16(a)[18] + ptr16(a)[1] * ptr16(a)[17] + ptr16(a)[2] * ptr16(a)[16] + ptr16(a)[3] * ptr16(a)[15] + ptr16(a)[4] * ptr16(a)[14] + ptr16(a)[5] * ptr16(a)[13] + ptr16(a)[6] * ptr16(a)[12] + ptr16(a)[7] * ptr16(a)[11] + ptr16(a)[8] * ptr16(a)[10]) << 1) + ptr16(a)[9] * ptr16(a)[9] + c + ((h & 8191) + q) * 608
    q = h >> 13
    ptr16(d)[18] = x & 8191
    c = x >> 13
    x = ((ptr16(a)[0] * ptr16(a)[19] + ptr16(a)[1] * ptr16(a)[18] + ptr16(a)[2] * ptr16(a)[17] + ptr16(a)[3] * ptr16(a)[16] + ptr16(a)[4] * ptr16(a)[15] + ptr16(a)[5] * ptr16(a)[14] + ptr16(a)[6] * ptr16(a)[13] + ptr16(a)[7] * ptr16(a)[12] + ptr16(a)[8] * ptr16(a)[11] + ptr16(a)[9] * ptr16(a)[10]) << 1) + c + q * 608
    ptr16(d)[19] = x & 255
    x = ptr16(d)[0] + (x >> 8) * 19
    ptr16(d)[0] = x & 8191
    x = ptr16(d)[1] + (x >> 13)
    ptr16(d)[1] = x & 8191
    ptr16(d)[2] = ptr16(d)[2] + (x >> 13)


@micropython.viper
def _add(a: int, b: int):
    # d = a + b (d: word 10 of slot a)
    d = a + ptr32(a)[10] - 65536
    x = ptr16(a)[0] + ptr16(b)[0]
    ptr16(d)[0] = x & 8191
    c = x >> 13
    x = ptr16(a)[1] + ptr16(b)[1] + c
    ptr16(d)[1] = x & 8191
    c = x >> 13
    x = ptr16(a)[2] + ptr16(b)[2] + c
    ptr16(d)[2] = x & 8191
    c = x >> 13
    x = ptr16(a)[3] + ptr16(b)[3] + c
    ptr16(d)[3] = x & 8191
    c = x >> 13
    x = ptr16(a)[4] + ptr16(b)[4] + c
    ptr16(d)[4] = x & 8191
    c = x >> 13
    x = ptr16(a)[5] + ptr16(b)[5] + c
    ptr16(d)[5] = x & 8191
    c = x >> 13
    x = ptr16(a)[6] + ptr16(b)[6] + c
    ptr16(d)[6] = x & 8191
    c = x >> 13
    x = ptr16(a)[7] + ptr16(b)[7] + c
    ptr16(d)[7] = x & 8191
    c = x >> 13
    x = ptr16(a)[8] + ptr16(b)[8] + c
    ptr16(d)[8] = x & 8191
    c = x >> 13
    x = ptr16(a)[9] + ptr16(b)[9] + c
    ptr16(d)[9] = x & 8191
    c = x >> 13
    x = ptr16(a)[10] + ptr16(b)[10] + c
    ptr16(d)[10] = x & 8191
    c = x >> 13
    x = ptr16(a)[11] + ptr16(b)[11] + c
    ptr16(d)[11] = x & 8191
    c = x >> 13
    x = ptr16(a)[12] + ptr16(b)[12] + c
    ptr16(d)[12] = x & 8191
    c = x >> 13
    x = ptr16(a)[13] + ptr16(b)[13] + c
    ptr16(d)[13] = x & 8191
    c = x >> 13
    x = ptr16(a)[14] + ptr16(b)[14] + c
    ptr16(d)[14] = x & 8191
    c = x >> 13
    x = ptr16(a)[15] + ptr16(b)[15] + c
    ptr16(d)[15] = x & 8191
    c = x >> 13
    x = ptr16(a)[16] + ptr16(b)[16] + c
    ptr16(d)[16] = x & 8191
    c = x >> 13
    x = ptr16(a)[17] + ptr16(b)[17] + c
    ptr16(d)[17] = x & 8191
    c = x >> 13
    x = ptr16(a)[18] + ptr16(b)[18] + c
    ptr16(d)[18] = x & 8191
    c = x >> 13
    x = ptr16(a)[19] + ptr16(b)[19] + c
    ptr16(d)[19] = x & 8191
    ptr16(d)[19] = x & 255
    x = ptr16(d)[0] + (x >> 8) * 19
    ptr16(d)[0] = x & 8191
    x = ptr16(d)[1] + (x >> 13)
    ptr16(d)[1] = x & 8191
    ptr16(d)[2] = ptr16(d)[2] + (x >> 13)


@micropython.viper
def _sub(a: int, b: int):
    # d = a - b (d: word 10 of slot a)
    d = a + ptr32(a)[10] - 65536
    y = ptr16(a)[0] + 16346 - ptr16(b)[0]
    ptr16(d)[0] = y & 8191
    k = y >> 13
    y = ptr16(a)[1] + 16382 - ptr16(b)[1] + k
    ptr16(d)[1] = y & 8191
    k = y >> 13
    y = ptr16(a)[2] + 16382 - ptr16(b)[2] + k
    ptr16(d)[2] = y & 8191
    k = y >> 13
    y = ptr16(a)[3] + 16382 - ptr16(b)[3] + k
    ptr16(d)[3] = y & 8191
    k = y >> 13
    y = ptr16(a)[4] + 16382 - ptr16(b)[4] + k
    ptr16(d)[4] = y & 8191
    k = y >> 13
    y = ptr16(a)[5] + 16382 - ptr16(b)[5] + k
    ptr16(d)[5] = y & 8191
    k = y >> 13
    y = ptr16(a)[6] + 16382 - ptr16(b)[6] + k
    ptr16(d)[6] = y & 8191
    k = y >> 13
    y = ptr16(a)[7] + 16382 - ptr16(b)[7] + k
    ptr16(d)[7] = y & 8191
    k = y >> 13
    y = ptr16(a)[8] + 16382 - ptr16(b)[8] + k
    ptr16(d)[8] = y & 8191
    k = y >> 13
    y = ptr16(a)[9] + 16382 - ptr16(b)[9] + k
    ptr16(d)[9] = y & 8191
    k = y >> 13
    y = ptr16(a)[10] + 16382 - ptr16(b)[10] + k
    ptr16(d)[10] = y & 8191
    k = y >> 13
    y = ptr16(a)[11] + 16382 - ptr16(b)[11] + k
    ptr16(d)[11] = y & 8191
    k = y >> 13
    y = ptr16(a)[12] + 16382 - ptr16(b)[12] + k
    ptr16(d)[12] = y & 8191
    k = y >> 13
    y = ptr16(a)[13] + 16382 - ptr16(b)[13] + k
    ptr16(d)[13] = y & 8191
    k = y >> 13
    y = ptr16(a)[14] + 16382 - ptr16(b)[14] + k
    ptr16(d)[14] = y & 8191
    k = y >> 13
    y = ptr16(a)[15] + 16382 - ptr16(b)[15] + k
    ptr16(d)[15] = y & 8191
    k = y >> 13
    y = ptr16(a)[16] + 16382 - ptr16(b)[16] + k
    ptr16(d)[16] = y & 8191
    k = y >> 13
    y = ptr16(a)[17] + 16382 - ptr16(b)[17] + k
    ptr16(d)[17] = y & 8191
    k = y >> 13
    y = ptr16(a)[18] + 16382 - ptr16(b)[18] + k
    ptr16(d)[18] = y & 8191
    k = y >> 13
    y = ptr16(a)[19] + 16382 - ptr16(b)[19] + k
    ptr16(d)[19] = y & 8191
    y -= 15872
    ptr16(d)[19] = y & 255
    y = ptr16(d)[0] + (y >> 8) * 19
    ptr16(d)[0] = y & 8191
    y = ptr16(d)[1] + (y >> 13)
    ptr16(d)[1] = y & 8191
    ptr16(d)[2] = ptr16(d)[2] + (y >> 13)


@micropython.viper
def _addsub(a: int, b: int):
    # d = a + b, e = a - b (d, e: words 10, 11 of slot a)
    d = a + ptr32(a)[10] - 65536
    e = a + ptr32(a)[11] - 65536
    x = ptr16(a)[0] + ptr16(b)[0]
    y = ptr16(a)[0] + 16346 - ptr16(b)[0]
    ptr16(d)[0] = x & 8191
    c = x >> 13
    ptr16(e)[0] = y & 8191
    k = y >> 13
    x = ptr16(a)[1] + ptr16(b)[1] + c
    y = ptr16(a)[1] + 16382 - ptr16(b)[1] + k
    ptr16(d)[1] = x & 8191
    c = x >> 13
    ptr16(e)[1] = y & 8191
    k = y >> 13
    x = ptr16(a)[2] + ptr16(b)[2] + c
    y = ptr16(a)[2] + 16382 - ptr16(b)[2] + k
    ptr16(d)[2] = x & 8191
    c = x >> 13
    ptr16(e)[2] = y & 8191
    k = y >> 13
    x = ptr16(a)[3] + ptr16(b)[3] + c
    y = ptr16(a)[3] + 16382 - ptr16(b)[3] + k
    ptr16(d)[3] = x & 8191
    c = x >> 13
    ptr16(e)[3] = y & 8191
    k = y >> 13
    x = ptr16(a)[4] + ptr16(b)[4] + c
    y = ptr16(a)[4] + 16382 - ptr16(b)[4] + k
    ptr16(d)[4] = x & 8191
    c = x >> 13
    ptr16(e)[4] = y & 8191
    k = y >> 13
    x = ptr16(a)[5] + ptr16(b)[5] + c
    y = ptr16(a)[5] + 16382 - ptr16(b)[5] + k
    ptr16(d)[5] = x & 8191
    c = x >> 13
    ptr16(e)[5] = y & 8191
    k = y >> 13
    x = ptr16(a)[6] + ptr16(b)[6] + c
    y = ptr16(a)[6] + 16382 - ptr16(b)[6] + k
    ptr16(d)[6] = x & 8191
    c = x >> 13
    ptr16(e)[6] = y & 8191
    k = y >> 13
    x = ptr16(a)[7] + ptr16(b)[7] + c
    y = ptr16(a)[7] + 16382 - ptr16(b)[7] + k
    ptr16(d)[7] = x & 8191
    c = x >> 13
    ptr16(e)[7] = y & 8191
    k = y >> 13
    x = ptr16(a)[8] + ptr16(b)[8] + c
    y = ptr16(a)[8] + 16382 - ptr16(b)[8] + k
    ptr16(d)[8] = x & 8191
    c = x >> 13
    ptr16(e)[8] = y & 8191
    k = y >> 13
    x = ptr16(a)[9] + ptr16(b)[9] + c
    y = ptr16(a)[9] + 16382 - ptr16(b)[9] + k
    ptr16(d)[9] = x & 8191
    c = x >> 13
    ptr16(e)[9] = y & 8191
    k = y >> 13
    x = ptr16(a)[10] + ptr16(b)[10] + c
    y = ptr16(a)[10] + 16382 - ptr16(b)[10] + k
    ptr16(d)[10] = x & 8191
    c = x >> 13
    ptr16(e)[10] = y & 8191
    k = y >> 13
    x = ptr16(a)[11] + ptr16(b)[11] + c
    y = ptr16(a)[11] + 16382 - ptr16(b)[11] + k
    ptr16(d)[11] = x & 8191
    c = x >> 13
    ptr16(e)[11] = y & 8191
    k = y >> 13
    x = ptr16(a)[12] + ptr16(b)[12] + c
    y = ptr16(a)[12] + 16382 - ptr16(b)[12] + k
    ptr16(d)[12] = x & 8191
    c = x >> 13
    ptr16(e)[12] = y & 8191
    k = y >> 13
    x = ptr16(a)[13] + ptr16(b)[13] + c
    y = ptr16(a)[13] + 16382 - ptr16(b)[13] + k
    ptr16(d)[13] = x & 8191
    c = x >> 13
    ptr16(e)[13] = y & 8191
    k = y >> 13
    x = ptr16(a)[14] + ptr16(b)[14] + c
    y = ptr16(a)[14] + 16382 - ptr16(b)[14] + k
    ptr16(d)[14] = x & 8191
    c = x >> 13
    ptr16(e)[14] = y & 8191
    k = y >> 13
    x = ptr16(a)[15] + ptr16(b)[15] + c
    y = ptr16(a)[15] + 16382 - ptr16(b)[15] + k
    ptr16(d)[15] = x & 8191
    c = x >> 13
    ptr16(e)[15] = y & 8191
    k = y >> 13
    x = ptr16(a)[16] + ptr16(b)[16] + c
    y = ptr16(a)[16] + 16382 - ptr16(b)[16] + k
    ptr16(d)[16] = x & 8191
    c = x >> 13
    ptr16(e)[16] = y & 8191
    k = y >> 13
    x = ptr16(a)[17] + ptr16(b)[17] + c
    y = ptr16(a)[17] + 16382 - ptr16(b)[17] + k
    ptr16(d)[17] = x & 8191
    c = x >> 13
    ptr16(e)[17] = y & 8191
    k = y >> 13
    x = ptr16(a)[18] + ptr16(b)[18] + c
    y = ptr16(a)[18] + 16382 - ptr16(b)[18] + k
    ptr16(d)[18] = x & 8191
    c = x >> 13
    ptr16(e)[18] = y & 8191
    k = y >> 13
    x = ptr16(a)[19] + ptr16(b)[19] + c
    y = ptr16(a)[19] + 16382 - ptr16(b)[19] + k
    ptr16(d)[19] = x & 8191
    ptr16(e)[19] = y & 8191
    ptr16(d)[19] = x & 255
    x = ptr16(d)[0] + (x >> 8) * 19
    ptr16(d)[0] = x & 8191
    x = ptr16(d)[1] + (x >> 13)
    ptr16(d)[1] = x & 8191
    ptr16(d)[2] = ptr16(d)[2] + (x >> 13)
    y -= 15872
    ptr16(e)[19] = y & 255
    y = ptr16(e)[0] + (y >> 8) * 19
    ptr16(e)[0] = y & 8191
    y = ptr16(e)[1] + (y >> 13)
    ptr16(e)[1] = y & 8191
    ptr16(e)[2] = ptr16(e)[2] + (y >> 13)


@micropython.viper
def _e24(a: int, b: int):
    # e = a + 121665 b (e: word 11 of slot a), E24's second half
    e = a + ptr32(a)[11] - 65536
    x = ptr16(a)[0] + ptr16(b)[0] * 121665
    ptr16(e)[0] = x & 8191
    c = x >> 13
    x = ptr16(a)[1] + ptr16(b)[1] * 121665 + c
    ptr16(e)[1] = x & 8191
    c = x >> 13
    x = ptr16(a)[2] + ptr16(b)[2] * 121665 + c
    ptr16(e)[2] = x & 8191
    c = x >> 13
    x = ptr16(a)[3] + ptr16(b)[3] * 121665 + c
    ptr16(e)[3] = x & 8191
    c = x >> 13
    x = ptr16(a)[4] + ptr16(b)[4] * 121665 + c
    ptr16(e)[4] = x & 8191
    c = x >> 13
    x = ptr16(a)[5] + ptr16(b)[5] * 121665 + c
    ptr16(e)[5] = x & 8191
    c = x >> 13
    x = ptr16(a)[6] + ptr16(b)[6] * 121665 + c
    ptr16(e)[6] = x & 8191
    c = x >> 13
    x = ptr16(a)[7] + ptr16(b)[7] * 121665 + c
    ptr16(e)[7] = x & 8191
    c = x >> 13
    x = ptr16(a)[8] + ptr16(b)[8] * 121665 + c
    ptr16(e)[8] = x & 8191
    c = x >> 13
    x = ptr16(a)[9] + ptr16(b)[9] * 121665 + c
    ptr16(e)[9] = x & 8191
    c = x >> 13
    x = ptr16(a)[10] + ptr16(b)[10] * 121665 + c
    ptr16(e)[10] = x & 8191
    c = x >> 13
    x = ptr16(a)[11] + ptr16(b)[11] * 121665 + c
    ptr16(e)[11] = x & 8191
    c = x >> 13
    x = ptr16(a)[12] + ptr16(b)[12] * 121665 + c
    ptr16(e)[12] = x & 8191
    c = x >> 13
    x = ptr16(a)[13] + ptr16(b)[13] * 121665 + c
    ptr16(e)[13] = x & 8191
    c = x >> 13
    x = ptr16(a)[14] + ptr16(b)[14] * 121665 + c
    ptr16(e)[14] = x & 8191
    c = x >> 13
    x = ptr16(a)[15] + ptr16(b)[15] * 121665 + c
    ptr16(e)[15] = x & 8191
    c = x >> 13
    x = ptr16(a)[16] + ptr16(b)[16] * 121665 + c
    ptr16(e)[16] = x & 8191
    c = x >> 13
    x = ptr16(a)[17] + ptr16(b)[17] * 121665 + c
    ptr16(e)[17] = x & 8191
    c = x >> 13
    x = ptr16(a)[18] + ptr16(b)[18] * 121665 + c
    ptr16(e)[18] = x & 8191
    c = x >> 13
    x = ptr16(a)[19] + ptr16(b)[19] * 121665 + c
    ptr16(e)[19] = x & 8191
    ptr16(e)[19] = x & 255
    x = ptr16(e)[0] + (x >> 8) * 19
    ptr16(e)[0] = x & 8191
    x = ptr16(e)[1] + (x >> 13)
    ptr16(e)[1] = x & 8191
    ptr16(e)[2] = ptr16(e)[2] + (x >> 13)


# On ARM ports the products in Thumb assembler (fe_thumb.py: 4 instructions a
# product, not 10), where that module is there and compiles; _run calls
# whichever _mul and _sqr are the module's globals. Elsewhere it is not tried
# (the unix port would parse its 4,000 lines only to refuse them: 0.2 s).
PRODUCTS = "viper"
if have_thumb():
    try:
        from ussh.crypto.fe_thumb import _mul, _sqr, _add, _sub, _addsub, _e24  # noqa: F811

        PRODUCTS = "thumb"
    except Exception:  # not installed, or a port without the inline assembler: the viper ones above
        pass


@micropython.viper
def _run(base: int, prog: ptr8, src: ptr8):
    # the program prog on the slots at base (slot 0 the scratch); src: the
    # bytes of UNPACK. Where an operation's outputs go is in words 10 and 11
    # of its slot a, for the functions above: as d - a + 2^16 (positive, 32
    # bits: a 64-bit port's addresses would not fit).
    pc = 0
    while True:
        op = int(prog[pc])
        if op == 255:
            break
        a = base + 48 * int(prog[pc + 1])
        b = base + 48 * int(prog[pc + 2])
        d = base + 48 * int(prog[pc + 3])
        n = int(prog[pc + 4])
        e = base + 48 * n
        pc += 5
        w = ptr32(a)
        if op == 2 or op == 3:
            # MUL, SQN: into the scratch when d is an operand, then copied
            t = ptr32(d)
            if op == 2 and d != a and d != b:
                w[10] = d - a + 65536
                _mul(a, b)
                n = 0
            elif op == 2:
                w[10] = base - a + 65536
                _mul(a, b)
                n = 1
            while n > 0:
                if op == 3:
                    w[10] = base - a + 65536
                    _sqr(a)
                    a = d
                    w = ptr32(a)
                w = ptr32(base)
                i = 0
                while i < 10:
                    t[i] = w[i]
                    i += 1
                w = ptr32(a)
                n -= 1
        elif op == 6:
            # bit 13 i of the 255-bit number at src + h is bit (13 i) & 7 of byte (13 i) >> 3
            o = ptr16(d)
            h = 0
            while h < 64:
                i = 0
                while i < 19:
                    j = h + ((13 * i) >> 3)
                    x = (int(src[j]) | (int(src[j + 1]) << 8) | (int(src[j + 2]) << 16)) >> ((13 * i) & 7)
                    o[i] = x & 8191
                    i += 1
                o[19] = ((int(src[h + 30]) | (int(src[h + 31]) << 8)) >> 7) & 255
                o = ptr16(e)
                h += 32
        else:
            w[10] = d - a + 65536
            w[11] = e - a + 65536
            if op == 0:
                _addsub(a, b)
            elif op == 4:
                _add(a, b)
            else:
                _sub(a, b)
                if op == 1:
                    _e24(a, d)  # then e = a + 121665 d


@micropython.viper
def _ladder(base: int, prog, k: ptr8):
    # RFC 7748 section 5: bits 254..0 of the clamped scalar k, each a masked
    # cswap of (x_2, z_2) = slots 2, 3 with (x_3, z_3) = slots 4, 5 (words
    # 24..47 and 48..71) and one run of prog, the ladder step
    f = ptr32(base)
    swap = 0
    bit = 254
    while bit >= -1:
        kt = 0
        if bit >= 0:
            kt = (int(k[bit >> 3]) >> (bit & 7)) & 1
        swap ^= kt
        m = 0 - swap
        i = 24
        while i < 48:
            v = (f[i] ^ f[i + 24]) & m
            f[i] = f[i] ^ v
            f[i + 24] = f[i + 24] ^ v
            i += 1
        swap = kt
        if bit >= 0:
            _run(base, prog, k)
        bit -= 1


def run(prog, src=b""):
    """Runs prog (bytes: (op, a, b, d, e) instructions, END last) on F's slots."""
    _run(BASE, prog, src)


def put(s, x, t=0, y=0):
    """Slot s = x (and slot t = y): ints, 0 <= x, y < 2^255."""
    _run(BASE, bytes((UNPACK, 0, 0, s, t, END)), x.to_bytes(32, "little") + y.to_bytes(32, "little"))


def get(s):
    """Slot s as an int mod p."""
    f = F
    o = 48 * s + 38
    x = 0
    while o >= 48 * s:
        x = (x << 13) + (f[o] | (f[o + 1] << 8))  # + not |: a limb may be 2^13
        o -= 2
    return x % P


def ladder(prog, k):
    _ladder(BASE, prog, k)
