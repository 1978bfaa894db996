"""Writes lib/ussh/crypto/fe_viper.py: arithmetic in GF(2^255 - 19) as MicroPython viper code,
with the field multiply and square written out limb by limb (too long to type, too regular to
get wrong by machine). `make test` checks the file is current (host_tests/test_fe_viper.py).

usage: python tools/gen_fe_viper.py [--check]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "lib", "ussh", "crypto", "fe_viper.py")
N = 20  # limbs of 13 bits


def col(k, term):
    # the products a_i * b_j with i + j = k, as viper source
    return [term(i, k - i) for i in range(N) if 0 <= k - i < N]


def mul_terms(i, j):
    return "ptr16(a)[%d] * ptr16(b)[%d]" % (i, j)


def lin(kind):
    # a + b (ADD), a - b as a + 2p - b (SUB; 2p's limbs, 16382 but 16346 and 510 at the
    # ends: the -36 and -15872, exceed any stored limb), both (ADDSUB: d, e), limb by limb,
    # each limb of a and b read before the outputs' limb is written
    out = []
    for i in range(N):
        if kind in ("add", "addsub"):
            out.append("    x = ptr16(a)[%d] + ptr16(b)[%d]%s" % (i, i, " + c" if i else ""))
        if kind in ("sub", "addsub"):
            out.append("    y = ptr16(a)[%d] + %d - ptr16(b)[%d]%s" % (i, 16382 - 36 * (i == 0), i, " + k" if i else ""))
        if kind in ("add", "addsub"):
            out.append("    ptr16(d)[%d] = x & 8191" % i)
            if i < N - 1:
                out.append("    c = x >> 13")
        if kind in ("sub", "addsub"):
            out.append("    ptr16(%s)[%d] = y & 8191" % ("e" if kind == "addsub" else "d", i))
            if i < N - 1:
                out.append("    k = y >> 13")
    if kind in ("add", "addsub"):
        out += fold("d", "x")
    if kind in ("sub", "addsub"):
        out.append("    y -= 15872")
        out += fold("e" if kind == "addsub" else "d", "y")
    return "\n".join(out) + "\n"


def fold(o, x):
    # from bit 255 up (limb 19's bits 8..) back times 19 into limb 0 (2^255 = 19 mod p),
    # carried on into limbs 1 and 2
    return ["    ptr16(%s)[19] = %s & 255" % (o, x),
            "    %s = ptr16(%s)[0] + (%s >> 8) * 19" % (x, o, x),
            "    ptr16(%s)[0] = %s & 8191" % (o, x),
            "    %s = ptr16(%s)[1] + (%s >> 13)" % (x, o, x),
            "    ptr16(%s)[1] = %s & 8191" % (o, x),
            "    ptr16(%s)[2] = ptr16(%s)[2] + (%s >> 13)" % (o, o, x)]


def sq_col(k):
    # column k of a square: the pairs i < j once, doubled, and a_(k/2)^2
    pairs = ["ptr16(a)[%d] * ptr16(a)[%d]" % (i, k - i) for i in range(N) if i < k - i < N]
    s = ""
    if pairs:
        s = "((%s) << 1)" % " + ".join(pairs)
    if k % 2 == 0 and k // 2 < N:
        m = k // 2
        s += (" + " if s else "") + "ptr16(a)[%d] * ptr16(a)[%d]" % (m, m)
    return s or "0"


def body(colsrc):
    # limb k: column k + 608 times column k + 20 (2^260 = 608 mod p), the latter split
    # into its low 13 bits (h & 8191) and the rest q (2^13 higher: with limb k + 1)
    out = []
    for k in range(N):
        if k + N < 2 * N - 1:
            out.append("    h = %s" % colsrc(k + N))
        hi = "(h & 8191)" if k == 0 else ("((h & 8191) + q)" if k + N < 2 * N - 1 else "q")
        car = "" if k == 0 else " + c"
        out.append("    x = %s%s + %s * 608" % (colsrc(k), car, hi))
        if k + N < 2 * N - 1:
            out.append("    q = h >> 13")
        if k < N - 1:
            out.append("    ptr16(d)[%d] = x & 8191" % k)
            out.append("    c = x >> 13")
    out += fold("d", "x")
    return "\n".join(out) + "\n"


def generate():
    with open(os.path.join(ROOT, "tools", "fe_viper.py.in")) as f:
        tpl = f.read()
    mul = body(lambda k: " + ".join(col(k, mul_terms)))
    sqr = body(sq_col)
    for k in ("add", "sub", "addsub"):
        tpl = tpl.replace("    %s_BODY\n" % k.upper(), lin(k))
    return tpl.replace("    MUL_BODY\n", mul).replace("    SQR_BODY\n", sqr)


def main(argv):
    src = generate()
    if "--check" in argv:
        with open(OUT) as f:
            if f.read() != src:
                print("%s is not current: run python tools/gen_fe_viper.py" % OUT)
                return 1
        return 0
    with open(OUT, "w") as f:
        f.write(src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
