"""The random cross-checks of host_tests/test_crosscheck.py (X25519 and Ed25519: key generation,
shared secret, public key, sign, verify with half the signatures corrupted) and
host_tests/test_crosscheck_mlkem.py (ML-KEM-768 key pair, encapsulation, decapsulation and its
implicit rejection) run at full count on the emulated Cortex-M3: the board's own fast paths (the
Thumb field products, 32-bit viper ints, the Thumb Keccak) against `cryptography`, and every
--sample-th case against ussh's portable code on the board. The same inputs and checks as the
unix port's 25,000 in `make test`; here it takes about an hour, so it is its own target.

usage: python tools/crosscheck_board.py [--cases 25000] [--chunk 500] [--only curve|mlkem]
       make crosscheck-board [CROSSCHECK_CASES=25000]

Each chunk is one boot of the board. Prints a line per chunk and a summary; exit status 1 when
any case differs (the failing chunk's assertion names the first cases)."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "host_tests"))
import test_crosscheck as curve  # noqa: E402
import test_crosscheck_mlkem as mlkem  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=25000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--only", choices=("curve", "mlkem"))
    a = ap.parse_args()
    jobs = []
    if a.only in (None, "curve"):
        jobs.append(("x25519+ed25519", lambda lo, hi: curve.check("qemu", lo, hi, a.sample)))
    if a.only in (None, "mlkem"):
        jobs.append(("ml-kem-768", lambda lo, hi: mlkem.check("qemu", lo, hi, a.sample, 2)))
    failed = 0
    for name, check in jobs:
        t0 = time.monotonic()
        done = 0
        for lo in range(0, a.cases, a.chunk):
            hi = min(lo + a.chunk, a.cases)
            try:
                check(lo, hi)
                status = "ok"
            except AssertionError as e:
                failed += 1
                status = "DIFFERS %s" % str(e).split("\n")[0][:200]
            done = hi
            print("%s cases %d-%d: %s (%.0f s)" % (name, lo, hi - 1, status, time.monotonic() - t0), flush=True)
        print("%s: %d cases on the emulated board in %.0f s" % (name, done, time.monotonic() - t0), flush=True)
    print("crosscheck-board: %s" % ("all agree" if not failed else "%d chunk(s) differ" % failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
