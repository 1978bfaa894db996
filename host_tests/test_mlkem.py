"""ML-KEM-768 (ussh.crypto.mlkem, FIPS 203) on every runtime: a known-answer
vector (C2SP CCTV's "unlucky" sample, in host_tests/vectors/), and
cross-checks against the `cryptography` package: keys from the same seeds are equal, a
ciphertext of ours decapsulates with theirs to our key and the reverse,
altered ciphertexts give the same implicit-rejection key, and encapsulation
keys failing the modulus check or of the wrong length are refused."""
import os
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

from runtimes import RUNTIMES, run

Q = 3329
CASES = {"cpython": 12, "unix": 8, "wasm": 4, "unix-portable": 3}
# "unix-portable": the unix port with Keccak's viper path swapped for the portable one, and
# ML-KEM's polynomials on Python ints (mlkem_viper.py's path off)
PORTABLE = ("from ussh.crypto import sha3\nsha3.keccak_f1600 = sha3.keccak_f1600_pure\n"
            "from ussh.crypto import mlkem\nmlkem._fast = False\n")


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def make_cases(n, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        d, z, m = (bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(3))
        sk = MLKEM768PrivateKey.from_seed_bytes(d + z)
        k_theirs, c_theirs = sk.public_key().encapsulate()
        bad = bytearray(c_theirs)
        bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        cases.append((sk, d, z, m, k_theirs, c_theirs, bytes(bad)))
    return cases


@pytest.mark.parametrize("runtime", RUNTIMES + ("unix-portable",))
def test_against_cryptography(runtime):
    cases = make_cases(CASES[runtime], 203)
    code = (PORTABLE if runtime == "unix-portable" else "") + (
        "from ussh.crypto.mlkem import keygen, encaps, decaps\n"
        "for d, z, m, c, bad in %r:\n"
        "    ek, dk = keygen(bytes.fromhex(d), bytes.fromhex(z))\n"
        "    k, ct = encaps(ek, bytes.fromhex(m))\n"
        "    print(ek.hex(), dk.hex(), k.hex(), ct.hex(), decaps(dk, ct).hex(),\n"
        "          decaps(dk, bytes.fromhex(c)).hex(), decaps(dk, bytes.fromhex(bad)).hex())\n"
    ) % ([(d.hex(), z.hex(), m.hex(), c.hex(), bad.hex()) for _, d, z, m, _, c, bad in cases],)
    out = lines(run(runtime.split("-")[0], code))
    assert len(out) == len(cases)
    for line, (sk, d, z, m, k_theirs, c_theirs, bad) in zip(out, cases):
        ek, dk, k, ct, k_again, k_dec, k_bad = [bytes.fromhex(x) for x in line.split()]
        assert ek == sk.public_key().public_bytes_raw()
        assert len(dk) == 2400 and dk[:1152] != bytes(1152) and dk[1152:2336] == ek and dk[2368:] == z
        assert len(ct) == 1088
        assert sk.decapsulate(ct) == k  # ours encapsulated, theirs decapsulates
        assert k_again == k
        assert k_dec == k_theirs  # theirs encapsulated, ours decapsulates
        assert k_bad == sk.decapsulate(bad) and k_bad != k_theirs  # implicit rejection, same key


VECTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors", "ML-KEM-768-unluckysample.txt")


def unlucky():
    v = {}
    with open(VECTOR) as f:
        for line in f:
            if " = " in line and not line.startswith("#"):
                k, x = line.split(" = ")
                v[k] = bytes.fromhex(x.strip())
    return v


def test_known_answer_vector_agrees_with_reference():
    v = unlucky()
    sk = MLKEM768PrivateKey.from_seed_bytes(v["d"] + v["z"])
    assert sk.public_key().public_bytes_raw() == v["ek"]
    assert sk.decapsulate(v["c"]) == v["K"]


@pytest.mark.parametrize("runtime", RUNTIMES + ("unix-portable",))
def test_known_answer_vector(runtime):
    # KeyGen(d, z), Encaps(ek, m) and Decaps against the published values;
    # this key's matrix needs more SHAKE128 blocks than most
    v = unlucky()
    code = (PORTABLE if runtime == "unix-portable" else "") + (
        "from ussh.crypto.mlkem import keygen, encaps, decaps\n"
        "d, z, m = (bytes.fromhex(x) for x in %r)\n"
        "ek, dk = keygen(d, z)\n"
        "k, c = encaps(ek, m)\n"
        "print(ek.hex(), k.hex(), c.hex(), decaps(dk, c).hex())\n"
    ) % ([v["d"].hex(), v["z"].hex(), v["m"].hex()],)
    out = run(runtime.split("-")[0], code).split()
    assert out == [v["ek"].hex(), v["K"].hex(), v["c"].hex(), v["K"].hex()]


def test_fast_path_chosen_where_expected():
    # mlkem_viper.py where the port runs viper code (the unix port), the portable code elsewhere;
    # the choice is recorded beside X25519's and Ed25519's
    code = ("from ussh.crypto import mlkem\nfrom ussh.crypto.curve25519 import fast_paths\n"
            "print(bool(mlkem._fast), fast_paths()['mlkem'].split(':')[0])\n")
    assert run("unix", code).split() == ["True", "viper"]
    assert run("cpython", code).split() == ["False", "portable"]
    assert run("wasm", code).split() == ["False", "portable"]


def test_encaps_is_deterministic_in_m():
    # Encaps_internal: the same (ek, m) gives the same (K, c), another m another
    code = (
        "from ussh.crypto.mlkem import keygen, encaps\n"
        "ek, dk = keygen(bytes(32), bytes(32))\n"
        "print(encaps(ek, bytes(32)) == encaps(ek, bytes(32)), encaps(ek, bytes(32)) != encaps(ek, b'1' * 32))\n"
    )
    assert run("cpython", code).split() == ["True", "True"]


def set_coefficient(ek, i, value):
    # ByteEncode12: coefficients 2k and 2k+1 share bytes 3k..3k+2
    ek = bytearray(ek)
    k = 3 * (i >> 1)
    a = ek[k] | (ek[k + 1] & 15) << 8
    b = ek[k + 1] >> 4 | ek[k + 2] << 4
    if i & 1:
        b = value
    else:
        a = value
    ek[k : k + 3] = bytes((a & 255, a >> 8 | (b & 15) << 4, b >> 4))
    return bytes(ek)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_modulus_check(runtime):
    rng = random.Random(7)
    sk = MLKEM768PrivateKey.from_seed_bytes(bytes(rng.getrandbits(8) for _ in range(64)))
    ek = sk.public_key().public_bytes_raw()
    keys = []
    for i, value in ((0, Q), (1, 4095), (767, Q), (rng.randrange(768), rng.randrange(Q, 4096)), (5, Q - 1)):
        keys.append(set_coefficient(ek, i, value))
    keys += [ek[:-1], ek + b"\0", b""]
    code = (
        "from ussh.crypto.mlkem import encaps\n"
        "for ek in %r:\n"
        "    try:\n"
        "        encaps(bytes.fromhex(ek), bytes(32))\n"
        "        print('accepted')\n"
        "    except ValueError as e:\n"
        "        print('refused')\n"
    ) % ([k.hex() for k in keys],)
    out = lines(run(runtime, code))
    # the key with coefficient q - 1 is valid; every other one is refused
    assert out == ["refused"] * 4 + ["accepted"] + ["refused"] * 3
