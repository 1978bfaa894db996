"""Writes native/ussh/crypto/keccak_thumb.py: Keccak-f[1600] (FIPS 202 section 3.3) in Thumb
assembler, 16-bit instructions only (armv6m's subset, which armv7m runs too), a round written
out and looped 24 times.

usage: python tools/gen_keccak_thumb.py           rewrite the file
       python tools/gen_keccak_thumb.py --check   exit 1 when it is out of date

The state is sha3.py's 200-byte bytearray: lane i = x + 5y in words 2i (bits 0-31) and 2i + 1
(bits 32-63). r0 points into the state, r1 into the scratch T (B of rho and pi in bytes
0..199, theta's C in 200..239 and D in 240..279, the round constant's address at 280 and its end
at 284), r2..r7 hold values. A load or store reaches 124 bytes past its base register, so the
generator moves r0 and r1 along the buffers (add/sub) and back before the loop's branch.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "native", "ussh", "crypto", "keccak_thumb.py")

# FIPS 202 section 3.2.2 rho offsets of lane x + 5y, and pi: lane (x, y) goes to (y, 2x + 3y)
RHO = (0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14)
PI = tuple(y + 5 * ((2 * x + 3 * y) % 5) for y in range(5) for x in range(5))  # PI[x + 5y]
C_OFF, D_OFF, PTR, END = 200, 240, 280, 284


class Gen:
    def __init__(self):
        self.out = []
        self.bias = {"r0": 0, "r1": 0}

    def emit(self, s):
        self.out.append("    " + s)

    def move(self, reg, to):
        d = to - self.bias[reg]
        while d:
            step = max(-248, min(248, d))
            self.emit("%s(%s, %d)" % ("add" if step > 0 else "sub", reg, abs(step)))
            d -= step
        self.bias[reg] = to

    def addr(self, reg, off):
        # [reg, k] for byte offset off of the buffer: moves reg when off is out of its reach
        k = off - self.bias[reg]
        if not 0 <= k <= 124:
            self.move(reg, max(0, off - 64) & ~3)
            k = off - self.bias[reg]
        return "[%s, %d]" % (reg, k)

    def ldr(self, rd, base, off):
        self.emit("ldr(%s, %s)" % (rd, self.addr(base, off)))

    def str_(self, rd, base, off):
        self.emit("str(%s, %s)" % (rd, self.addr(base, off)))


def round_body(g):
    # theta: the column parities C, five words at a time in r2..r6 (rows in address order)
    for half in (0, 5):
        regs = ["r2", "r3", "r4", "r5", "r6"]
        for y in range(5):
            for k in range(5):
                w = 10 * y + half + k
                if y == 0:
                    g.ldr(regs[k], "r0", 4 * w)
                else:
                    g.ldr("r7", "r0", 4 * w)
                    g.emit("eor(%s, r7)" % regs[k])
        for k in range(5):
            g.str_(regs[k], "r1", C_OFF + 4 * (half + k))
    # D[x] = C[x - 1] ^ ROT(C[x + 1], 1)
    for x in range(5):
        p, m = (x + 1) % 5, (x - 1) % 5
        g.ldr("r2", "r1", C_OFF + 8 * p)
        g.ldr("r3", "r1", C_OFF + 8 * p + 4)
        g.emit("lsl(r4, r2, 1)")
        g.emit("lsr(r5, r3, 31)")
        g.emit("orr(r4, r5)")
        g.emit("lsl(r5, r3, 1)")
        g.emit("lsr(r6, r2, 31)")
        g.emit("orr(r5, r6)")
        g.ldr("r6", "r1", C_OFF + 8 * m)
        g.emit("eor(r4, r6)")
        g.ldr("r6", "r1", C_OFF + 8 * m + 4)
        g.emit("eor(r5, r6)")
        g.str_("r4", "r1", D_OFF + 8 * x)
        g.str_("r5", "r1", D_OFF + 8 * x + 4)
    # theta's D into each lane, rho's rotation, pi's move into B
    for x in range(5):
        g.ldr("r2", "r1", D_OFF + 8 * x)
        g.ldr("r3", "r1", D_OFF + 8 * x + 4)
        for y in range(5):
            i = x + 5 * y
            g.ldr("r4", "r0", 8 * i)
            g.ldr("r5", "r0", 8 * i + 4)
            g.emit("eor(r4, r2)")
            g.emit("eor(r5, r3)")
            lo, hi, n = "r4", "r5", RHO[i]
            if n >= 32:
                lo, hi, n = hi, lo, n - 32
            if n:
                g.emit("lsl(r6, %s, %d)" % (lo, n))
                g.emit("lsr(r7, %s, %d)" % (hi, 32 - n))
                g.emit("orr(r6, r7)")
                g.emit("lsr(r7, %s, %d)" % (lo, 32 - n))
                g.emit("lsl(%s, %s, %d)" % (hi, hi, n))
                g.emit("orr(%s, r7)" % hi)
                lo = "r6"
            g.str_(lo, "r1", 8 * PI[i])
            g.str_(hi, "r1", 8 * PI[i] + 4)
    # chi: A[x] = B[x] ^ (~B[x + 1] & B[x + 2]) along each row, a word of five lanes at a time
    regs = ["r2", "r3", "r4", "r5", "r6"]
    for y in range(5):
        for h in (0, 1):
            for x in range(5):
                g.ldr(regs[x], "r1", 8 * (5 * y + x) + 4 * h)
            for x in range(5):
                g.emit("mov(r7, %s)" % regs[(x + 2) % 5])
                g.emit("bic(r7, %s)" % regs[(x + 1) % 5])
                g.emit("eor(r7, %s)" % regs[x])
                g.str_("r7", "r0", 8 * (5 * y + x) + 4 * h)
    # iota: the round constant (two words at T[280]'s address, which moves on)
    g.ldr("r2", "r1", PTR)
    g.emit("ldr(r3, [r2, 0])")
    g.emit("ldr(r4, [r2, 4])")
    g.emit("add(r2, 8)")
    g.str_("r2", "r1", PTR)
    g.ldr("r5", "r0", 0)
    g.emit("eor(r5, r3)")
    g.str_("r5", "r0", 0)
    g.ldr("r5", "r0", 4)
    g.emit("eor(r5, r4)")
    g.str_("r5", "r0", 4)
    g.ldr("r3", "r1", END)


def generate():
    g = Gen()
    # prologue: the round constants' address and end into T
    g.str_("r2", "r1", PTR)
    g.emit("add(r3, r2, 0)")
    g.emit("add(r3, 96)")
    g.emit("add(r3, 96)")
    g.str_("r3", "r1", END)
    g.move("r0", 0)
    g.move("r1", 0)
    g.out.append("    label(loop)")
    round_body(g)
    g.move("r0", 0)
    g.move("r1", 0)
    g.emit("cmp(r2, r3)")
    g.emit("beq(done)")
    g.emit("b(loop)")
    g.out.append("    label(done)")
    n = sum(1 for x in g.out if not x.strip().startswith("label"))
    head = '''# Keccak-f[1600] (FIPS 202 section 3.3) in Thumb assembler: sha3.py's permutation on ARM
# boards (armv6m's 16-bit instructions, which armv7m runs too), about 14 times fewer instructions
# than keccak_viper.py's. WRITTEN BY tools/gen_keccak_thumb.py: edit that, not this file. For ARM
# boards only (tools/build_mpy.py ARCH_ONLY, firmware/ussh_thumb.py): other arches' compilers
# refuse it, and sha3.py then takes keccak_viper.py.
# The state: lane i in words 2i (bits 0-31) and 2i + 1 (bits 32-63), little-endian; r0 walks the
# state, r1 the scratch _T (B of rho and pi, theta's C and D, the round constant's address), r2
# the round constants on entry. One round, %d instructions, runs 24 times.
import micropython  # noqa: F401 (the decorator)

# FIPS 202 section 3.2.5: the round constants as (low, high) 32-bit words, sha3.py's
# table (sha3.rc_words), taken on the first permutation
_RC = None
_T = bytearray(288)


@micropython.asm_thumb
def _perm(r0, r1, r2):
''' % n
    body = ""
    tail = '''

def keccak_f1600(s):
    """Keccak-f[1600] in place on s, the 200-byte state (lane i in bytes
    8i..8i+7, little-endian)."""
    global _RC
    if _RC is None:
        from ussh.crypto.sha3 import rc_words

        _RC = rc_words()
    _perm(s, _T, _RC)
'''
    return head + body + "\n".join(g.out) + "\n" + tail


def main(argv):
    text = generate()
    if "--check" in argv:
        with open(OUT) as f:
            return 0 if f.read() == text else 1
    with open(OUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
