"""X25519 (lib/ussh/crypto/curve25519.py) on every runtime: RFC 7748
vectors, a replay of cases computed by `cryptography`, and low-order inputs."""
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import RUNTIMES, run

P = 2**255 - 19

HEADER = """
from binascii import hexlify, unhexlify
from ussh.crypto.curve25519 import x25519, x25519_base
"""

# RFC 7748 section 5.2: (scalar, u, output)
RFC7748_SINGLE = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
]
# RFC 7748 section 5.2: k = u = 9, then k, u = X25519(k, u), k
RFC7748_ITERATED = {
    1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
    1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
}
# RFC 7748 section 6.1
ALICE_PRIVATE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
ALICE_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
BOB_PRIVATE = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
BOB_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

# u-coordinates of small order (the list libsodium refuses): 0, 1, the two
# points of order 8, p - 1, and p, p + 1 (non-canonical 0 and 1).
LOW_ORDER = [
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    P - 1,
    P,
    P + 1,
]

REPLAY_COUNT = {"cpython": 200, "unix": 200, "wasm": 60}


def h(b):
    return b.hex()


def ref_x25519(k, u):
    return X25519PrivateKey.from_private_bytes(k).exchange(X25519PublicKey.from_public_bytes(u))


def ref_public(k):
    return X25519PrivateKey.from_private_bytes(k).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_rfc_vectors_agree_with_reference():
    for k, u, out in RFC7748_SINGLE:
        assert ref_x25519(bytes.fromhex(k), bytes.fromhex(u)).hex() == out
    assert ref_public(bytes.fromhex(ALICE_PRIVATE)).hex() == ALICE_PUBLIC
    assert ref_public(bytes.fromhex(BOB_PRIVATE)).hex() == BOB_PUBLIC
    assert ref_x25519(bytes.fromhex(ALICE_PRIVATE), bytes.fromhex(BOB_PUBLIC)).hex() == SHARED
    k = u = (9).to_bytes(32, "little")
    for i in range(1, 1001):
        k, u = ref_x25519(k, u), k
        if i in RFC7748_ITERATED:
            assert k.hex() == RFC7748_ITERATED[i]


VECTOR_SCRIPT = HEADER + """
for k, u in %r:
    print("single", hexlify(x25519(unhexlify(k), unhexlify(u))).decode())
print("alice_public", hexlify(x25519_base(unhexlify(%r))).decode())
print("bob_public", hexlify(x25519_base(unhexlify(%r))).decode())
print("alice_shared", hexlify(x25519(unhexlify(%r), unhexlify(%r))).decode())
print("bob_shared", hexlify(x25519(unhexlify(%r), unhexlify(%r))).decode())
k = u = bytes([9]) + bytes(31)
for i in range(1, 1001):
    k, u = x25519(k, u), k
    if i in (1, 1000):
        print("iterated", i, hexlify(k).decode())
""" % (
    [(k, u) for k, u, _ in RFC7748_SINGLE],
    ALICE_PRIVATE,
    BOB_PRIVATE,
    ALICE_PRIVATE,
    BOB_PUBLIC,
    BOB_PRIVATE,
    ALICE_PUBLIC,
)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rfc7748_vectors(runtime):
    lines = run(runtime, VECTOR_SCRIPT).split("\n")
    assert lines[0] == "single " + RFC7748_SINGLE[0][2]
    assert lines[1] == "single " + RFC7748_SINGLE[1][2]
    assert lines[2] == "alice_public " + ALICE_PUBLIC
    assert lines[3] == "bob_public " + BOB_PUBLIC
    assert lines[4] == "alice_shared " + SHARED
    assert lines[5] == "bob_shared " + SHARED
    assert lines[6] == "iterated 1 " + RFC7748_ITERATED[1]
    assert lines[7] == "iterated 1000 " + RFC7748_ITERATED[1000]


REPLAY_SCRIPT = HEADER + """
CASES = %r
bad = []
for i, (k, u, out, pub) in enumerate(CASES):
    k = unhexlify(k)
    if hexlify(x25519(k, unhexlify(u))).decode() != out:
        bad.append(("x25519", i))
    if hexlify(x25519_base(k)).decode() != pub:
        bad.append(("x25519_base", i))
print("checked", len(CASES), "bad", bad)
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_replay_reference_cases(runtime):
    cases = []
    # non-canonical u (RFC 7748 section 5: taken mod p), with and without the top bit
    for u in [P + i for i in range(2, 19)] + [P + i + 2**255 for i in (2, 9, 18)]:
        k, u = os.urandom(32), u.to_bytes(32, "little")
        cases.append((h(k), h(u), h(ref_x25519(k, u)), h(ref_public(k))))
    for i in range(REPLAY_COUNT[runtime]):
        k = os.urandom(32)
        u = bytearray(os.urandom(32))
        if i % 2:
            u[31] &= 0x7F  # half the cases without the bit RFC 7748 masks
        u = bytes(u)
        cases.append((h(k), h(u), h(ref_x25519(k, u)), h(ref_public(k))))
    out = run(runtime, REPLAY_SCRIPT % (cases,)).strip()
    assert out == "checked %d bad []" % len(cases), (out, cases)


def low_order_inputs():
    # each value as given and with the top bit set, which X25519 ignores
    values = LOW_ORDER + [u + 2**255 for u in LOW_ORDER]
    return [u.to_bytes(32, "little") for u in values]


def test_low_order_inputs_are_low_order_for_reference():
    # `cryptography` refuses exactly the all-zero result
    for u in low_order_inputs():
        with pytest.raises(ValueError):
            ref_x25519(os.urandom(32), u)


LOW_ORDER_SCRIPT = HEADER + """
for k in %r:
    for u in %r:
        print(hexlify(x25519(unhexlify(k), unhexlify(u))).decode())
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_low_order_points_give_zero(runtime):
    keys = [h(os.urandom(32)) for _ in range(3)]
    inputs = [h(u) for u in low_order_inputs()]
    lines = run(runtime, LOW_ORDER_SCRIPT % (keys, inputs)).split()
    assert len(lines) == len(keys) * len(inputs)
    assert set(lines) == {"00" * 32}



CHAIN_SCRIPT = """
from ussh.crypto import curve25519 as c
for x, n in %r:
    r = c._sq_times(x, n)
    print(r %% c.p, int(0 <= r < 2**256))
"""

INVERSE_SCRIPT = """
from ussh.crypto import curve25519 as c
for z in %r:
    print(c.inverse(z), c.pow_2_252_3(z))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_field_chains(runtime):
    # the squaring chains of the inversion and the square root fold their squares instead of
    # % p (curve25519._sq_times): for any input below 2^256, the largest included, each result is
    # the power mod p and below 2^256 again, for odd and even lengths; then inverse and
    # pow_2_252_3 against Python's pow()
    xs = [0, 1, 2, P - 1, P, 2**255 - 1, 2**256 - 1] + [int.from_bytes(os.urandom(32), "little") for _ in range(6)]
    cases = [(x, n) for x in xs for n in (1, 2, 3, 5, 10)]
    lines = run(runtime, CHAIN_SCRIPT % (cases,)).split()
    assert " ".join(lines) == " ".join("%d 1" % pow(x, 2**n, P) for x, n in cases)
    zs = [0, 1, 2, P - 1, P - 2, 2**255 - 20] + [int.from_bytes(os.urandom(32), "little") % P for _ in range(6)]
    lines = run(runtime, INVERSE_SCRIPT % (zs,)).split()
    assert " ".join(lines) == " ".join("%d %d" % (pow(z, P - 2, P), pow(z, (P - 5) // 8, P)) for z in zs)
