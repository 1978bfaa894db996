"""Writes native/ussh/crypto/fe_viper.py (and fe_thumb.py): arithmetic in GF(2^255 - 19) as
MicroPython viper code, with the field multiply and square written out limb by limb (too long to
type, too regular to get wrong by machine). `make test` checks the file is current (host_tests/test_fe_viper.py).

usage: python tools/gen_fe_viper.py [--check]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "native", "ussh", "crypto", "fe_viper.py")
OUT_THUMB = os.path.join(ROOT, "native", "ussh", "crypto", "fe_thumb.py")
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
    if kind == "e24":
        # e = a + 121665 b (E24's second half: b = a - b already carried)
        for i in range(N):
            out.append("    x = ptr16(a)[%d] + ptr16(b)[%d] * 121665%s" % (i, i, " + c" if i else ""))
            out.append("    ptr16(e)[%d] = x & 8191" % i)
            if i < N - 1:
                out.append("    c = x >> 13")
        return "\n".join(out + fold("e", "x")) + "\n"
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
    for k in ("add", "sub", "addsub", "e24"):
        tpl = tpl.replace("    %s_BODY\n" % k.upper(), lin(k))
    return tpl.replace("    MUL_BODY\n", mul).replace("    SQR_BODY\n", sqr)


# --- fe_thumb.py: _mul and _sqr of fe_viper.py in Thumb assembler (armv6m's 16-bit subset,
# which armv7m runs too): 4 instructions a product where viper's emitter needs 10.
# r0 = a, r1 = b, r2 = d, r7 = 8191; r4 = column k + 20 (h), r5 = column k plus the carry (x);
# r3, r6 scratch; q (h >> 13, owed to the next limb) in word 11 of slot a.


def thumb_products(acc, pairs, first):
    out = []
    for n, (i, j) in enumerate(pairs):
        if first and n == 0:
            out += ["    ldrh(%s, [r0, %d])" % (acc, 2 * i), "    ldrh(r3, [r1, %d])" % (2 * j),
                    "    mul(%s, r3)" % acc]
        else:
            out += ["    ldrh(r6, [r0, %d])" % (2 * i), "    ldrh(r3, [r1, %d])" % (2 * j),
                    "    mul(r6, r3)", "    add(%s, %s, r6)" % (acc, acc)]
    return out


def thumb_sq_col(acc, k, first):
    # column k of a square into acc: pairs i < j (in r1, doubled), then a_(k/2)^2
    pairs = [(i, k - i) for i in range(N) if i < k - i < N]
    out = []
    if pairs:
        for n, (i, j) in enumerate(pairs):
            if n == 0:
                out += ["    ldrh(r1, [r0, %d])" % (2 * i), "    ldrh(r3, [r0, %d])" % (2 * j), "    mul(r1, r3)"]
            else:
                out += ["    ldrh(r6, [r0, %d])" % (2 * i), "    ldrh(r3, [r0, %d])" % (2 * j),
                        "    mul(r6, r3)", "    add(r1, r1, r6)"]
        out.append("    lsl(r1, r1, 1)")
        out.append("    mov(%s, r1)" % acc if first else "    add(%s, %s, r1)" % (acc, acc))
        first = False
    if k % 2 == 0 and k // 2 < N:
        m = 2 * (k // 2)
        if first:
            out += ["    ldrh(%s, [r0, %d])" % (acc, m), "    mul(%s, %s)" % (acc, acc)]
        else:
            out += ["    ldrh(r6, [r0, %d])" % m, "    mul(r6, r6)", "    add(%s, %s, r6)" % (acc, acc)]
    return out


def thumb(square):
    name = "_sqr" if square else "_mul"
    out = ["@micropython.asm_thumb", "def %s(%s):" % (name, "r0" if square else "r0, r1"),
           "    # d = a %s (d: a + word 10 of slot a - 2^16)" % ("^ 2" if square else "* b"),
           "    ldr(r2, [r0, 40])", "    add(r2, r2, r0)", "    mov(r3, 1)", "    lsl(r3, r3, 16)",
           "    sub(r2, r2, r3)", "    mov(r7, 1)", "    lsl(r7, r7, 13)", "    sub(r7, r7, 1)"]
    for k in range(N):
        hi = k + N < 2 * N - 1
        if hi:
            out += (thumb_sq_col("r4", k + N, True) if square else
                    thumb_products("r4", [(i, k + N - i) for i in range(N) if 0 <= k + N - i < N], True))
        if k == 0:
            out += (thumb_sq_col("r5", 0, True) if square else thumb_products("r5", [(0, 0)], True))
        else:
            out += (thumb_sq_col("r5", k, False) if square else
                    thumb_products("r5", [(i, k - i) for i in range(N) if 0 <= k - i < N], False))
        # x += ((h & 8191) + q) * 608, q = h >> 13
        if hi:
            out += ["    mov(r6, r4)", "    and_(r6, r7)"]
            if k:
                out += ["    ldr(r3, [r0, 44])", "    add(r6, r6, r3)"]
        else:
            out += ["    ldr(r6, [r0, 44])"]
        out += ["    mov(r3, 152)", "    lsl(r3, r3, 2)", "    mul(r6, r3)", "    add(r5, r5, r6)"]
        if hi:
            out += ["    asr(r6, r4, 13)", "    str(r6, [r0, 44])"]
        if k < N - 1:
            out += ["    mov(r6, r5)", "    and_(r6, r7)", "    strh(r6, [r2, %d])" % (2 * k), "    asr(r5, r5, 13)"]
    # limb 19: 8 bits, the rest times 19 into limbs 0, 1, 2 (2^255 = 19 mod p)
    out += ["    mov(r6, r5)", "    mov(r3, 255)", "    and_(r6, r3)", "    strh(r6, [r2, 38])",
            "    asr(r5, r5, 8)", "    mov(r3, 19)", "    mul(r5, r3)"]
    for i in range(2):
        out += ["    ldrh(r6, [r2, %d])" % (2 * i), "    add(r5, r5, r6)", "    mov(r6, r5)", "    and_(r6, r7)",
                "    strh(r6, [r2, %d])" % (2 * i), "    asr(r5, r5, 13)"]
    out += ["    ldrh(r6, [r2, 4])", "    add(r5, r5, r6)", "    strh(r5, [r2, 4])"]
    return "\n".join(out) + "\n"


def thumb_lin_pass(diff):
    # one output (r2) of a + b or a + 2p - b, limb by limb, carry in r4; r5 = 16382, r7 = 8191
    out = ["    mov(r4, 0)"]
    for i in range(N):
        out += ["    ldrh(r6, [r0, %d])" % (2 * i), "    ldrh(r3, [r1, %d])" % (2 * i)]
        if diff == "e24":
            out += ["    mul(r3, r5)", "    add(r6, r6, r3)"]
        elif diff:
            out += ["    add(r6, r6, r5)", "    sub(r6, r6, r3)"]
            if i == 0:
                out.append("    sub(r6, 36)")
        else:
            out.append("    add(r6, r6, r3)")
        out.append("    add(r6, r6, r4)")
        if i < N - 1:
            out += ["    asr(r4, r6, 13)", "    and_(r6, r7)", "    strh(r6, [r2, %d])" % (2 * i)]
    if diff is True:
        out += ["    mov(r3, 62)", "    lsl(r3, r3, 8)", "    sub(r6, r6, r3)"]  # - 15872
    # limb 19: 8 bits, the rest times 19 into limbs 0, 1, 2
    out += ["    mov(r3, 255)", "    mov(r4, r6)", "    and_(r4, r3)", "    strh(r4, [r2, 38])",
            "    asr(r6, r6, 8)", "    mov(r3, 19)", "    mul(r6, r3)",
            "    ldrh(r3, [r2, 0])", "    add(r6, r6, r3)", "    asr(r4, r6, 13)", "    and_(r6, r7)",
            "    strh(r6, [r2, 0])", "    ldrh(r3, [r2, 2])", "    add(r4, r4, r3)", "    asr(r6, r4, 13)",
            "    and_(r4, r7)", "    strh(r4, [r2, 2])", "    ldrh(r3, [r2, 4])", "    add(r6, r6, r3)",
            "    strh(r6, [r2, 4])"]
    return out


def thumb_out(word):
    # r2 = a + word `word` of slot a - 2^16
    return ["    ldr(r2, [r0, %d])" % (4 * word), "    add(r2, r2, r0)", "    mov(r3, 1)", "    lsl(r3, r3, 16)",
            "    sub(r2, r2, r3)"]


def thumb_lin(name, passes):
    out = ["@micropython.asm_thumb", "def %s(r0, r1):" % name,
           "    mov(r7, 1)", "    lsl(r7, r7, 13)", "    sub(r7, r7, 1)", "    add(r5, r7, r7)"]
    if passes[0][1] == "e24":  # r5 = 121665 = 0x1db41
        out += ["    mov(r5, 0x01)", "    lsl(r5, r5, 8)", "    add(r5, 0xdb)", "    lsl(r5, r5, 8)", "    add(r5, 0x41)"]
    for word, diff in passes:
        out += thumb_out(word) + thumb_lin_pass(diff)
    return "\n".join(out) + "\n"


def generate_thumb():
    head = (
        "# fe_viper.py's _mul, _sqr, _add, _sub and _addsub in Thumb assembler (armv6m's\n"
        "# 16-bit instructions, which armv7m runs too): 4 instructions a product where viper's\n"
        "# emitter needs 10. fe_viper uses them where this module imports (ARM ports): the same\n"
        "# arithmetic, the same 31-bit bounds. WRITTEN BY tools/gen_fe_viper.py: edit that, not\n"
        "# this file. For ARM boards only (tools/build_mpy.py ARCH_ONLY, firmware/ussh_thumb.py):\n"
        "# other arches' compilers refuse it.\n"
        "# Products: r0 = a, r1 = b (_sqr: the pairs' sum), r2 = d, r7 = 8191; r4 = column\n"
        "# k + 20 (h), r5 = column k plus the carry (x); r3, r6 scratch; q = h >> 13 (owed to\n"
        "# the next limb) in word 11 of slot a.\n"
        "import micropython  # noqa: F401 (the decorator)\n\n\n")
    lin = ("\n\n# a + b, a - b (as a + 2p - b), both (ADDSUB: a - b into e first, then a + b into d;\n"
           "# e apart from a and b), a + 121665 b (E24's second half), as fe_viper's; r4 the carry,\n"
           "# r5 = 16382 (121665)\n")
    return (head + thumb(False) + "\n\n" + thumb(True) + lin + thumb_lin("_add", ((10, False),)) + "\n\n"
            + thumb_lin("_sub", ((10, True),)) + "\n\n" + thumb_lin("_addsub", ((11, True), (10, False)))
            + "\n\n" + thumb_lin("_e24", ((11, "e24"),)))


def main(argv):
    outs = ((OUT, generate()), (OUT_THUMB, generate_thumb()))
    if "--check" in argv:
        for path, src in outs:
            with open(path) as f:
                if f.read() != src:
                    print("%s is not current: run python tools/gen_fe_viper.py" % path)
                    return 1
        return 0
    for path, src in outs:
        with open(path, "w") as f:
            f.write(src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
