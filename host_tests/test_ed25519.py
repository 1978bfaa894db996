"""Ed25519 (lib/ussh/crypto/ed25519.py) on every runtime: RFC 8032 vectors,
a replay of keys and signatures made by `cryptography`, and inputs that
ed25519_verify must refuse without raising."""
import hashlib
import os
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import RUNTIMES, run

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P

HEADER = """
from binascii import hexlify, unhexlify
from ussh.crypto.ed25519 import ed25519_public, ed25519_sign, ed25519_verify
"""

# RFC 8032 section 7.1: (name, secret key, public key, message, signature)
RFC8032 = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
        "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
        "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
        "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
        "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
        "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
        "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
        "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
        "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
        "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
        "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
        "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
        "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
        "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
        "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
        "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
        "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
        "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
        "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
        "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
        "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
        "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
        "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
        "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
        "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
        "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
        "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
        "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
        "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
        "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
        "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
        "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]

REPLAY_COUNT = {"cpython": 200, "unix": 200, "wasm": 60}


def ref_public(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ref_sign(seed, msg):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)


def ref_verify(pub, msg, sig):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def test_rfc_vectors_agree_with_reference():
    assert len(bytes.fromhex(RFC8032[3][3])) == 1023
    assert RFC8032[4][3] == hashlib.sha512(b"abc").hexdigest()
    for _, seed, pub, msg, sig in RFC8032:
        seed, pub, msg, sig = (bytes.fromhex(x) for x in (seed, pub, msg, sig))
        assert ref_public(seed) == pub
        assert ref_sign(seed, msg) == sig
        assert ref_verify(pub, msg, sig)


VECTOR_SCRIPT = HEADER + """
for name, seed, pub, msg, sig in %r:
    seed, pub, msg, sig = (unhexlify(x) for x in (seed, pub, msg, sig))
    print(name, hexlify(ed25519_public(seed)).decode(), hexlify(ed25519_sign(seed, msg)).decode(),
          ed25519_verify(pub, msg, sig))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rfc8032_vectors(runtime):
    lines = run(runtime, VECTOR_SCRIPT % (RFC8032,)).strip().split("\n")
    assert len(lines) == len(RFC8032)
    for line, (name, _, pub, _, sig) in zip(lines, RFC8032):
        assert line == "%s %s %s True" % (name, pub, sig)


REPLAY_SCRIPT = HEADER + """
CASES = %r
bad = []
for i, (seed, msg, pub, sig, other_pub, other_sig) in enumerate(CASES):
    seed, msg, pub, sig, other_pub, other_sig = (
        unhexlify(x) for x in (seed, msg, pub, sig, other_pub, other_sig))
    if ed25519_public(seed) != pub:
        bad.append(("public", i))
    if ed25519_sign(seed, msg) != sig:
        bad.append(("sign", i))
    if ed25519_verify(other_pub, msg, other_sig) is not True:
        bad.append(("verify", i))
    if ed25519_verify(pub, msg, other_sig) is not False:
        bad.append(("verify other key", i))
print("checked", len(CASES), "bad", bad)
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_replay_reference_cases(runtime):
    cases = []
    for i in range(REPLAY_COUNT[runtime]):
        seed, other = os.urandom(32), os.urandom(32)
        msg = os.urandom(random.choice((0, 1, 32, 100, 111, 112, 113, random.randrange(300))))
        cases.append(
            tuple(
                x.hex()
                for x in (seed, msg, ref_public(seed), ref_sign(seed, msg), ref_public(other), ref_sign(other, msg))
            )
        )
    out = run(runtime, REPLAY_SCRIPT % (cases,)).strip()
    assert out == "checked %d bad []" % len(cases), (out, cases)


def secret_scalar(seed):
    # RFC 8032 section 5.1.5
    a = bytearray(hashlib.sha512(seed).digest()[:32])
    a[0] &= 248
    a[31] = (a[31] & 63) | 64
    return int.from_bytes(a, "little")


def forge_with_r(seed, msg, r_enc):
    # A signature whose R is the given encoding of the identity: S = k*s makes
    # [S]B - [k]A the identity.
    pub = ref_public(seed)
    k = int.from_bytes(hashlib.sha512(r_enc + pub + msg).digest(), "little") % L
    return r_enc + (k * secret_scalar(seed) % L).to_bytes(32, "little")


def is_square(x):
    return pow(x, (P - 1) // 2, P) in (0, 1)


def undecodable_points():
    # 32-byte strings that are not the encoding of a point (RFC 8032 5.1.3)
    y = next(y for y in range(2, 100) if not is_square((y * y - 1) * pow(D * y * y + 1, P - 2, P) % P))
    out = {
        "not on curve": y,
        "not on curve, sign": y | 1 << 255,
        "y = p": P,
        "y = p + 1 (1)": P + 1,
        "y = p + 3": P + 3,
        "y = 2^255 - 1": 2**255 - 1,
        "x = 0 with sign (y = 1)": 1 | 1 << 255,
        "x = 0 with sign (y = -1)": (P - 1) | 1 << 255,
    }
    assert is_square(3)  # so "y = p + 3" fails for being non-canonical only
    return {name: v.to_bytes(32, "little") for name, v in out.items()}


def negative_cases():
    seed = os.urandom(32)
    msg = os.urandom(8)
    pub = ref_public(seed)
    sig = ref_sign(seed, msg)
    S = int.from_bytes(sig[32:], "little")
    cases = {
        "pub 31": (pub[:31], msg, sig),
        "pub 33": (pub + b"\0", msg, sig),
        "pub 0": (b"", msg, sig),
        "sig 63": (pub, msg, sig[:63]),
        "sig 65": (pub, msg, sig + b"\0"),
        "sig 0": (pub, msg, b""),
        "S + L": (pub, msg, sig[:32] + (S + L).to_bytes(32, "little")),
        "S = L": (pub, msg, sig[:32] + L.to_bytes(32, "little")),
        "S = 2^256 - 1": (pub, msg, sig[:32] + b"\xff" * 32),
        "other message": (pub, msg + b"\0", sig),
        "R = non-canonical identity": (pub, msg, forge_with_r(seed, msg, (P + 1).to_bytes(32, "little"))),
        "R = identity with sign": (pub, msg, forge_with_r(seed, msg, (1 | 1 << 255).to_bytes(32, "little"))),
    }
    for name, enc in undecodable_points().items():
        cases["pub " + name] = (enc, msg, sig)
        cases["R " + name] = (pub, msg, enc + sig[32:])
    for case in cases.values():
        assert not ref_verify(*case)
    return seed, msg, pub, sig, cases


NEGATIVE_SCRIPT = HEADER + """
seed, msg, pub, sig = (unhexlify(x) for x in %r)
print("valid", ed25519_verify(pub, msg, sig), ed25519_verify(bytearray(pub), memoryview(msg), bytearray(sig)))
print("identity R", ed25519_verify(pub, msg, unhexlify(%r)))
for name, (a, m, s) in sorted(%r.items()):
    print(name + ":", ed25519_verify(unhexlify(a), unhexlify(m), unhexlify(s)))
for a, m, s in ((None, msg, sig), (pub, None, sig), (pub, msg, None), (1, msg, sig), (pub, msg, 64),
                ("x" * 32, msg, sig), (pub, msg, "x" * 64), (list(pub), msg, sig), (pub, msg, [0] * 64)):
    print("types:", ed25519_verify(a, m, s))
accepted = []
for name, data in (("pub", pub), ("msg", msg), ("sig", sig)):
    for bit in range(8 * len(data)):
        b = bytearray(data)
        b[bit >> 3] ^= 1 << (bit & 7)
        args = [pub, msg, sig]
        args[("pub", "msg", "sig").index(name)] = bytes(b)
        if ed25519_verify(*args) is not False:
            accepted.append((name, bit))
print("flips", 8 * (len(pub) + len(msg) + len(sig)), "accepted", accepted)
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_verify_refuses_bad_input(runtime):
    seed, msg, pub, sig, cases = negative_cases()
    identity_r = forge_with_r(seed, msg, (1).to_bytes(32, "little"))
    hexcases = {name: tuple(x.hex() for x in case) for name, case in cases.items()}
    out = run(runtime, NEGATIVE_SCRIPT % ((seed.hex(), msg.hex(), pub.hex(), sig.hex()), identity_r.hex(), hexcases))
    lines = out.strip().split("\n")
    assert lines[0] == "valid True True"
    # the canonical identity is a valid R: the forgery construction is sound,
    # so the refusals below are for the encodings alone
    assert lines[1] == "identity R %s" % ref_verify(pub, msg, identity_r)
    assert lines[1] == "identity R True"
    named = lines[2 : 2 + len(cases)]
    assert named == ["%s: False" % name for name in sorted(cases)]
    types = lines[2 + len(cases) : -1]
    assert types == ["types: False"] * 9
    assert lines[-1] == "flips %d accepted []" % (8 * (32 + 8 + 64))


# Reference Edwards arithmetic (affine, RFC 8032 section 5.1.4 addition with
# inversions), slow and plain, for the checks below.
BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
IDENTITY = (0, 1)


def ref_add(P1, P2):
    (x1, y1), (x2, y2) = P1, P2
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def ref_mul(k, P1):
    R = IDENTITY
    while k:
        if k & 1:
            R = ref_add(R, P1)
        P1 = ref_add(P1, P1)
        k >>= 1
    return R


def ref_encode(P1):
    return (P1[1] | (P1[0] & 1) << 255).to_bytes(32, "little")


def ref_decode(s):
    y = int.from_bytes(s, "little") & (2**255 - 1)
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if x * x % P != xx:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert x * x % P == xx
    return (P - x if (x & 1) != s[31] >> 7 else x, y)


def test_tables_are_multiples_of_b():
    # the tables ed25519.py builds on first use against multiples of B
    # computed here: [1]B..[15]B, the comb's table 0, the same odd multiples
    # of [2^128]B, the comb's table 1
    import sys

    from runtimes import LIB

    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from ussh.crypto import ed25519

    T = ed25519._table()
    assert ed25519._table() is T  # built once

    def affine(t, i):
        return tuple(int.from_bytes(t[64 * i + 32 * c : 64 * i + 32 * c + 32], "little") for c in (0, 1))

    B = (BX, BY)
    G = [ref_mul(2 ** (26 * j), B) for j in range(10)]
    assert [len(t) for t in T] == [8 * 64, 16 * 64, 8 * 64, 16 * 64]
    for g, t in ((0, T[1]), (5, T[3])):
        for u in range(16):
            Q = G[g]
            for j in range(1, 5):
                Q = ref_add(Q, G[g + j] if u >> (j - 1) & 1 else ((-G[g + j][0]) % P, G[g + j][1]))
            assert affine(t, u) == Q
    B128 = ref_mul(2**128, B)
    for i in range(8):
        assert affine(T[0], i) == ref_mul(2 * i + 1, B)
        assert affine(T[2], i) == ref_mul(2 * i + 1, B128)


HELPER_SCRIPT = """
from binascii import hexlify
from ussh.crypto import ed25519
from ussh.crypto.ed25519 import L, _encode, _half_size, _wnaf
from ussh.crypto.ed25519_pure import _base_mul
for k in %r:
    print("base", hexlify(_encode(*_base_mul(k))).decode())
    for w in (4, 5):
        e = _wnaf(k, w)
        total = 0
        last = -w
        ok = True
        for i in range(256):
            if e[i]:
                v = e[i] - 32
                ok = ok and v & 1 and abs(v) < 1 << (w - 1) and i - last >= w
                last = i
                total += v << i
        print("wnaf", w, total == k, ok)
    u, v = _half_size(k)
    print("half", (u - v * k) %% L == 0, abs(u) < 1 << 127, 0 < abs(v) < 1 << 127)
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_scalar_multiplication_helpers(runtime):
    # the comb for both parities of k and its ends, the NAF digits, the
    # half-size decomposition used by verification
    scalars = [0, 1, 2, 3, 8, 2**128, L - 2, L - 1]
    scalars += [random.randrange(L) * 2 for _ in range(3)]
    scalars = [k % L for k in scalars] + [random.randrange(L) | 1 for _ in range(3)]
    lines = run(runtime, HELPER_SCRIPT % (scalars,)).strip().split("\n")
    assert len(lines) == 4 * len(scalars)
    for n, k in enumerate(scalars):
        assert lines[4 * n] == "base %s" % ref_encode(ref_mul(k, (BX, BY))).hex()
        assert lines[4 * n + 1 : 4 * n + 4] == ["wnaf 4 True True", "wnaf 5 True True", "half True True True"]


COFACTOR_SCRIPT = HEADER + """
print(ed25519_verify(unhexlify(%r), unhexlify(%r), unhexlify(%r)))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_verification_is_cofactored(runtime):
    # RFC 8032 section 5.1.7 checks [8][S]B = [8]R + [8][k]A. A signer who
    # adds a point of order 8 to R makes [S]B = R + [k]A false but keeps the
    # cofactored equation: ussh accepts such a signature (the comparison
    # without the cofactor would refuse it), as it accepts any valid one.
    seed, msg = os.urandom(32), os.urandom(20)
    pub = ref_public(seed)
    y = 2
    while True:
        y += 1
        try:
            T8 = ref_mul(L, ref_decode(y.to_bytes(32, "little")))
        except AssertionError:
            continue
        if ref_mul(4, T8) != IDENTITY:
            break
    r = random.randrange(1, L)
    R = ref_encode(ref_add(ref_mul(r, (BX, BY)), T8))
    k = int.from_bytes(hashlib.sha512(R + pub + msg).digest(), "little") % L
    S = (r + k * secret_scalar(seed)) % L
    sig = R + S.to_bytes(32, "little")
    A = ref_decode(pub)
    kA = ref_mul(k, A)
    lhs = ref_mul(S, (BX, BY))
    rhs = ref_add(ref_decode(R), kA)
    assert lhs != rhs
    assert ref_mul(8, lhs) == ref_mul(8, rhs)
    assert run(runtime, COFACTOR_SCRIPT % (pub.hex(), msg.hex(), sig.hex())).strip() == "True"


def test_verify_lets_memory_error_through(monkeypatch):
    # a heap that ran out while checking a signature is not a bad signature: the connection
    # ends "out of memory" (on the 110 KB board a client was told its key was refused)
    import sshpair  # noqa: F401  (lib/ on the path)
    from ussh.crypto import ed25519 as e

    seed = bytes(range(32))
    pub, sig = e.ed25519_public(seed), e.ed25519_sign(seed, b"m")
    assert e.ed25519_verify(pub, b"m", sig)

    def full(*a):
        raise MemoryError

    monkeypatch.setattr(e, "sha512", full)
    with pytest.raises(MemoryError):
        e.ed25519_verify(pub, b"m", sig)
