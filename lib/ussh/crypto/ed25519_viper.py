# Ed25519's point arithmetic (RFC 8032 section 5.1.4) on fe_viper.py's field:
# the fast path of ed25519.py where the port has a native emitter. Every
# point operation is a small program of field operations run by
# fe_viper._run; which one runs, and on which table entry, is decided here
# in Python from the scalars' digits, as ed25519_pure._sum does with ints (the
# same steps, the same tables). ed25519_pure.py keeps the int code as the
# fallback and as the oracle the tests check this against.
#
# Slots: 1..4 the sum (X, Y, Z, T), 5..12 temporaries, 13 and 14 an affine
# table entry (x, y) as UNPACK puts it, 15 2d, 16 d, 17 one, 18..33 and
# 34..49 four cached points each (Y+X, Y-X, 2dT, 2Z: [1]P, [3]P, [5]P, [7]P
# for the two points of a verification), 50..53 an affine entry cached,
# 50..56 the exponentiations' temporaries.
from ussh.crypto import fe_viper as fe
from ussh.crypto.fe_viper import ADDSUB, MUL, SQN, ADD, SUB, UNPACK, END, P

_X, _Y, _Z, _T = 1, 2, 3, 4
_D2, _D, _ONE = 15, 16, 17


def setup(d, d2):
    """The constants' slots (2d, d, 1): once, before the first use (no
    other user of fe_viper's buffer writes them)."""
    fe.put(_D2, d2, _D, d)
    fe.put(_ONE, 1)


def _prog(*ops):
    return bytes(ops) + b"\xff"


# RFC 8032 section 5.1.4 doubling: A = X^2, B = Y^2, C = 2 Z^2, H = A + B,
# E = H - (X + Y)^2, G = A - B, F = C + G; X = E F, Y = G H, Z = F G, T = E H
_DBL = _prog(
    SQN, _X, _X, 5, 1, SQN, _Y, _Y, 6, 1, SQN, _Z, _Z, 7, 1,
    ADD, _X, _Y, 8, 0, SQN, 8, 8, 8, 1,
    ADDSUB, 5, 6, 9, 10,  # H, G
    SUB, 9, 8, 11, 0,  # E
    ADD, 7, 7, 7, 0, ADD, 7, 10, 12, 0,  # F
    MUL, 11, 12, _X, 0, MUL, 10, 9, _Y, 0, MUL, 12, 10, _Z, 0,
)
_DBL_T = _DBL[:-1] + _prog(MUL, 11, 9, _T, 0)


def _add(p, m, t, z, neg, need_t):
    # the sum plus the cached point (p, m, t, z) = (Y+X, Y-X, 2dT, 2Z), or
    # minus it (neg: (Y-X, Y+X, -2dT, 2Z), so p and m trade places, and so
    # do D + C and D - C): A = (Y-X) m, B = (Y+X) p, C = T t, D = Z z (z = 0: D = 2Z
    # for an affine entry), E = B - A, F = D - C, G = D + C, H = B + A;
    # X = E F, Y = G H, Z = F G, T = E H (only when need_t: another
    # addition follows)
    g, f = 5, 6
    if neg:
        p, m = m, p
        g, f = f, g  # the sums' places: D + C is F now, D - C is G
    ops = [ADDSUB, _Y, _X, 5, 6, MUL, 6, m, 7, 0, MUL, 5, p, 8, 0, MUL, _T, t, 9, 0]
    ops += [MUL, _Z, z, 10, 0] if z else [ADD, _Z, _Z, 10, 0]
    ops += [ADDSUB, 8, 7, 11, 12, ADDSUB, 10, 9, g, f, MUL, 12, 6, _X, 0, MUL, 5, 11, _Y, 0, MUL, 6, 5, _Z, 0]
    if need_t:
        ops += [MUL, 12, 11, _T, 0]
    return _prog(*ops)


# an affine entry (x, y) of the tables: UNPACK to 13, 14, then cached in
# 50..53 (y + x, y - x, 2d x y) and added with D = 2Z
_AFF = [
    _prog(UNPACK, 0, 0, 13, 14, ADDSUB, 14, 13, 50, 51, MUL, 13, 14, 52, 0, MUL, 52, _D2, 53, 0)[:-1]
    + _add(50, 51, 53, 0, neg, need_t)
    for neg in (0, 1)
    for need_t in (0, 1)
]
# the addition of a cached point of slots 18..49: one program, its slot numbers set in place for
# each (a dict of the programs made took 6 KB of a small heap through a login's verification).
# Where _add puts them is read from two of its programs with marker slots (200..203), added and
# subtracted: p's, m's, t's and z's places, the sums' places (the bytes that differ and are
# not markers), and where the T product starts (END there when no T is needed)
_ADD_T = bytearray(_add(0, 0, 0, 1, 0, 1))
_a = _add(200, 201, 202, 203, 0, 1)
_b = _add(200, 201, 202, 203, 1, 1)
_AT = bytes([_a.find(b"\xc8"), _a.find(b"\xc9"), _a.find(b"\xca"), _a.find(b"\xcb")]  # 200..203 (find(int): not on 1.25)
            + [i for i in range(len(_a)) if _a[i] != _b[i] and _a[i] < 200]
            + [len(_add(200, 201, 202, 203, 0, 0)) - 1])
del _a, _b


def _cached(base, j, neg, need_t):
    # the program that adds (neg: subtracts) cached point j of the table at slot base; its
    # callers run it at once (fe.run), before the next call sets the same bytes again
    s = base + 4 * j
    q = _ADD_T
    at = _AT
    if neg:  # p and m trade places, and so do D + C and D - C (_add)
        q[at[0]] = s + 1
        q[at[1]] = s
        q[at[4]] = 6
        q[at[5]] = 5
    else:
        q[at[0]] = s
        q[at[1]] = s + 1
        q[at[4]] = 5
        q[at[5]] = 6
    q[at[2]] = s + 2
    q[at[3]] = s + 3
    q[at[6]] = MUL if need_t else END
    return q


def _to_cached(s):
    # the sum as a cached point in slots s..s+3
    return _prog(ADDSUB, _Y, _X, s, s + 1, MUL, _T, _D2, s + 2, 0, ADD, _Z, _Z, s + 3, 0)


def _pow(z, o, last, tail):
    # o = z^(2^250 - 1) then squared `last` times and times slot tail (as
    # curve25519._pow_2_250_1: tail = z^11 (slot 52) after 5 squarings is
    # 1/z, tail = z after 2 is z^((p - 5) / 8)); temporaries 50..56
    a, b, c, d, e, f, g = 50, 51, 52, 53, 54, 55, 56
    return _prog(
        SQN, z, z, a, 1, SQN, a, a, b, 2, MUL, b, z, b, 0, MUL, b, a, c, 0,
        SQN, c, c, d, 1, MUL, d, b, d, 0,  # z^(2^5 - 1)
        SQN, d, d, e, 5, MUL, e, d, e, 0,  # 2^10 - 1
        SQN, e, e, f, 10, MUL, f, e, f, 0,  # 2^20 - 1
        SQN, f, f, g, 20, MUL, g, f, g, 0,  # 2^40 - 1
        SQN, g, g, g, 10, MUL, g, e, g, 0,  # 2^50 - 1
        SQN, g, g, f, 50, MUL, f, g, f, 0,  # 2^100 - 1
        SQN, f, f, e, 100, MUL, e, f, e, 0,  # 2^200 - 1
        SQN, e, e, e, 50, MUL, e, g, e, 0,  # 2^250 - 1
        SQN, e, e, e, last, MUL, e, tail, o, 0,
    )


# 1/Z into 5, then x = X/Z into 6, y = Y/Z into 7; 5 = 1/(Z - Y), 6 = Z + Y:
# u = (Z + Y) / (Z - Y) into 7 for x25519_base
_ENC = _pow(_Z, 5, 5, 52)[:-1] + _prog(MUL, _X, 5, 6, 0, MUL, _Y, 5, 7, 0)
_U = _prog(ADDSUB, _Z, _Y, 6, 8)[:-1] + _pow(8, 5, 5, 52)[:-1] + _prog(MUL, 6, 5, 7, 0)

# RFC 8032 section 5.1.3 from y in slot 5: u = y^2 - 1 (7), v = d y^2 + 1
# (8), x = u v^3 (u v^7)^((p - 5) / 8) (12), v x^2 (9)
_DEC = _prog(
    SQN, 5, 5, 6, 1, SUB, 6, _ONE, 7, 0, MUL, 6, _D, 8, 0, ADD, 8, _ONE, 8, 0,
    SQN, 8, 8, 9, 1, MUL, 9, 8, 9, 0, MUL, 7, 9, 10, 0,  # u v^3
    SQN, 9, 9, 11, 1, MUL, 11, 8, 11, 0, MUL, 7, 11, 11, 0,  # u v^7
)[:-1] + _pow(11, 12, 2, 11)[:-1] + _prog(MUL, 10, 12, 12, 0, SQN, 12, 12, 9, 1, MUL, 9, 8, 9, 0)


def decode_parts(y):
    """(u, v x^2, x) of RFC 8032 section 5.1.3 for y < p (ints mod p)."""
    fe.put(5, y)
    fe.run(_DEC)
    return fe.get(7), fe.get(9), fe.get(12)


def odd_multiples(x, y, s):
    """[1]Q, [3]Q, [5]Q, [7]Q for the point Q = (x, y) (affine ints),
    cached in slots s..s+15."""
    put_point(x, y)
    fe.run(_to_cached(s))
    fe.run(_DBL_T)
    fe.run(_to_cached(50))  # [2]Q
    put_point(x, y)
    for j in (1, 2, 3):
        fe.run(_cached(50, 0, 0, 1))
        fe.run(_to_cached(s + 4 * j))


def put_point(x, y):
    # the sum = (x, y, 1, x y)
    fe.put(_X, x, _Y, y)
    fe.put(_Z, 1)
    fe.run(_prog(MUL, _X, _Y, _T, 0))


def sum_terms(terms, top):
    """ed25519_pure._sum's Straus sum on the slots: terms (digits, table) with an
    affine table (bytes-like, 64 bytes an entry) or the first slot of four
    cached points (an int); leaves (X, Y, Z) in slots 1..3."""
    fe.put(_X, 0, _Y, 1)
    fe.put(_Z, 1, _T, 0)
    run = fe._run  # (the viper function itself: a Python call less per point)
    base = fe.BASE
    none = b""
    i = top
    # (the columns walked as ed25519_pure._sum walks them, on purpose: that
    # module never loads beside this one, and a shared loop would cost a
    # call per column in the login)
    while i >= 0:
        n = 0
        for e, _ in terms:
            if e[i]:
                n += 1
        if i != top:
            run(base, _DBL_T if n else _DBL, none)
        for e, tab in terms:
            v = e[i]
            if v:
                j = abs(v - 32) >> 1
                n -= 1
                neg = v < 32
                if type(tab) is int:
                    run(base, _cached(tab, j, neg, n > 0), none)
                else:
                    j <<= 6
                    run(base, _AFF[2 * neg + (n > 0)], tab[j : j + 64])
        i -= 1


def encode_sum(neg):
    """RFC 8032 section 5.1.2 encoding of the sum (negated when neg)."""
    fe.run(_ENC)
    x = fe.get(6)
    if neg:
        x = (P - x) % P
    return (fe.get(7) | ((x & 1) << 255)).to_bytes(32, "little")


def u_of_sum():
    """The Montgomery u = (Z + Y) / (Z - Y) of the sum (RFC 7748 section
    4.1), 32 bytes little-endian."""
    fe.run(_U)
    return fe.get(7).to_bytes(32, "little")


def sum_is_identity():
    """Whether the sum is the neutral point (X = 0, Y = Z)."""
    fe.run(_prog(SUB, _Y, _Z, 5, 0))
    return fe.get(_X) == 0 and fe.get(5) == 0
