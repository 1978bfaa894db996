# Symmetric crypto benchmark, runnable on every runtime with lib/ on the path:
#   PYTHONPATH=lib python bench/crypto_sym.py
#   MICROPYPATH=lib .venv/bin/micropython bench/crypto_sym.py
#   node tools/wasm/run.mjs lib bench/crypto_sym.py
# Prints "BENCH <name> <value> <unit>" lines: the median time of SHA-512 over
# 200 bytes (what Ed25519 hashes per signature) and the throughput of
# AES-128-CTR + HMAC-SHA-256 encrypt-then-MAC (RFC 4344 CTR, OpenSSH etm:
# MAC over uint32 seq || ciphertext) on 1 MB in 16 KB packets. The first
# line names the file the modules came from (.py source or compiled .mpy).
import sys

from ussh.compat import ticks_diff, ticks_us
from ussh.crypto.aes import AESCTR
from ussh.crypto.hmac import HMACSHA256
from ussh.crypto.sha512 import sha512, sha512_pure

print("# modules from", sys.modules["ussh.crypto.sha512"].__file__)

TOTAL = 1 << 20
PACKET = 16384


def median_ms(fn, reps=21, batch=10, budget_us=3000000):
    # Median over at most `reps` samples of `batch` calls each (the
    # webassembly port's clock ticks in milliseconds), within a time budget.
    times = []
    start = ticks_us()
    while len(times) < reps and ticks_diff(ticks_us(), start) < budget_us:
        t = ticks_us()
        for _ in range(batch):
            fn()
        times.append(ticks_diff(ticks_us(), t))
    times.sort()
    return times[len(times) // 2] / 1000 / batch


def mb_per_s(fn, total):
    t = ticks_us()
    fn()
    us = ticks_diff(ticks_us(), t)
    return total / max(us, 1)  # bytes per microsecond == MB/s


def etm(aes, mac, buf, seq):
    for i in range(TOTAL // PACKET):
        seq[0] = i >> 24 & 255
        seq[1] = i >> 16 & 255
        seq[2] = i >> 8 & 255
        seq[3] = i & 255
        aes.apply(buf)
        mac.mac(seq, buf)


def main():
    msg = bytes(range(200))
    print("BENCH sha512_200B %.3f ms" % median_ms(lambda: sha512(msg)))
    print("BENCH sha512_pure_200B %.3f ms" % median_ms(lambda: sha512_pure(msg)))
    buf = bytearray(PACKET)
    seq = bytearray(4)
    aes = AESCTR(bytes(range(16)), bytes(range(16, 32)))
    mac = HMACSHA256(bytes(range(32)))
    print("# aes backend:", aes.backend)
    n = TOTAL // PACKET

    def aes_only():
        for _ in range(n):
            aes.apply(buf)

    def mac_only():
        for i in range(n):
            mac.mac(seq, buf)

    print("BENCH aes128ctr %.2f MB/s" % mb_per_s(aes_only, TOTAL))
    print("BENCH hmac_sha256 %.2f MB/s" % mb_per_s(mac_only, TOTAL))
    print("BENCH aes128ctr_hmac_sha256_etm %.2f MB/s" % mb_per_s(lambda: etm(aes, mac, buf, seq), TOTAL))


main()
