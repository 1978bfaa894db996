"""fe_viper.py, the viper field arithmetic under x25519_viper.py and ed25519_viper.py: the file is
what tools/gen_fe_viper.py writes; it (and every viper module of native/ussh) compiles to machine
code for every arch our boards have
(armv6m included: no "native method too big"); and, run by CPython with the viper pointers
emulated, every intermediate value of every operation stays in [0, 2^31) (a 32-bit board's
viper int) even on the largest limbs a stored value can have, while the results agree with
Python ints. The 64-bit unix port could not show an overflow: its viper ints are wider."""
import os
import random
import re
import subprocess
import sys
import types

import pytest

from runtimes import LIB, MPY_CROSS, NATIVE, ROOT

P = 2**255 - 19
TOP = [8192] * 19 + [255]  # the largest stored limbs


def test_generated_file_is_current():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_fe_viper.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


VIPER = sorted(f[:-3] for f in os.listdir(os.path.join(NATIVE, "ussh", "crypto")) if f.endswith("_viper.py"))
THUMB = sorted(f[:-3] for f in os.listdir(os.path.join(NATIVE, "ussh", "crypto")) if f.endswith("_thumb.py"))


def test_native_holds_the_viper_and_thumb_modules():
    # native/ussh/crypto: every module there is one of the two kinds the tests below compile
    names = sorted(f[:-3] for f in os.listdir(os.path.join(NATIVE, "ussh", "crypto")) if f.endswith(".py"))
    assert names == sorted(VIPER + THUMB)
    assert {"fe_viper", "sha512_viper", "keccak_viper", "aes_viper", "mlkem_viper"} <= set(VIPER)
    assert {"fe_thumb", "keccak_thumb"} <= set(THUMB)


@pytest.mark.parametrize("march", ["armv6m", "armv7m", "xtensawin", "x64"])
@pytest.mark.parametrize("mod", VIPER)
def test_machine_code_for_every_arch(tmp_path, march, mod):
    # the viper functions are in the source (not exec'd at import), so mpy-cross emits machine
    # code for them: a board that loads the .mpy or has it frozen compiles nothing
    src = os.path.join(NATIVE, "ussh", "crypto", mod + ".py")
    out = str(tmp_path / (mod + ".mpy"))
    p = subprocess.run([MPY_CROSS, "-march=" + march, "-o", out, src], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # without -march the same source is refused: the viper code is really there (and so it
    # lives in native/, not lib/: test_deploy.py's test_every_lib_module_compiles_without_march)
    p = subprocess.run([MPY_CROSS, "-o", out, src], capture_output=True, text=True)
    assert p.returncode != 0 and "invalid arch" in p.stderr, p.stderr


# --- the viper source under CPython, every intermediate checked against 32-bit limits

class Mem:
    def __init__(self):
        self.b = bytearray()


class Ptr:
    def __init__(self, mem, addr, width):
        self.mem, self.addr, self.w = mem, addr, width

    def __getitem__(self, i):
        o = self.addr + self.w * i
        assert 0 <= o and o + self.w <= len(self.mem.b), o
        return int.from_bytes(self.mem.b[o:o + self.w], "little")

    def __setitem__(self, i, v):
        assert 0 <= v < 256**self.w, v  # viper would truncate or store a negative value
        o = self.addr + self.w * i
        assert 0 <= o and o + self.w <= len(self.mem.b), o
        self.mem.b[o:o + self.w] = v.to_bytes(self.w, "little")


MAX = [0]


def checked(v):
    assert 0 <= v < 2**31, v
    MAX[0] = max(MAX[0], v)
    return v


def emulated():
    """fe_viper.py run by CPython: the viper functions as plain ones, every assignment to the
    sums x, y, h (and x -= ..) checked, every store checked by Ptr."""
    mem = Mem()
    if LIB not in sys.path:  # fe_viper imports ussh.compat (have_thumb: False on CPython)
        sys.path.insert(0, LIB)
    src = open(os.path.join(NATIVE, "ussh", "crypto", "fe_viper.py")).read()
    src = src.replace("import micropython", "").replace("@micropython.viper\n", "")
    # the viper functions come before the Python helpers (run, put, get: big ints)
    i = src.index("\ndef run(")
    v = re.sub(r"(?m)^(\s+)([xyh]) = (.*?)(\s+#.*)?$", r"\1\2 = _checked(\3)", src[:i])
    src = re.sub(r"(?m)^(\s+)([xyh]) -= (.*)$", r"\1\2 = _checked(\2 - (\3))", v) + src[i:]
    assert src.count("_checked(") > 100

    def alloc(n):
        mem.b = bytearray(n)
        return mem.b

    def ptr(w):
        return lambda v: Ptr(mem, v.addr if isinstance(v, Ptr) else (0 if v is mem.b else v), w)

    ns = {"__name__": "fe_viper_emulated", "bytearray": alloc, "ptr8": ptr(1), "ptr16": ptr(2),
          "ptr32": ptr(4), "_checked": checked}
    src = src.replace("BASE = _addr(F)", "BASE = 0")
    exec(compile(src, "fe_viper.py", "exec"), ns)
    m = types.SimpleNamespace(**ns)
    m.mem = mem
    return m


def limbs(m, s):
    h = Ptr(m.mem, 48 * s, 2)
    return [h[i] for i in range(20)]


def set_limbs(m, s, v):
    h = Ptr(m.mem, 48 * s, 2)
    for i, x in enumerate(v):
        h[i] = x


def value(v):
    return sum(x << (13 * i) for i, x in enumerate(v))


def expect(op, a, b, n=1):
    return {0: ((a + b) % P, (a - b) % P), 1: ((a - b) % P, (a + 121665 * (a - b)) % P),
            2: (a * b % P, None), 3: (pow(a, 2**n, P), None), 4: ((a + b) % P, None),
            5: ((a - b) % P, None)}[op]


def run_op(m, op, a, b, n=1):
    # slot 1 = a, slot 2 = b (limb lists); one instruction into slots 3 and 4
    set_limbs(m, 1, a)
    set_limbs(m, 2, b)
    m.run(bytes((op, 1, 2 if op != m.SQN else 1, 3, n if op == m.SQN else 4, m.END)))
    d, e = limbs(m, 3), limbs(m, 4)
    for v in (d,) + ((e,) if op in (0, 1) else ()):
        assert max(v[:19]) <= 8192 and v[19] <= 255, (op, v)  # a stored value again
    return value(d) % P, (value(e) % P if op in (0, 1) else None)


def test_largest_limbs_stay_below_2_31():
    # stored limbs are at most 2^13 (limb 19: 255); with all operands there (and b = 0 for the
    # subtractions' largest a + 2p - b) no intermediate reaches 2^31 and the results are
    # stored limbs again, so by induction none does in any sequence of operations
    m = emulated()
    a = value(TOP)
    for op, near in ((m.MUL, 2**30), (m.SQN, 2**30), (m.ADDSUB, 2**14), (m.E24, 2**29),
                     (m.ADD, 2**14), (m.SUB, 2**14)):
        MAX[0] = 0
        for b in (TOP, [0] * 20, [8191] * 19 + [255]):
            got = run_op(m, op, TOP, b)
            assert got == expect(op, a, value(b) if op != m.SQN else a)
        assert MAX[0] > near, (op, MAX[0])  # the largest values were seen (and checked)


def test_random_operations_agree_with_ints():
    m = emulated()
    rng = random.Random(2551)
    for _ in range(60):
        a = [rng.choice((0, 8191, 8192, rng.randrange(8193))) for _ in range(19)] + [rng.randrange(256)]
        b = [rng.randrange(8193) for _ in range(19)] + [rng.randrange(256)]
        for op in (m.ADDSUB, m.E24, m.MUL, m.SQN, m.ADD, m.SUB):
            n = rng.randrange(1, 4)
            want = expect(op, value(a), value(b) if op != m.SQN else value(a), n)
            assert run_op(m, op, a, b, n) == want, op


def test_unpack_and_get_roundtrip():
    m = emulated()
    rng = random.Random(7)
    for x in [0, 1, P - 1, P, 2**255 - 1] + [rng.getrandbits(255) for _ in range(20)]:
        y = rng.getrandbits(255)
        m.put(5, x, 6, y)
        assert (m.get(5), m.get(6)) == (x % P, y % P)


BOARD = """
from ussh.crypto import fe_viper as fe
from ussh.crypto.sha512 import sha512
P = fe.P
print("products", fe.PRODUCTS)
def setl(s, v):
    for i, x in enumerate(v):
        fe.F[48 * s + 2 * i] = x & 255
        fe.F[48 * s + 2 * i + 1] = x >> 8
def val(s):
    return sum((fe.F[48 * s + 2 * i] | fe.F[48 * s + 2 * i + 1] << 8) << (13 * i) for i in range(20))
def limbs(x):
    return [(x >> (13 * i)) & 8191 for i in range(19)] + [x >> 247]
TOP = [8192] * 19 + [255]
bad = 0
n = 0
h = b"fe"
for t in range(%d):
    h = sha512(h)
    a = limbs(int.from_bytes(h[:32], "little") >> 1)
    b = limbs(int.from_bytes(h[32:], "little") >> 1)
    if t < 3:
        a, b = TOP, (TOP, [0] * 20, [8191] * 19 + [255])[t]
    for op in (fe.ADDSUB, fe.E24, fe.MUL, fe.SQN, fe.ADD, fe.SUB):
        setl(1, a)
        setl(2, b)
        A, B = val(1), val(2)
        k = 1 + t %% 3
        fe.run(bytes((op, 1, 2 if op != fe.SQN else 1, 3, k if op == fe.SQN else 4, 255)))
        d, e = val(3) %% P, val(4) %% P
        want = {0: ((A + B) %% P, (A - B) %% P), 1: ((A - B) %% P, (A + 121665 * (A - B)) %% P),
                2: (A * B %% P, e), 3: (pow(A, 1 << k, P), e), 4: ((A + B) %% P, e), 5: ((A - B) %% P, e)}[op]
        top = max(fe.F[48 * 3 + 2 * i] | fe.F[48 * 3 + 2 * i + 1] << 8 for i in range(19))
        n += 1
        if (d, e) != want or top > 8192:
            bad += 1
print("checked", n, "bad", bad)
"""


def test_board_operations_agree_with_ints():
    # on the emulated Cortex-M3: fe_thumb.py's products (the firmware freezes it) and the viper
    # code with 32-bit ints, on random and on the largest limbs
    from runtimes import run

    out = run("qemu", BOARD % 150).split()
    assert out == ["products", "thumb", "checked", "900", "bad", "0"]


def test_unix_operations_agree_with_ints():
    from runtimes import run

    out = run("unix", BOARD % 300).split()
    assert out == ["products", "viper", "checked", "1800", "bad", "0"]


@pytest.mark.parametrize("mod", THUMB)
@pytest.mark.parametrize("march", ["armv6m", "armv7m", "xtensawin"])
def test_thumb_products_for_arm_only(tmp_path, march, mod):
    # fe_thumb.py (the products in Thumb assembler, 16-bit instructions: armv6m runs them) and
    # keccak_thumb.py (Keccak-f[1600]) are machine code for both ARM arches; xtensawin refuses
    # them, so only ARM builds carry them
    out = str(tmp_path / (mod + ".mpy"))
    p = subprocess.run([MPY_CROSS, "-march=" + march, "-o", out, os.path.join(NATIVE, "ussh", "crypto", mod + ".py")],
                       capture_output=True, text=True)
    assert (p.returncode == 0) == (march != "xtensawin"), p.stderr
