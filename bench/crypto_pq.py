# The post-quantum key exchange mlkem768x25519-sha256 (ussh.pqkex) against
# curve25519-sha256, server side, runnable on every runtime with lib/ on the
# path:
#   PYTHONPATH=lib python bench/crypto_pq.py
#   MICROPYPATH=lib:.frozen .venv/bin/micropython bench/crypto_pq.py
#   node tools/wasm/run.mjs lib bench/crypto_pq.py
# Prints "BENCH <op> <median ms> ms": one Keccak-f[1600] permutation (the
# fast path where the port has viper, and the portable one),
# SHA3-256 of an encapsulation key (1184 bytes), ML-KEM-768 keygen, encaps
# and decaps, the server's whole share of each exchange method (the client's
# key share in, reply and K out), and the extra cost of the PQ one. The
# first call of each operation is not timed.
import sys

from ussh.compat import ticks_diff, ticks_us
from ussh.crypto import random_bytes, x25519_base
from ussh.crypto.rand import NoEntropy, set_source

try:
    random_bytes(1)
except NoEntropy:  # the wasm port has no os.urandom: a fixed stream will do for timing
    set_source(lambda n: bytes(n))

from ussh import kex  # noqa: E402
from ussh.crypto import mlkem  # noqa: E402
from ussh.crypto.sha3 import keccak_f1600, keccak_f1600_pure, sha3_256  # noqa: E402
from ussh.pqkex import mlkem768x25519_sha256  # noqa: E402

print("# modules from", sys.modules["ussh.crypto.mlkem"].__file__)

SAMPLES = 7
SAMPLE_US = 30000  # a sample runs the op this long at least (the wasm clock ticks in ms)
MAX_BATCH = 20


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


d = bytes(range(32))
ek, dk = mlkem.keygen(d, bytes(range(32, 64)))
_, ct = mlkem.encaps(ek, bytes(range(64, 96)))
x_c = x25519_base(bytes(range(96, 128)))
state = bytearray(range(200))
classical = kex._row(kex.KEX_METHODS, b"curve25519-sha256")[1]

results = {}
for name, fn, args in (
    ("keccak_f1600", keccak_f1600, (state,)),  # the fast path where the port has one
    ("keccak_f1600_portable", keccak_f1600_pure, (state,)),
    ("sha3_256_1184B", sha3_256, (ek,)),
    ("mlkem768_keygen", mlkem.keygen, (d, d)),
    ("mlkem768_encaps", mlkem.encaps, (ek, d)),
    ("mlkem768_decaps", mlkem.decaps, (dk, ct)),
    ("kex_curve25519_server", classical, (x_c,)),
    ("kex_mlkem768x25519_server", mlkem768x25519_sha256, (ek + x_c,)),
):
    results[name] = ms = median_ms(fn, *args)
    print("BENCH %s %.3f ms" % (name, ms))
print("BENCH kex_pq_extra %.3f ms" % (results["kex_mlkem768x25519_server"] - results["kex_curve25519_server"]))
