"""The fast tier on the MicroPython unix port (make check): runs every test_* function of the
test modules named on the command line, which are written to run on both pythons (no pytest
at import, no fixtures; sshpair.raises for pytest.raises).

    MICROPYPATH=lib:host_tests .venv/bin/micropython host_tests/check_mp.py test_wire test_channel ...

Prints one line per failure and a count; exits 1 when a test failed.
"""
import sys


def main(names):
    ran = failed = 0
    for name in names:
        mod = __import__(name)
        for k in sorted(dir(mod)):
            f = getattr(mod, k)
            if not k.startswith("test_") or not callable(f):
                continue
            ran += 1
            try:
                f()
            except Exception as e:  # noqa: BLE001 -- every failure is reported, then the next test
                failed += 1
                print("FAILED %s::%s: %s %s" % (name, k, type(e).__name__, e))
                sys.print_exception(e)
    print("micropython: %d passed, %d failed" % (ran - failed, failed))
    return 1 if failed or not ran else 0


sys.exit(main([a[:-3] if a.endswith(".py") else a for a in sys.argv[1:]]))
