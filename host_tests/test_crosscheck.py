"""Random cross-checks of the fast X25519 and Ed25519 paths (fe_viper.py's field: x25519_viper.py,
ed25519_viper.py) against `cryptography`, and on a sample against ussh's portable int code: 25,000
keys and signatures per primitive on the MicroPython unix port, in five processes of 5,000. The
same 25,000 on the emulated Cortex-M3 (its Thumb field products and 32-bit viper ints; the unix
port's are 64-bit) run beside pytest in `make test` (tools/crosscheck_board.py, with SCRIPT and
verify() from here; test_crosscheck_board.py tests that tool). A carry bug in the earlier viper
ladder showed in 1 key of 25,000.

Per case i the board derives its inputs from SHA-512(tag || i) (the host does the same with
hashlib) and prints: the X25519 public key of k, X25519(k, u) for a random 32-byte u (top bit and
values >= p included), the Ed25519 public key and signature of a random message under a random
seed, and the verdict on that signature, or for odd i on a corrupted one (a bit flipped in R, S,
the message or the public key)."""
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import run

CHUNK = 5000
RAW = (Encoding.Raw, PublicFormat.Raw)

SCRIPT = """
from ussh.crypto import curve25519, ed25519
from ussh.crypto.sha512 import sha512
from ussh.crypto.curve25519 import x25519, x25519_base, x25519_pure
print("paths", sorted(curve25519.fast_paths().items()))
FAST = ed25519._fast
def case(i):
    h = sha512(b"ussh-xcheck" + i.to_bytes(4, "little"))
    g = sha512(h)
    return h[:32], h[32:], g[:32], g[32:32 + i %% 33] + h[:i %% 7]
def corrupt(i, pub, msg, sig):
    w = i %% 4
    b = (i * 7) %% 256
    if w == 0:
        sig = bytearray(sig)
        sig[b %% 32] ^= 1 << (b %% 8)  # R
    elif w == 1:
        sig = bytearray(sig)
        sig[32 + b %% 31] ^= 1 << (b %% 8)  # S (not its top byte: S >= L is refused anyway)
    elif w == 2:
        msg = bytearray(msg + b"x")
        msg[b %% len(msg)] ^= 1 << (b %% 8)
    else:
        pub = bytearray(pub)
        pub[b %% 32] ^= 1 << (b %% 8)
    return bytes(pub), bytes(msg), bytes(sig)
bad = []
for i in range(%d, %d):
    k, u, seed, msg = case(i)
    pub = ed25519.ed25519_public(seed)
    sig = ed25519.ed25519_sign(seed, msg)
    vp, vm, vs = (pub, msg, sig) if i %% 2 == 0 else corrupt(i, pub, msg, sig)
    out = (x25519_base(k), x25519(k, u), pub, sig, ed25519.ed25519_verify(vp, vm, vs))
    if i %% %d == 0:
        # the portable int code on the same inputs
        ed25519._fast = False
        ref = (x25519_pure(k, bytes([9]) + bytes(31)), x25519_pure(k, u), ed25519.ed25519_public(seed),
               ed25519.ed25519_sign(seed, msg), ed25519.ed25519_verify(vp, vm, vs))
        ed25519._fast = FAST
        if ref != out:
            bad.append(i)
    print(i, out[0].hex(), out[1].hex(), out[2].hex(), out[3].hex(), int(out[4]))
print("portable_differs", bad)
"""


def case(i):
    h = hashlib.sha512(b"ussh-xcheck" + i.to_bytes(4, "little")).digest()
    g = hashlib.sha512(h).digest()
    return h[:32], h[32:], g[:32], g[32:32 + i % 33] + h[:i % 7]


def corrupt(i, pub, msg, sig):
    w, b = i % 4, (i * 7) % 256
    if w == 0:
        sig = bytearray(sig)
        sig[b % 32] ^= 1 << (b % 8)
    elif w == 1:
        sig = bytearray(sig)
        sig[32 + b % 31] ^= 1 << (b % 8)
    elif w == 2:
        msg = bytearray(msg + b"x")
        msg[b % len(msg)] ^= 1 << (b % 8)
    else:
        pub = bytearray(pub)
        pub[b % 32] ^= 1 << (b % 8)
    return bytes(pub), bytes(msg), bytes(sig)


def expected(i):
    k, u, seed, msg = case(i)
    xk = X25519PrivateKey.from_private_bytes(k)
    ek = Ed25519PrivateKey.from_private_bytes(seed)
    pub = ek.public_key().public_bytes(*RAW)
    sig = ek.sign(msg)
    vp, vm, vs = (pub, msg, sig) if i % 2 == 0 else corrupt(i, pub, msg, sig)
    try:
        Ed25519PublicKey.from_public_bytes(vp).verify(vs, vm)
        ok = 1
    except (InvalidSignature, ValueError):
        ok = 0
    return "%d %s %s %s %s %d" % (i, xk.public_key().public_bytes(*RAW).hex(),
                                  xk.exchange(X25519PublicKey.from_public_bytes(u)).hex(), pub.hex(), sig.hex(), ok)


def verify(out, lo, hi):
    """Checks what SCRIPT % (lo, hi, sample) printed against `cryptography`: AssertionError naming
    the first cases that differ."""
    out = out.strip().split("\n")
    # the fast paths ran (ML-KEM's shows too where it was loaded before, as on a board that
    # also ran test_crosscheck_mlkem's script)
    paths = out[0].replace(", ('mlkem', 'viper')", "")
    assert paths == "paths [('ed25519', 'viper'), ('x25519', 'viper')]", out[0]
    assert out[-1] == "portable_differs []", out[-1]
    lines = out[1:-1]
    assert len(lines) == hi - lo, "%d lines for %d cases" % (len(lines), hi - lo)
    wrong = [line.split()[0] for line, i in zip(lines, range(lo, hi)) if line != expected(i)]
    assert not wrong, wrong[:20]
    # both verdicts were exercised (a valid signature for each even i, a corrupted one for each odd)
    assert hi - lo < 2 or {line[-1] for line in lines} == {"0", "1"}, "not both verdicts"


def check(runtime, lo, hi, sample):
    verify(run(runtime, SCRIPT % (lo, hi, sample), timeout=1800), lo, hi)


@pytest.mark.parametrize("chunk", range(5))
def test_unix_port_25000(chunk):
    check("unix", chunk * CHUNK, (chunk + 1) * CHUNK, 50)
