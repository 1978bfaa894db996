"""Cross-checks against `cryptography` with random keys, on every runtime: P-256 ECDSA
verification (ussh.crypto.p256, ussh.key_ecdsa) and RSA PKCS#1 v1.5 with SHA-2 (ussh.key_rsa)."""
import hashlib
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from runtimes import RUNTIMES, run

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def string(b):
    return struct.pack(">I", len(b)) + b


def mpint(v):
    return string(v.to_bytes((v.bit_length() + 8) // 8, "big")) if v else string(b"")


def p256_cases(count=12):
    out = []
    for _ in range(count):
        k = ec.generate_private_key(ec.SECP256R1())
        m = os.urandom(40)
        r, s = decode_dss_signature(k.sign(m, ec.ECDSA(hashes.SHA256())))
        pn = k.public_key().public_numbers()
        d = hashlib.sha256(m).hexdigest()
        bad = hashlib.sha256(m + b"!").hexdigest()
        out += [[pn.x, pn.y, d, r, s, True], [pn.x, pn.y, bad, r, s, False],
                [pn.x, pn.y, d, r, (s + 1) % N or 1, False], [pn.x, pn.y, d, (r * 7) % N, s, False]]
    return out


def rsa_cases():
    out = []
    for bits in (2048, 2048, 3072, 4096):
        k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pn = k.public_key().public_numbers()
        blob = string(b"ssh-rsa") + mpint(pn.e) + mpint(pn.n)
        for alg, h in ((b"rsa-sha2-256", hashes.SHA256()), (b"rsa-sha2-512", hashes.SHA512())):
            m = os.urandom(100)
            sig = k.sign(m, padding.PKCS1v15(), h)
            good = string(alg) + string(sig)
            flipped = string(alg) + string(sig[:-1] + bytes([sig[-1] ^ 1]))
            other = string(alg) + string(k.sign(m + b"x", padding.PKCS1v15(), h))
            sha1 = string(b"ssh-rsa") + string(k.sign(m, padding.PKCS1v15(), hashes.SHA1()))
            for sb, want in ((good, None), (flipped, "bad signature"), (other, "bad signature"),
                             (sha1, "signature is ssh-rsa, not %s" % alg.decode())):
                out.append([alg.decode(), blob.hex(), m.hex(), sb.hex(), want])
    return out


P256_RUNNER = """
import json
from ussh.crypto import p256
cases = json.loads(%r)
print(json.dumps([p256.on_curve(x, y) and p256.verify((x, y), bytes.fromhex(d), r, s) for x, y, d, r, s, _ in cases]))
"""

RSA_RUNNER = """
import json
from ussh import key_rsa
cases = json.loads(%r)
h = bytes.fromhex
print(json.dumps([key_rsa.verify(a.encode(), h(b), h(m), h(s)) for a, b, m, s, _ in cases]))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_p256_against_cryptography(runtime):
    cases = p256_cases()
    got = json.loads(run(runtime, P256_RUNNER % json.dumps(cases)))
    assert got == [c[-1] for c in cases]
    assert got.count(True) == 12


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rsa_against_cryptography(runtime):
    cases = rsa_cases()
    got = json.loads(run(runtime, RSA_RUNNER % json.dumps(cases)))
    assert got == [c[-1] for c in cases]


P256_POINTS = """
from ussh.crypto import p256
from ussh import key_ecdsa
G = p256.G
print(p256.on_curve(*G), p256.on_curve(G[0], G[1] + 1), p256.on_curve(G[0], G[1] + p256.p))
enc = b"\\x04" + G[0].to_bytes(32, "big") + G[1].to_bytes(32, "big")
print(p256.decode(enc) == G, p256.decode(enc[:-1] + bytes([enc[-1] ^ 1])), p256.decode(b"\\x02" + enc[1:33]))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_p256_points_checked(runtime):
    out = run(runtime, P256_POINTS).split("\n")
    assert out[0] == "True False False"
    assert out[1] == "True None None"


RSA_SMALL = """
from ussh import key_rsa
print(key_rsa.verify(b"rsa-sha2-256", bytes.fromhex(%r), b"x", b""))
"""


def test_rsa_small_modulus_named():
    k = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pn = k.public_key().public_numbers()
    blob = string(b"ssh-rsa") + mpint(pn.e) + mpint(pn.n)
    for runtime in ("cpython", "unix"):
        assert run(runtime, RSA_SMALL % blob.hex()).strip() == "RSA key of 1024 bits is too small (at least 2048)"
