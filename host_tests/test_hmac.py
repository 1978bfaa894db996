"""HMAC-SHA-256 (ussh.crypto.hmac): RFC 4231 test cases 1-7 and random
cross-checks against the `cryptography` package, on every runtime (the
CPython path clones hash states, the MicroPython ones re-feed the pads)."""
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac

from runtimes import RUNTIMES, run

# RFC 4231 section 4: key, data, HMAC-SHA-256 (case 5 truncated to 128 bits).
RFC4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation",
     "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131,
     b"This is a test using a larger than block-size key and a larger than "
     b"block-size data. The key needs to be hashed before being used by the "
     b"HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


def reference(key, msg):
    h = c_hmac.HMAC(key, hashes.SHA256())
    h.update(msg)
    return h.finalize().hex()


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_rfc4231_agrees_with_reference():
    for key, msg, tag in RFC4231:
        assert reference(key, msg)[: len(tag)] == tag


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rfc4231(runtime):
    code = (
        "from ussh.crypto import hmac_sha256, HMACSHA256\n"
        "for key, msg in %r:\n"
        "    m = HMACSHA256(key)\n"
        "    parts = (msg[:3], memoryview(msg)[3:10], bytearray(msg[10:]))\n"
        "    print(hmac_sha256(key, msg).hex(), m.mac(*parts).hex(), m.mac(msg).hex())\n"
    ) % ([(k, m) for k, m, _ in RFC4231],)
    out = lines(run(runtime, code))
    assert len(out) == len(RFC4231)
    for line, (_, _, tag) in zip(out, RFC4231):
        assert [x[: len(tag)] for x in line.split()] == [tag] * 3


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_random_against_reference(runtime):
    # Keys of every length 0..200 (around the 64-byte block where keys get
    # hashed) as bytes, memoryview or bytearray, messages split as the
    # transport does: uint32 seq || packet.
    rng = random.Random(4231)
    pool = bytes(rng.getrandbits(8) for _ in range(1500))
    cases = []
    for klen in range(201):
        cases.append((rng.randrange(300), klen, rng.randrange(300), rng.randrange(1200)))
    code = (
        "from ussh.crypto.hmac import hmac_sha256, HMACSHA256\n"
        "pool = bytes.fromhex(%r)\n"
        "mv = memoryview(pool)\n"
        "for koff, klen, moff, mlen in %r:\n"
        "    key = (pool, mv, bytearray(pool))[klen %% 3][koff:koff + klen]\n"
        "    msg = mv[moff:moff + mlen]\n"
        "    m = HMACSHA256(key)\n"
        "    a = m.mac(msg[:4], msg[4:])\n"
        "    b = m.mac(msg)\n"
        "    print(hmac_sha256(bytes(key), bytes(msg)).hex(), a.hex(), b.hex())\n"
    ) % (pool.hex(), cases)
    out = lines(run(runtime, code))
    assert len(out) == len(cases)
    for line, (koff, klen, moff, mlen) in zip(out, cases):
        want = reference(pool[koff:koff + klen], pool[moff:moff + mlen])
        assert line.split() == [want] * 3, (koff, klen, moff, mlen)
