# Curve operations of one SSH handshake, runnable on every runtime with lib/
# on the path:
#   PYTHONPATH=lib python bench/crypto_curve.py
#   MICROPYPATH=lib .venv/bin/micropython bench/crypto_curve.py
#   node tools/wasm/run.mjs lib bench/crypto_curve.py
# The server's share of curve25519-sha256 (X25519 key pair, shared secret),
# its ssh-ed25519 signature of the exchange hash, and one verify as for a
# client's publickey signature; messages of 100 bytes, about what SSH signs.
# Prints "BENCH <op> <median ms> ms" per operation and their sum, after a
# line naming the file the modules came from (.py source or compiled .mpy,
# e.g. MICROPYPATH=build/mpy/host:.frozen after tools/build_mpy.py). The
# first call of each operation (tables built on first use) is not timed.
import sys

from ussh.compat import ticks_diff, ticks_us
from ussh.crypto.curve25519 import x25519, x25519_base
from ussh.crypto.ed25519 import ed25519_public, ed25519_sign, ed25519_verify

print("# modules from", sys.modules["ussh.crypto.ed25519"].__file__)

SAMPLES = 9
SAMPLE_US = 30000  # a sample runs the op this long at least (the wasm clock ticks in ms)
MAX_BATCH = 20

seed = bytes(range(32))
peer_public = x25519_base(bytes(range(32, 64)))
msg = bytes(range(100))
pub = ed25519_public(seed)
sig = ed25519_sign(seed, msg)


def median_ms(fn, *args):
    t = ticks_us()
    fn(*args)
    once = max(ticks_diff(ticks_us(), t), 1)
    batch = max(1, min(MAX_BATCH, SAMPLE_US // once))
    times = []
    for _ in range(SAMPLES):
        t = ticks_us()
        for _ in range(batch):
            fn(*args)
        times.append(ticks_diff(ticks_us(), t))
    times.sort()
    return times[SAMPLES // 2] / 1000 / batch


total = 0
for name, fn, args in (
    ("x25519_keygen", x25519_base, (seed,)),
    ("x25519_shared", x25519, (seed, peer_public)),
    ("ed25519_sign", ed25519_sign, (seed, msg)),
    ("ed25519_verify", ed25519_verify, (pub, msg, sig)),
):
    ms = median_ms(fn, *args)
    total += ms
    print("BENCH %s %.3f ms" % (name, ms))
print("BENCH handshake_total %.3f ms" % total)
