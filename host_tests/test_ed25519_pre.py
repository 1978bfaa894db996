"""ed25519_pre.py: Ed25519 verification under a public key prepared ahead (its comb tables, built
while the server is idle), the portable path's shortcut for the users' keys. Cross-checked against
`cryptography` and against ed25519.py's general verification: 25,000 signatures under 250 keys on
CPython (and 2,500 of ussh's own signatures, made with B's tables carrying 2*d*x*y, as prepare()
leaves them), a sample on the MicroPython unix port and the wasm port (the portable code on 64- and
32-bit ints), the cofactored equation with mixed-order keys and R, and driver.warm preparing
the users' keys (about 1.5 minutes in all)."""
import hashlib
import os
import random
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import LIB, run
from test_ed25519 import BX, BY, IDENTITY, L, ref_add, ref_decode, ref_encode, ref_mul, secret_scalar

RAW = (Encoding.Raw, PublicFormat.Raw)

if LIB not in sys.path:
    sys.path.insert(0, LIB)


def corrupt(r, sig, msg, pub):
    w = r.randrange(3)
    if w == 0:
        sig = bytearray(sig)
        sig[r.randrange(64)] ^= 1 << r.randrange(8)
        return bytes(sig), msg
    msg = bytearray(msg + b"x")
    msg[r.randrange(len(msg))] ^= 1 << r.randrange(8)
    return sig, bytes(msg)


def reference(pub, msg, sig):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


@pytest.mark.parametrize("chunk", range(5))
def test_prepared_keys_crosscheck_25000(chunk):
    from ussh.crypto import ed25519, ed25519_pre, ed25519_pure

    r = random.Random(1900 + chunk)
    verdicts = set()
    for n in range(50):
        seed = r.randbytes(32)
        sk = Ed25519PrivateKey.from_private_bytes(seed)
        pub = sk.public_key().public_bytes(*RAW)
        ed25519._pre.clear()
        assert ed25519_pre.prepare(pub) and pub in ed25519._pre
        assert ed25519_pure._TT  # B's combs with 2*d*x*y: the signatures below use them too
        for i in range(100):
            msg = r.randbytes(r.randrange(0, 300))
            sig = sk.sign(msg)
            if i % 10 == 0:
                assert ed25519.ed25519_sign(seed, msg) == sig
            if i % 2:
                sig, msg = corrupt(r, sig, msg, pub)
            got = ed25519.ed25519_verify(pub, msg, sig)
            assert got is reference(pub, msg, sig), (chunk, n, i)
            verdicts.add(got)
            if i % 10 == 0:
                tabs = ed25519._pre.pop(pub)  # the general path on the same input
                assert ed25519.ed25519_verify(pub, msg, sig) is got
                ed25519._pre[pub] = tabs
    ed25519._pre.clear()
    assert verdicts == {True, False}


_T8 = []


def order_8_points():
    # the points of order 8 (the torsion group is cyclic: the odd multiples of one of them)
    if not _T8:
        y = 2
        while True:
            y += 1
            try:
                t = ref_mul(L, ref_decode(y.to_bytes(32, "little")))
            except AssertionError:
                continue
            if ref_mul(4, t) != IDENTITY:
                break
        _T8.extend(ref_mul(j, t) for j in (1, 3, 5, 7))
    return _T8


def mixed_order_case(r):
    # a key A' = A + T8 and R' = [r]B + T8' with T8, T8' of order 8: the cofactored equation of
    # RFC 8032 section 5.1.7 holds for S = r + k*s, the one without the cofactor does not
    t8 = order_8_points()
    seed = r.randbytes(32)
    s = secret_scalar(seed)
    A = ref_add(ref_mul(s, (BX, BY)), r.choice(t8))
    pub = ref_encode(A)
    msg = r.randbytes(20)
    rr = r.randrange(1, L)
    R = ref_encode(ref_add(ref_mul(rr, (BX, BY)), r.choice(t8)))
    k = int.from_bytes(hashlib.sha512(R + pub + msg).digest(), "little") % L
    return pub, msg, R + ((rr + k * s) % L).to_bytes(32, "little")


SCRIPT = """
from binascii import unhexlify
from ussh.crypto import ed25519, ed25519_pre
ed25519._fast = False  # the portable code, also where the port has viper
out = []
for pub, msg, sig in %r:
    pub, msg, sig = unhexlify(pub), unhexlify(msg), unhexlify(sig)
    general = ed25519.ed25519_verify(pub, msg, sig)
    ed25519_pre.prepare(pub)
    out.append("%%d%%d" %% (general, ed25519.ed25519_verify(pub, msg, sig)))
print(" ".join(out))
"""


@pytest.mark.parametrize("runtime", ["cpython", "unix", "wasm"])
def test_prepared_agrees_with_general_path(runtime):
    # valid, corrupted and mixed-order cases: the prepared key gives the general path's verdict
    r = random.Random(8032)
    cases, want = [], []
    for i in range(24):
        if i % 4 == 3:
            pub, msg, sig = mixed_order_case(r)
            want.append("11")
        else:
            sk = Ed25519PrivateKey.from_private_bytes(r.randbytes(32))
            pub = sk.public_key().public_bytes(*RAW)
            msg = r.randbytes(r.randrange(0, 200))
            sig = sk.sign(msg)
            if i % 2:
                sig, msg = corrupt(r, sig, msg, pub)
            want.append("11" if reference(pub, msg, sig) else "00")
        cases.append((pub.hex(), msg.hex(), sig.hex()))
    assert run(runtime, SCRIPT % (cases,)).split() == want
    assert "11" in want and "00" in want


def test_prepare_refuses_a_non_point_and_keeps_few_keys():
    from ussh.crypto import ed25519, ed25519_pre

    ed25519._pre.clear()
    y = 2
    while ed25519._decode(y.to_bytes(32, "little")) is not None:
        y += 1
    assert ed25519_pre.prepare(y.to_bytes(32, "little")) is False
    assert not ed25519._pre
    pubs = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32).public_key().public_bytes(*RAW) for i in range(6)]
    for p in pubs:
        assert ed25519_pre.prepare(p)
    assert list(ed25519._pre) == pubs[-ed25519_pre._MAX :]
    ed25519._pre.clear()


def test_warm_prepares_the_users_ed25519_keys(tmp_path):
    # driver.warm (idle work before the first client) prepares the ssh-ed25519 keys of
    # authorized_keys where the verification is the portable one (CPython: always)
    from ussh import driver, startup
    from ussh.crypto import ed25519

    from peers import keygen

    ak = b""
    pubs = []
    for name in ("a", "b"):
        path = keygen(os.path.join(str(tmp_path), name), name)
        with open(path + ".pub", "rb") as f:
            line = f.read()
        ak += line
        import base64

        pubs.append(base64.b64decode(line.split()[1])[-32:])
    host = keygen(os.path.join(str(tmp_path), "host"), "host")
    ed25519._pre.clear()
    cfg = startup.make_config(host, ak, log=lambda m: None)
    assert not ed25519._pre
    driver.warm(cfg)
    assert sorted(ed25519._pre) == sorted(pubs)
    ed25519._pre.clear()


def test_warm_on_a_heap_too_small_for_the_tables_prepares_none_and_verifies(tmp_path, monkeypatch):
    # a board loading ussh from .mpy (the 140 KB emulated one, host_tests/test_small_board.py) ran
    # out of memory building the second key's tables inside warm(), before any client: every
    # connection then failed to start. Now warm() keeps none and verification takes the general path.
    import base64

    from ussh import driver, startup
    from ussh.crypto import ed25519, ed25519_pre
    from ussh.crypto.ed25519 import ed25519_public, ed25519_sign, ed25519_verify

    from peers import keygen

    ak = b""
    for name in ("a", "b"):
        with open(keygen(os.path.join(str(tmp_path), name), name) + ".pub", "rb") as f:
            ak += f.read()
    seed = bytes(range(32))
    pub = ed25519_public(seed)
    ak += b"ssh-ed25519 " + base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + pub) + b" c\n"
    real = ed25519_pre.comb_tables
    built = []

    def tight(A):
        if built:
            raise MemoryError("memory allocation failed, allocating 2048 bytes")
        built.append(A)
        return real(A)

    monkeypatch.setattr(ed25519_pre, "comb_tables", tight)
    ed25519._pre.clear()
    cfg = startup.make_config(keygen(os.path.join(str(tmp_path), "host"), "host"), ak, log=lambda m: None)
    driver.warm(cfg)
    assert len(built) == 1 and not ed25519._pre
    sig = ed25519_sign(seed, b"msg")
    assert ed25519_verify(pub, b"msg", sig) and not ed25519_verify(pub, b"msh", sig)
