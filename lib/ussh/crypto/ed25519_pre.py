# Ed25519 verification (RFC 8032 §5.1.7) under public keys known ahead, the
# users' keys in authorized_keys, for the portable int code (ed25519_pure.py).
# prepare() decodes such a key A and builds its comb tables, the same two
# tables of 16 affine points that ed25519_tab.py holds for B (and their 2*d*x*y), while the
# server is idle (driver.warm): 3 KB each, at most _MAX keys. A
# signature under a prepared key is then checked with one comb for both
# scalars: [8]([S]B - [k]A) against [8]R, 28 doublings and 104 additions in
# one chain, where ed25519_verify's general path decodes A, builds its odd
# multiples and runs 131 doublings. The equation is ed25519.py's, the
# cofactored one of RFC 8032 §5.1.7; R is decoded (and refused) as there.
# Optional: without this module every key takes the general path.
from ussh.crypto import ed25519 as _e, ed25519_pure as _i
from ussh.crypto.curve25519 import p, _MASK

_MAX = 4  # keys prepared at most (3 KB of tables each)


def _double(P1):
    # RFC 8032 §5.1.4 doubling, extended coordinates (T too), each
    # coordinate folded twice as in ed25519_pure._sum, whose loop writes
    # the same steps out rather than call this (a call per column there
    # would cost the login more than the arithmetic)
    X, Y, Z, _ = P1
    M = _MASK
    A = X * X
    A = (A & M) + 19 * (A >> 255)
    B = Y * Y
    B = (B & M) + 19 * (B >> 255)
    C = Z * Z
    C = (C & M) + 19 * (C >> 255)
    H = A + B
    E = X + Y
    E = E * E
    E = H - (E & M) - 19 * (E >> 255)
    G = A - B
    F = C + C + G
    out = []
    for x in (E * F, G * H, F * G, E * H):
        x = (x & M) + 19 * (x >> 255)
        out.append((x & M) + 19 * (x >> 255))
    return out


def comb_tables(P1):
    """The comb tables of the point P1 (extended), laid out as ed25519.py's
    for B: with G_j = [2^(26*j)]P1, entry u (0..15) of table g (0, 1) is
    G_5g + the sum over j = 1..4 of (+G_(5g+j) if bit j-1 of u else
    -G_(5g+j)); affine x || y, 32 bytes little-endian each, one inversion
    for all 32 points."""
    G = []
    for i in range(236):
        if i % 26 == 0:
            G.append(P1)
        if i < 235:
            P1 = _double(P1)
    pts = []
    for g in (0, 5):
        e = G[g]
        D = []
        for j in range(1, 5):
            X, Y, Z, T = G[g + j]
            e = _i._add(e, (-X, Y, Z, -T))
            D.append(_double(G[g + j]))
        t = [e]
        for A in D:
            t += [_i._add(q, A) for q in t]
        pts += t
    T = bytearray(64 * 32)
    _i._affine(T, [64 * i for i in range(32)], pts)
    m = memoryview(T)
    return [_i._with_t(m[:1024]), _i._with_t(m[1024:])]


def prepare(pub):
    """Builds the tables of the 32-byte public key pub (kept until _MAX
    others came after it); False for a string that is no point."""
    pub = bytes(pub)
    if pub in _e._pre:
        return True
    A = _e._decode(pub)
    if A is None:
        return False
    while len(_e._pre) >= _MAX:
        _e._pre.pop(next(iter(_e._pre)))
    _e._pre[pub] = comb_tables(A)
    _i._table_t()  # B's combs with 2*d*x*y too (1 KB, once), for check() and signing
    _e._pre_check = check
    return True


def prepare_entries(entries):
    """prepare() for the ssh-ed25519 keys among authorized_keys entries
    (authkeys.Entry), the first _MAX; only where ed25519.py verifies with
    its ints (the viper path has its own, and gains nothing)."""
    if _e._fast:
        return
    n = 0
    try:
        for e in entries:
            if n < _MAX and e.algorithm == b"ssh-ed25519" and len(e.blob) == 51:
                n += prepare(e.blob[19:])
    except MemoryError:
        # a heap too small for them (a board loading ussh from .mpy): none is kept, and
        # verification takes the general path, as without this module
        _e._pre.clear()


def _flip(e):
    # the comb digits of -k from those of k (ed25519._comb_digits: 32 + s*(2u + 1), never 0)
    return bytes(64 - x for x in e)


def check(tabs, S, R, k):
    """True when [8][S]B = [8]R + [8][k]A, with tabs = comb_tables(A), R
    decoded (extended), S < L and k < L."""
    # [S]B = (-1)^n [S']B from _comb_digits (S' = S or L - S); -[k]A the same
    # way from k's digits, every digit's sign flipped when n = 0. A factor 8:
    # three columns of zero digits below the comb's 26.
    n, eS = _e._comb_digits(S)
    if n:
        eS = _flip(eS)
    n, ek = _e._comb_digits(k)
    if not n:
        ek = _flip(ek)
    z = bytes(3)
    T = _i._table_t()
    X, Y, Z = _i._sum(((z + eS[:26], T[1]), (z + eS[26:], T[3]), (z + ek[:26], tabs[0]), (z + ek[26:], tabs[1])), 28)
    for _ in range(3):
        R = _i._add(R, R)
    x, y, zr, _ = R
    return (X * zr - x * Z) % p == 0 and (Y * zr - y * Z) % p == 0
