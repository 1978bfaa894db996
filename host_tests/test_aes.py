"""AES-CTR (ussh.crypto.aes): NIST SP 800-38A F.5.1 / F.5.5 and random
cross-checks against the `cryptography` package, on every runtime and every
keystream backend the runtime has (unix: cryptolib ECB batches, and pure;
CPython and wasm: pure), plus both cryptolib backends (CTR mode, ECB
batches) on CPython through a stand-in cryptolib."""
import hashlib
import os
import random
import sys

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from runtimes import LIB, RUNTIMES, run

PLAIN = (
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
COUNTER = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
# SP 800-38A appendix F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256.Encrypt).
SP800_38A = [
    (
        "2b7e151628aed2a6abf7158809cf4f3c",
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
    ),
    (
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
        "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
    ),
]

# The backends each runtime must have, and its default one.
BACKENDS = {"cpython": ["pure"], "unix": ["ecb", "pure"], "wasm": ["pure"]}
DEFAULT = {"cpython": "pure", "unix": "ecb", "wasm": "pure"}


def reference(key, iv, data):
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_vectors_agree_with_reference():
    for key, ct in SP800_38A:
        got = reference(bytes.fromhex(key), bytes.fromhex(COUNTER), bytes.fromhex(PLAIN))
        assert got.hex() == ct


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_sp800_38a(runtime):
    # Each vector in pieces of 16, 5 and the rest (the transport decrypts
    # a packet's first block first), and once as a whole.
    code = (
        "from ussh.crypto import AESCTR\n"
        "print('default', AESCTR(bytes(16), bytes(16)).backend)\n"
        "pt = bytes.fromhex(%r)\n"
        "iv = bytes.fromhex(%r)\n"
        "for backend in %r:\n"
        "    for key in %r:\n"
        "        key = bytes.fromhex(key)\n"
        "        c = AESCTR(key, iv, backend)\n"
        "        b = bytearray(pt)\n"
        "        c.apply(b, 0, 16)\n"
        "        c.apply(b, 16, 21)\n"
        "        c.apply(b, 21)\n"
        "        whole = bytearray(pt)\n"
        "        AESCTR(key, iv, backend).apply(memoryview(whole))\n"
        "        print(backend, b.hex(), whole.hex())\n"
    ) % (PLAIN, COUNTER, BACKENDS[runtime], [k for k, _ in SP800_38A])
    out = lines(run(runtime, code))
    assert out[0].split() == ["default", DEFAULT[runtime]]
    want = []
    for backend in BACKENDS[runtime]:
        for _, ct in SP800_38A:
            want.append([backend, ct, ct])
    assert [x.split() for x in out[1:]] == want


def random_cases(rng, count, max_len):
    """(key, iv, total length, apply() piece lengths, margin) tuples: both key
    sizes, counters near the 2^128 wrap and near 32/64-bit carries."""
    cases = []
    for i in range(count):
        key = bytes(rng.getrandbits(8) for _ in range(16 if i % 2 else 32))
        kind = i % 4
        back = rng.randrange(1, 300)
        if kind == 0:
            ctr = rng.getrandbits(128)
        elif kind == 1:
            ctr = (1 << 128) - back
        elif kind == 2:
            ctr = (rng.getrandbits(96) << 32) | ((1 << 32) - back)
        else:
            ctr = (rng.getrandbits(64) << 64) | ((1 << 64) - back)
        n = rng.randrange(max_len) | 1 if i % 3 else rng.randrange(max_len)
        pieces = []
        left = n
        while left:
            k = min(left, rng.choice((1, 3, 15, 16, 17, rng.randrange(1, 2000))))
            pieces.append(k)
            left -= k
        cases.append((key.hex(), ctr.to_bytes(16, "big").hex(), n, pieces, rng.randrange(4)))
    return cases


# A case xors the keystream into a zero buffer of n bytes between `margin`
# guard bytes on each side, piece by piece, and prints a SHA-256 of the
# result and whether the guard bytes are untouched.
REPLAY = (
    "import hashlib\n"
    "from ussh.crypto.aes import AESCTR\n"
    "for backend in %r:\n"
    "    for key, iv, n, pieces, margin in %r:\n"
    "        c = AESCTR(bytes.fromhex(key), bytes.fromhex(iv), backend)\n"
    "        buf = bytearray(b'\\xa5' * (n + 2 * margin))\n"
    "        for i in range(margin, margin + n):\n"
    "            buf[i] = 0\n"
    "        pos = margin\n"
    "        for k in pieces:\n"
    "            c.apply(buf, pos, pos + k)\n"
    "            pos += k\n"
    "        guard = buf[:margin] + buf[margin + n:] == b'\\xa5' * (2 * margin)\n"
    "        ks = hashlib.sha256(memoryview(buf)[margin:margin + n]).digest()\n"
    "        print(backend, ks.hex(), guard)\n"
)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_random_against_reference(runtime):
    rng = random.Random(38)
    count, max_len = (200, 3000) if runtime != "wasm" else (200, 1200)
    cases = random_cases(rng, count, max_len)
    out = lines(run(runtime, REPLAY % (BACKENDS[runtime], cases)))
    assert len(out) == len(cases) * len(BACKENDS[runtime])
    want = []
    for backend in BACKENDS[runtime]:
        for key, iv, n, _, _ in cases:
            ks = reference(bytes.fromhex(key), bytes.fromhex(iv), bytes(n))
            want.append([backend, hashlib.sha256(ks).hexdigest(), "True"])
    assert [x.split() for x in out] == want


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_xor(runtime):
    # The big-integer xor on slices at every alignment and length 0..40
    # (leading zero bytes must survive), against bytes xored here.
    rng = random.Random(7)
    a = bytes(rng.getrandbits(8) for _ in range(64))
    b = bytes(a[:8]) + bytes(rng.getrandbits(8) for _ in range(56))
    spans = [(i, j, n) for i in range(4) for j in range(4) for n in range(41)]
    code = (
        "from ussh.crypto.aes import _xor\n"
        "a = bytes.fromhex(%r)\n"
        "b = bytes.fromhex(%r)\n"
        "for i, j, n in %r:\n"
        "    d = bytearray(a)\n"
        "    _xor(memoryview(d)[i:i + n], memoryview(b)[j:j + n])\n"
        "    print(d.hex())\n"
    ) % (a.hex(), b.hex(), spans)
    want = []
    for i, j, n in spans:
        d = bytearray(a)
        for k in range(n):
            d[i + k] ^= b[j + k]
        want.append(d.hex())
    assert lines(run(runtime, code)) == want


class StandInCryptolib:
    """cryptolib.aes(key, mode[, iv]) as MicroPython has it, on top of the
    `cryptography` package: ECB (mode 1) and optionally CTR (mode 6)."""

    def __init__(self, with_ctr):
        self.with_ctr = with_ctr
        self.made = []

    def aes(self, key, mode, iv=None):
        if mode == 6 and not self.with_ctr:
            raise ValueError("mode")
        if mode == 1:
            ctx = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
        elif mode == 6:
            ctx = Cipher(algorithms.AES(bytes(key)), modes.CTR(bytes(iv))).encryptor()
        else:
            raise ValueError("mode")
        self.made.append(mode)
        stand_in = self

        class Aes:
            def encrypt(self, src, dst):
                if mode == 1 and len(src) % 16:
                    raise ValueError("ECB needs whole blocks")
                stand_in.bytes_in = getattr(stand_in, "bytes_in", 0) + len(src)
                dst[:] = ctx.update(bytes(src))

        return Aes()


@pytest.fixture
def aes_module(monkeypatch):
    if LIB not in sys.path:
        monkeypatch.syspath_prepend(LIB)
    from ussh.crypto import aes

    return aes


@pytest.mark.parametrize("with_ctr", [True, False])
def test_cryptolib_backends(aes_module, monkeypatch, with_ctr):
    lib = StandInCryptolib(with_ctr)
    monkeypatch.setattr(aes_module, "cryptolib", lib)
    rng = random.Random(6 if with_ctr else 1)
    cases = random_cases(rng, 200, 5000)
    for key, iv, n, pieces, _ in cases:
        c = aes_module.AESCTR(bytes.fromhex(key), bytes.fromhex(iv))
        assert c.backend == ("ctr" if with_ctr else "ecb")
        buf = bytearray(n)
        pos = 0
        for k in pieces:
            c.apply(memoryview(buf), pos, pos + k)
            pos += k
        assert bytes(buf) == reference(bytes.fromhex(key), bytes.fromhex(iv), bytes(n))
    # ECB batches never produce more keystream than asked for, rounded up
    # to a block, per call (no waste on many short packets).
    if not with_ctr:
        lib.bytes_in = 0
        c = aes_module.AESCTR(os.urandom(16), os.urandom(16))
        for _ in range(10):
            c.apply(bytearray(20))
        assert lib.bytes_in == 208


def test_rejects_bad_sizes(aes_module):
    for key, iv in ((bytes(15), bytes(16)), (bytes(33), bytes(16)), (bytes(16), bytes(12))):
        with pytest.raises(ValueError):
            aes_module.AESCTR(key, iv)


def test_precomputed_table_is_current_and_used():
    # lib/ussh/crypto/aes_tab.py is what tools/aes_table.py writes (aes_pure's tables packed as
    # aes_viper builds them), and the viper backend takes it: no aes_pure tables get built
    import subprocess

    root = os.path.dirname(LIB)
    p = subprocess.run([sys.executable, os.path.join(root, "tools", "aes_table.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    code = ("from ussh.crypto import aes_pure, aes_viper\n"
            "from ussh.crypto.aes_tab import TABLE\n"
            "from ussh.crypto.aes import AESCTR\n"
            "b = bytearray(32)\n"
            "AESCTR(bytes(range(32)), bytes(16), 'viper').apply(b)\n"
            "print(aes_viper._T == TABLE, aes_pure._T is None, b.hex())\n")
    want = Cipher(algorithms.AES(bytes(range(32))), modes.CTR(bytes(16))).encryptor().update(bytes(32)).hex()
    assert run("unix", code).split() == ["True", "True", want]


def test_pure_counter_carries_and_wraps():
    # aes_pure.encrypt_ctr keeps the counter as eight 16-bit halves: a run of blocks that carries
    # across halves (0x..ffff), through 2^64 and around 2^128 gives the keystream and the next
    # counter that AES-CTR on a 128-bit counter gives
    sys.path.insert(0, LIB)
    from ussh.crypto.aes_pure import encrypt_ctr, expand_key, prepare

    r = random.Random(19)
    starts = [(1 << 128) - 3, (1 << 64) - 2, 0xFFFE, (r.getrandbits(96) << 32) | 0xFFFFFFFF]
    starts += [r.getrandbits(128) for _ in range(20)]
    for c in starts:
        key = bytes(r.getrandbits(8) for _ in range(r.choice((16, 32))))
        n = r.randrange(3, 9)
        ks = bytearray(16 * n)
        assert encrypt_ctr(expand_key(key), ks, c, n) == (c + n) % (1 << 128)
        ref = Cipher(algorithms.AES(key), modes.CTR(c.to_bytes(16, "big"))).encryptor().update(bytes(16 * n))
        assert bytes(ks) == ref, hex(c)
        # the round keys prepared once (AESCTR's way) give the same
        ks2 = bytearray(16 * n)
        assert encrypt_ctr(prepare(expand_key(key)), ks2, c, n) == (c + n) % (1 << 128) and ks2 == ks


def test_viper_backend_builds_the_precomputed_table_without_it(tmp_path):
    # where aes_tab.py is not installed (it is optional), aes_viper builds its tables itself
    # (the code tools/aes_table.py runs on CPython): the same bytes as the file, and the same
    # keystream as `cryptography`, on the unix port with the viper code
    import shutil

    shutil.copytree(os.path.join(LIB, "ussh"), str(tmp_path / "ussh"),
                    ignore=shutil.ignore_patterns("aes_tab.py", "__pycache__"))
    assert not (tmp_path / "ussh" / "crypto" / "aes_tab.py").exists()
    sys.path.insert(0, LIB)
    try:
        from ussh.crypto.aes_tab import TABLE
    finally:
        sys.path.pop(0)
    key, iv = os.urandom(32), os.urandom(16)
    code = ("from ussh.crypto import aes_viper\n"
            "from ussh.crypto.aes import AESCTR\n"
            "b = bytearray(48)\n"
            "AESCTR(%r, %r, 'viper').apply(b)\n"
            "print(aes_viper._T == %r, b.hex())\n" % (key, iv, TABLE))
    want = reference(key, iv, bytes(48)).hex()
    assert run("unix", code, libdir=str(tmp_path)).split() == ["True", want]


def test_wipe_allocates_nothing_on_micropython():
    # wipe() runs where a connection ends, also when it ends because the heap ran out: there it
    # must not need the heap (bytes(256) for the overwrite, on the 110 KB board, raised a second
    # MemoryError outside the connection's guard, and the client never got its DISCONNECT)
    code = (
        "import micropython\nfrom ussh.crypto.aes import AESCTR\n"
        "for b in ('pure', 'viper'):\n"
        "    c = AESCTR(bytes(range(16)), bytes(16), backend=b)\n"
        "    c.apply(bytearray(5))\n"
        "    micropython.heap_lock()\n"
        "    try:\n        c.wipe()\n    finally:\n        micropython.heap_unlock()\n"
        "    print(b, sum(c._ks), c._pos, c._have)\n"
        "from ussh.crypto import HMACSHA256\nh = HMACSHA256(b'k' * 32)\n"
        "micropython.heap_lock()\ntry:\n    h.wipe()\nfinally:\n    micropython.heap_unlock()\n"
        "print('hmac', sum(h._i) + sum(h._o))\n"
    )
    assert run("unix", code).split() == ["pure", "0", "0", "0", "viper", "0", "0", "0", "hmac", "0"]
