"""The two X25519 paths of ussh.crypto.curve25519: the viper ladder (x25519_viper.py, chosen where
compat.have_viper(): the unix port, the board) and the int ladder (x25519_pure: CPython, wasm).
On the unix port both run the RFC 7748 vectors (1000 iterations included), a replay of cases
computed by `cryptography` and the low-order inputs. The 13-bit-limb arithmetic must stay below
2^31 on a 32-bit board, which the 64-bit unix port would not show: the generated viper source
also runs under CPython with its values checked, on inputs at the largest limbs a stored value
can have. (test_qemu_crypto.py runs both paths on the emulated Cortex-M3.)"""
import os
import random
import re
import types

import pytest

import test_x25519 as tx
from runtimes import LIB, run

PATHS = {
    "viper": "from ussh.crypto.x25519_viper import x25519\n",
    "pure": "from ussh.crypto.curve25519 import x25519_pure as x25519\n",
}


def script(path, body):
    # test_x25519's scripts with x25519 bound to one path (x25519_base stays the table path)
    return body.replace(tx.HEADER, tx.HEADER + PATHS[path])


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_viper_path_chosen_where_expected():
    code = ("from ussh.crypto import curve25519\n"
            "curve25519.x25519(bytes(32), bytes(32))\n"
            "print(bool(curve25519._fast))\n")
    assert lines(run("unix", code)) == ["True"]
    assert lines(run("cpython", code)) == ["False"]
    assert lines(run("wasm", code)) == ["False"]


def test_a_refused_viper_compile_leaves_the_int_ladder():
    # a port's emitter may refuse the ladder (armv6m: "native method too big") or the heap be
    # short: curve25519 then uses the ints, and importing it does not fail
    code = (
        "import builtins\n"
        "real = builtins.exec\n"
        "def refuse(code, *a):\n"
        "    if 'def _run' in code:\n"
        "        raise NotImplementedError('native method too big')\n"
        "    return real(code, *a)\n"
        "builtins.exec = refuse\n"
        "from ussh.crypto import curve25519\n"
        "builtins.exec = real\n"
        "print(curve25519._fast, curve25519.x25519(bytes.fromhex(%r), bytes.fromhex(%r)).hex())\n"
        % tuple(tx.RFC7748_SINGLE[0][:2]))
    assert lines(run("unix", code)) == ["False " + tx.RFC7748_SINGLE[0][2]]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_rfc7748_vectors(path):
    out = lines(run("unix", script(path, tx.VECTOR_SCRIPT)))
    assert out == [
        "single " + tx.RFC7748_SINGLE[0][2], "single " + tx.RFC7748_SINGLE[1][2],
        "alice_public " + tx.ALICE_PUBLIC, "bob_public " + tx.BOB_PUBLIC,
        "alice_shared " + tx.SHARED, "bob_shared " + tx.SHARED,
        "iterated 1 " + tx.RFC7748_ITERATED[1], "iterated 1000 " + tx.RFC7748_ITERATED[1000],
    ]


# Found by a 25,000-key cross-check after the viper ladder went in: its result had a limb of
# exactly 2^13, which the conversion back to an int OR-ed into the next limb's bit instead of
# adding (0000 73 came out as 8072). An OpenSSH 10 login failed with "incorrect signature".
LIMB_2_13_KEY = "21f4b4b9456818b225a02ec4d2bb7212a3b74841064bcd874abb7760ba5d0457"


def test_result_with_a_full_limb_converts_back_exactly():
    from cryptography.hazmat.primitives.asymmetric import x25519 as cx

    want = cx.X25519PrivateKey.from_private_bytes(bytes.fromhex(LIMB_2_13_KEY)).public_key().public_bytes_raw()
    code = ("from ussh.crypto.x25519_viper import x25519\n"
            "print(x25519(bytes.fromhex(%r), bytes([9]) + bytes(31)).hex())\n" % LIMB_2_13_KEY)
    assert lines(run("unix", code)) == [want.hex()]


def replay_cases(n, seed):
    rng = random.Random(seed)
    P = tx.P
    us = [P - 2, P + 2, P + 17, 2**255 - 1, 2**256 - 1, 2**255 + 9, 9, 0x1FFF, (2**13 - 1) << 242]
    us += [rng.getrandbits(256) for _ in range(n)]
    ks = [b"\xff" * 32, bytes(32)] + [rng.randbytes(32) for _ in range(len(us) - 2)]
    cases = []
    for k, u in zip(ks, us):
        u = u.to_bytes(32, "little")
        cases.append((k.hex(), u.hex(), tx.ref_x25519(k, u).hex(), tx.ref_public(k).hex()))
    return cases


@pytest.mark.parametrize("path", sorted(PATHS))
def test_replay_reference_cases(path):
    cases = replay_cases(200, 25519)
    out = lines(run("unix", script(path, tx.REPLAY_SCRIPT % (cases,))))
    assert out == ["checked %d bad []" % len(cases)]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_low_order_points_give_zero(path):
    keys = [os.urandom(32).hex() for _ in range(3)]
    inputs = [u.hex() for u in tx.low_order_inputs()]
    out = run("unix", script(path, tx.LOW_ORDER_SCRIPT % (keys, inputs))).split()
    assert out == ["00" * 32] * (len(keys) * len(inputs))


# --- the viper source under CPython, every intermediate checked against 32-bit limits


class Mem:
    # the one buffer x25519_viper allocates, seen through viper's pointer views
    def __init__(self):
        self.b = bytearray()

    def alloc(self, n):
        self.b = bytearray(n)
        return self.b


class Ptr:
    def __init__(self, mem, addr, width):
        self.mem, self.addr, self.w = mem, addr, width

    def __getitem__(self, i):
        o = self.addr + self.w * i
        assert 0 <= o and o + self.w <= len(self.mem.b), o
        return int.from_bytes(self.mem.b[o:o + self.w], "little")

    def __setitem__(self, i, v):
        assert 0 <= v < 2**31, v  # a negative or 32-bit-overflowing value stored
        o = self.addr + self.w * i
        assert 0 <= o and o + self.w <= len(self.mem.b), o
        self.mem.b[o:o + self.w] = (v & (256**self.w - 1)).to_bytes(self.w, "little")


class PtrType:
    # ptr16 and the like: ptr16(buffer or address) is a view
    def __init__(self, mem, width):
        self.mem, self.w = mem, width

    def __call__(self, v):
        if isinstance(v, Ptr):
            v = v.addr
        elif v is self.mem.b:
            v = 0
        return Ptr(self.mem, v, self.w)


MAX_X = [0]


def checked(x):
    assert 0 <= x < 2**31, x
    MAX_X[0] = max(MAX_X[0], x)
    return x


def emulated_module():
    # x25519_viper.py run by CPython: the viper function as a plain one, every `x = ...` and
    # `x -= ...` checked, every store checked by Ptr
    mem = Mem()
    src = open(os.path.join(LIB, "ussh", "crypto", "x25519_viper.py")).read()
    src = src.replace("import micropython", "")
    ns = {"__name__": "x25519_viper_emulated"}
    real_exec = exec

    def exec_checked(code, g=None):
        code = code.replace("@micropython.viper\n", "")
        code = re.sub(r"(?m)^(\s+)x = (.*)$", r"\1x = _checked(\2)", code)
        code = re.sub(r"(?m)^(\s+)x ([-+])= (.*)$", r"\1x = _checked(x \2 (\3))", code)
        assert code.count("_checked(") >= 7  # each function has its sums checked
        real_exec(code, ns)

    ns.update(uint=lambda v: v.addr if isinstance(v, Ptr) else v & (2**64 - 1),
              ptr8=PtrType(mem, 1), ptr16=PtrType(mem, 2), ptr32=PtrType(mem, 4),
              _checked=checked, exec=exec_checked, bytearray=mem.alloc)
    real_exec(src, ns)
    m = types.SimpleNamespace(**ns)
    m.mem = mem
    return m


def test_emulated_viper_code_agrees_with_reference():
    m = emulated_module()
    MAX_X[0] = 0
    for k, u, out, _ in replay_cases(0, 7748)[:3]:  # 3 s each
        assert m.x25519(bytes.fromhex(k), bytes.fromhex(u)).hex() == out
    assert MAX_X[0] > 2**29


def test_largest_limbs_stay_below_2_31():
    # stored limbs are at most 2^13 (limb 19: 255); with all operands there (and b = 0 for the
    # subtractions' largest a + 2p - b) no intermediate reaches 2^31 and the results are stored
    # limbs again, so by induction none does in any ladder. _run with no ladder bits runs
    # just its program, here one instruction: a = slot 1, b = slot 2, d = slot 3, e = slot 4.
    m = emulated_module()
    f = Ptr(m.mem, 0, 4)
    h = Ptr(m.mem, 0, 2)
    top = [8192] * 19 + [255]
    P = tx.P
    a = sum(x << (13 * i) for i, x in enumerate(top))
    for op, near in ((m._MUL, 2**30), (m._SQN, 2**30), (m._ADDSUB, 2**14), (m._E24, 2**29)):
        MAX_X[0] = 0
        for b in (top, [0] * 20):
            m.mem.b[:] = bytes(m._SIZE)
            for i in range(20):
                h[88 + i] = top[i]  # slot 1 (byte 176)
                h[108 + i] = b[i]  # slot 2
            f[0], f[1], f[2] = 0, 0, 5
            m.mem.b[768:773] = bytes((op, 1, 1 if op == m._SQN else 2, 3, 1 if op == m._SQN else 4))
            m._run()
            limbs = {s: [h[(136 + 40 * s) // 2 + i] for i in range(20)] for s in (3, 4)}
            for s in (3, 4):
                assert max(limbs[s][:19]) <= 8192 and limbs[s][19] <= 255, (op, limbs)
            bv = a if op == m._SQN else sum(x << (13 * i) for i, x in enumerate(b))
            d, e = [sum(x << (13 * i) for i, x in enumerate(limbs[s])) % P for s in (3, 4)]
            if op in (m._MUL, m._SQN):
                assert d == a * bv % P
            elif op == m._ADDSUB:
                assert (d, e) == ((a + bv) % P, (a - bv) % P)
            else:
                assert (d, e) == ((a - bv) % P, (a + 121665 * (a - bv)) % P)
        assert MAX_X[0] > near  # the largest values were seen (and checked)
