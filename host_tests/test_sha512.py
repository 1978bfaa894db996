"""SHA-512 (ussh.crypto.sha512): FIPS 180-4 examples and random cross-checks
against the `cryptography` package, on every runtime, through both the
runtime's hash (where it has one) and the pure-Python code, for bytes,
bytearray and memoryview input."""
import random

import pytest
from cryptography.hazmat.primitives import hashes

from runtimes import RUNTIMES, run

# FIPS 180-4 examples (NIST "SHA512.pdf" example values): message, digest.
FIPS_VECTORS = [
    (
        b"",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
    (
        b"abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
]


def reference(data):
    h = hashes.Hash(hashes.SHA512())
    h.update(data)
    return h.finalize().hex()


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_fips_vectors_agree_with_reference():
    for msg, digest in FIPS_VECTORS:
        assert reference(msg) == digest


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fips_vectors(runtime):
    code = (
        "from ussh.crypto.sha512 import sha512, sha512_pure\n"
        "for m in %r:\n"
        "    print(sha512(m).hex(), sha512_pure(m).hex(), sha512_pure(bytearray(m)).hex())\n"
    ) % ([m for m, _ in FIPS_VECTORS],)
    out = lines(run(runtime, code))
    assert len(out) == len(FIPS_VECTORS)
    for line, (_, digest) in zip(out, FIPS_VECTORS):
        assert line.split() == [digest] * 3


def boundary_lengths():
    # Around the 128-byte block and the 112-byte padding limit (FIPS 180-4 5.1.2).
    out = []
    for edge in (0, 111, 112, 128, 240, 256, 384, 512, 1024):
        out += [n for n in (edge - 2, edge - 1, edge, edge + 1, edge + 2) if n >= 0]
    return sorted(set(out))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_random_against_reference(runtime):
    rng = random.Random(512)
    pool = bytes(rng.getrandbits(8) for _ in range(1400))
    cases = [(rng.randrange(200), n) for n in boundary_lengths()]
    while len(cases) < 220:
        cases.append((rng.randrange(200), rng.randrange(1200)))
    # memoryview slices at any offset, and their bytes copies
    code = (
        "from ussh.crypto.sha512 import sha512, sha512_pure\n"
        "pool = bytes.fromhex(%r)\n"
        "mv = memoryview(pool)\n"
        "for off, n in %r:\n"
        "    m = mv[off:off + n]\n"
        "    print(sha512(m).hex(), sha512_pure(m).hex(), sha512_pure(bytes(m)).hex())\n"
    ) % (pool.hex(), cases)
    out = lines(run(runtime, code))
    assert len(out) == len(cases)
    for line, (off, n) in zip(out, cases):
        want = reference(pool[off:off + n])
        assert line.split() == [want] * 3, (off, n)
