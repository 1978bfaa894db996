"""Random cross-checks of ML-KEM-768's fast path (mlkem_viper.py's polynomials; on ARM boards
Keccak in Thumb assembler, keccak_thumb.py) against `cryptography` and, on a sample, against
ussh's portable code (mlkem.keygen_pure, encaps_pure, decaps_pure): 25,000 key pairs,
encapsulations and decapsulations on the MicroPython unix port, in five processes of 5,000. The
same 25,000 on the emulated Cortex-M3 (32-bit viper ints, the Thumb Keccak) run beside pytest in
`make test` (tools/crosscheck_board.py, with SCRIPT, theirs() and verify() from here).

Per case i the board derives d, z and m from SHA-512(tag || i) (the host does the same with
hashlib), makes the key pair and encapsulates, decapsulates its ciphertext and the ciphertext
with one bit flipped (implicit rejection), and, for the cases the host sends, decapsulates a
ciphertext of `cryptography`'s. It prints SHA-256 of the encapsulation key, the shared key, the
ciphertext and the decapsulated keys; the host checks the key against `cryptography`'s from the
same seeds and decapsulates the ciphertexts with `cryptography`."""
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

from runtimes import run

CHUNK = 5000

SCRIPT = """
from ussh.crypto import mlkem, sha3
from ussh.crypto.sha512 import sha512
from ussh.compat import sha256
print("paths", "viper" if mlkem._fast else "portable", sha3.KECCAK)
FAST = mlkem._fast
theirs = dict(%r)
def case(i):
    h = sha512(b"ussh-mlkem-xcheck" + i.to_bytes(4, "little"))
    return h[:32], h[32:], sha512(h)[:32]
def flip(c, i):
    j = (i * 7919) %% 8704
    c = bytearray(c)
    c[j >> 3] ^= 1 << (j & 7)
    return bytes(c)
bad = []
for i in range(%d, %d):
    d, z, m = case(i)
    ek, dk = mlkem.keygen(d, z)
    k, c = mlkem.encaps(ek, m)
    out = (ek, dk, k, c, mlkem.decaps(dk, c), mlkem.decaps(dk, flip(c, i)))
    if i %% %d == 0:
        # the portable code on the same inputs
        mlkem._fast = False
        ek2, dk2 = mlkem.keygen(d, z)
        k2, c2 = mlkem.encaps(ek, m)
        ref = (ek2, dk2, k2, c2, mlkem.decaps(dk, c), mlkem.decaps(dk, flip(c, i)))
        mlkem._fast = FAST
        if ref != out:
            bad.append(i)
    t = theirs.get(i)
    print(i, sha256(ek).digest().hex(), k.hex(), c.hex(), out[4].hex(), out[5].hex(),
          mlkem.decaps(dk, bytes.fromhex(t)).hex() if t else "-")
print("portable_differs", bad)
"""


def case(i):
    h = hashlib.sha512(b"ussh-mlkem-xcheck" + i.to_bytes(4, "little")).digest()
    return h[:32], h[32:], hashlib.sha512(h).digest()[:32]


def flip(c, i):
    j = (i * 7919) % 8704
    c = bytearray(c)
    c[j >> 3] ^= 1 << (j & 7)
    return bytes(c)


def theirs(lo, n):
    """Ciphertexts of `cryptography`'s for cases lo..lo+n-1 (for SCRIPT, which decapsulates them on
    the board) and their shared keys (for verify)."""
    cs, ks = {}, {}
    for i in range(lo, lo + n):
        d, z, _ = case(i)
        k, c = MLKEM768PrivateKey.from_seed_bytes(d + z).public_key().encapsulate()
        cs[i], ks[i] = c.hex(), k.hex()
    return sorted(cs.items()), ks


def verify(out, lo, hi, k_theirs):
    """Checks what SCRIPT % (ciphertexts, lo, hi, sample) printed against `cryptography`:
    AssertionError naming the first cases that differ; returns the board's "paths" line."""
    out = out.strip().split("\n")
    assert out[0].split()[:2] == ["paths", "viper"], out[0]
    assert out[-1] == "portable_differs []", out[-1]
    lines = out[1:-1]
    assert len(lines) == hi - lo, "%d lines for %d cases" % (len(lines), hi - lo)
    wrong = []
    for line, i in zip(lines, range(lo, hi)):
        n, ek_hash, k, c, k_again, k_bad, k_dec = line.split()
        d, z, _ = case(i)
        sk = MLKEM768PrivateKey.from_seed_bytes(d + z)
        c = bytes.fromhex(c)
        ok = (int(n) == i and ek_hash == hashlib.sha256(sk.public_key().public_bytes_raw()).hexdigest()
              and len(c) == 1088 and sk.decapsulate(c).hex() == k == k_again
              and sk.decapsulate(flip(c, i)).hex() == k_bad != k
              and k_dec == k_theirs.get(i, "-"))
        if not ok:
            wrong.append(i)
    assert not wrong, wrong[:20]
    return out[0]


def check(runtime, lo, hi, sample, n_theirs):
    cs, ks = theirs(lo, n_theirs)
    return verify(run(runtime, SCRIPT % (cs, lo, hi, sample), timeout=1800), lo, hi, ks)


@pytest.mark.parametrize("chunk", range(5))
def test_unix_port_25000(chunk):
    check("unix", chunk * CHUNK, (chunk + 1) * CHUNK, 50, 100)
