"""The two X25519 paths of ussh.crypto.curve25519: the viper ladder (x25519_viper.py, chosen where
compat.have_viper(): the unix port, the board) and the int ladder (x25519_pure: CPython, wasm).
On the unix port both run the RFC 7748 vectors (1000 iterations included), a replay of cases
computed by `cryptography` and the low-order inputs. (test_fe_viper.py checks the field code's
32-bit limits, test_crosscheck.py thousands of random keys, test_qemu_crypto.py both paths on
the emulated Cortex-M3.)"""
import os
import random

import pytest

import test_x25519 as tx
from runtimes import run

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


def test_a_refused_viper_module_leaves_the_int_ladder():
    # a port's emitter may refuse the field code (armv6m refused the old one-function ladder:
    # "native method too big"), the heap be short, or a .mpy be for another arch: curve25519
    # and ed25519 then use the ints, importing them does not fail, and the reason is kept
    code = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def refuse(name, *a):\n"
        # a[2], the fromlist: MicroPython passes True where `from pkg import mod` finds no
        # attribute mod yet and imports "pkg.mod" (ussh.crypto imports its curves at first use)
        "    f = a[2] if len(a) > 2 else None\n"
        "    if 'fe_viper' in name or (isinstance(f, (tuple, list)) and 'fe_viper' in f):\n"
        "        raise NotImplementedError('native method too big')\n"
        "    return real(name, *a)\n"
        "builtins.__import__ = refuse\n"
        "from ussh.crypto import curve25519, ed25519\n"
        "builtins.__import__ = real\n"
        "print(curve25519._fast, ed25519._fast, curve25519.x25519(bytes.fromhex(%r), bytes.fromhex(%r)).hex())\n"
        "print(sorted(curve25519.fast_paths().items()))\n"
        % tuple(tx.RFC7748_SINGLE[0][:2]))
    why = "portable: NotImplementedError: native method too big"
    assert lines(run("unix", code)) == ["False False " + tx.RFC7748_SINGLE[0][2],
                                        str([("ed25519", why), ("x25519", why)])]
    assert lines(run("unix", "from ussh.crypto import curve25519, ed25519\n"
                             "print(sorted(curve25519.fast_paths().items()))")) == [
        str([("ed25519", "viper"), ("x25519", "viper")])]


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
