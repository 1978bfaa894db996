# Time the curve operations of one SSH handshake (curve25519-sha256 key
# exchange, ssh-ed25519 host key signature, and a verify as for a client
# key). Runs on CPython, MicroPython unix and webassembly with lib/ on the
# path; prints "BENCH <op> <median ms> ms" per operation and their sum.
from ussh.compat import ticks_diff, ticks_us
from ussh.crypto.curve25519 import x25519, x25519_base
from ussh.crypto.ed25519 import ed25519_public, ed25519_sign, ed25519_verify

REPEAT = 15

seed = bytes(range(32))
peer_secret = bytes(range(32, 64))
peer_public = x25519_base(peer_secret)
msg = bytes(range(100))  # about the size of an exchange hash plus framing
pub = ed25519_public(seed)
sig = ed25519_sign(seed, msg)


def median_ms(fn, *args):
    times = []
    for _ in range(REPEAT):
        t0 = ticks_us()
        fn(*args)
        times.append(ticks_diff(ticks_us(), t0))
    times.sort()
    return times[len(times) // 2] / 1000


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
