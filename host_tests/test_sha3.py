"""SHA3-256, SHA3-512, SHAKE128 and SHAKE256 (ussh.crypto.sha3) on every
runtime: FIPS 202 example values (NIST's SHA3 examples), and random messages
around each rate's block and padding edges cross-checked against CPython's
hashlib; SHAKE squeezed in pieces equals SHAKE squeezed at once."""
import hashlib
import random

import pytest

from runtimes import RUNTIMES, run

# NIST FIPS 202 example values: (function, message, output length, digest)
FIPS_VECTORS = [
    ("sha3_256", b"", 32, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"),
    ("sha3_256", b"abc", 32, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
    (
        "sha3_512",
        b"",
        64,
        "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
        "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26",
    ),
    (
        "sha3_512",
        b"abc",
        64,
        "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
        "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
    ),
    ("shake128", b"", 32, "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"),
    ("shake256", b"", 32, "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"),
    # 200 bytes of 0xa3, the 1600-bit message of NIST's examples
    (
        "sha3_256",
        b"\xa3" * 200,
        32,
        "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787",
    ),
]

RATES = {"sha3_256": 136, "sha3_512": 72, "shake128": 168, "shake256": 136}
CASES = {"cpython": 60, "unix": 60, "wasm": 25}


def reference(fn, msg, n):
    h = getattr(hashlib, fn.replace("shake", "shake_"))(msg)
    return (h.hexdigest(n) if fn.startswith("shake") else h.hexdigest())[: 2 * n]


def call(fn, n):
    return "%s(m)" % fn if fn.startswith("sha3") else "%s(m, %d)" % (fn, n)


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_fips_vectors_agree_with_reference():
    for fn, msg, n, digest in FIPS_VECTORS:
        assert reference(fn, msg, n) == digest


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fips_vectors(runtime):
    code = "from ussh.crypto.sha3 import sha3_256, sha3_512, shake128, shake256\n"
    for fn, msg, n, _ in FIPS_VECTORS:
        code += "m = %r\nprint(%s.hex(), %s.hex())\n" % (msg, call(fn, n), call(fn, n).replace("(m", "(bytearray(m)"))
    out = lines(run(runtime, code))
    assert len(out) == len(FIPS_VECTORS)
    for line, (_, _, _, digest) in zip(out, FIPS_VECTORS):
        assert line.split() == [digest, digest]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_random_against_hashlib(runtime):
    rng = random.Random(202)
    pool = bytes(rng.getrandbits(8) for _ in range(800))
    cases = []
    for fn, rate in sorted(RATES.items()):
        for n in (0, 1, rate - 2, rate - 1, rate, rate + 1, 2 * rate - 1, 2 * rate, 2 * rate + 1):
            cases.append((fn, rng.randrange(100), n, 32 if fn.startswith("shake") else 0))
    while len(cases) < CASES[runtime]:
        fn = rng.choice(sorted(RATES))
        cases.append((fn, rng.randrange(100), rng.randrange(700), rng.randrange(1, 400) if fn.startswith("shake") else 0))
    code = (
        "from ussh.crypto.sha3 import sha3_256, sha3_512, shake128, shake256\n"
        "pool = bytes.fromhex(%r)\n"
        "mv = memoryview(pool)\n"
        "for fn, off, n, k in %r:\n"
        "    m = mv[off:off + n]\n"
        "    print((globals()[fn](m, k) if k else globals()[fn](m)).hex() or '-')\n"
    ) % (pool.hex(), cases)
    out = lines(run(runtime, code))
    assert len(out) == len(cases)
    for line, (fn, off, n, k) in zip(out, cases):
        want = reference(fn, pool[off : off + n], k or (32 if fn == "sha3_256" else 64))
        assert line == want, (fn, off, n, k)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_shake_read_in_pieces(runtime):
    # SampleNTT squeezes SHAKE128 a block at a time; reads straddle blocks
    rng = random.Random(128)
    pieces = [rng.randrange(0, 400) for _ in range(12)]
    code = (
        "from ussh.crypto.sha3 import Sponge\n"
        "for rate in (168, 136):\n"
        "    x = Sponge(rate, 0x1F, b'ussh')\n"
        "    print(''.join([x.read(n).hex() for n in %r]))\n"
    ) % (pieces,)
    out = lines(run(runtime, code))
    total = sum(pieces)
    assert out == [hashlib.shake_128(b"ussh").hexdigest(total), hashlib.shake_256(b"ussh").hexdigest(total)]


# The two Keccak-f[1600] paths: the viper one (keccak_viper.py, chosen where
# compat.have_viper()) and the portable one. The unix port has viper, so there
# both run and must agree; the functions above ran the fast path on unix and
# the portable path on cpython and wasm.
def test_viper_path_chosen_where_expected():
    # (keccak_thumb.py only where the port's native code is ARM Thumb: not even parsed here)
    code = ("from ussh.compat import have_viper, have_thumb\nfrom ussh.crypto import sha3\nimport sys\n"
            "print(have_viper(), sha3.keccak_f1600 is sha3.keccak_f1600_pure, have_thumb(), sha3.KECCAK,\n"
            "      'ussh.crypto.keccak_thumb' in sys.modules)\n")
    assert run("unix", code).split() == ["True", "False", "False", "viper", "False"]
    assert run("cpython", code).split() == ["False", "True", "False", "portable", "False"]
    assert run("wasm", code).split() == ["False", "True", "False", "portable", "False"]


def test_viper_and_portable_permutations_agree():
    rng = random.Random(1600)
    states = [bytes(rng.getrandbits(8) for _ in range(200)) for _ in range(40)]
    states += [bytes(200), b"\xff" * 200]
    code = (
        "from ussh.crypto.sha3 import keccak_f1600_pure\n"
        "from ussh.crypto.keccak_viper import keccak_f1600\n"
        "for h in %r:\n"
        "    a = bytearray(bytes.fromhex(h))\n"
        "    b = bytearray(a)\n"
        "    for _ in range(3):\n"
        "        keccak_f1600_pure(a)\n"
        "        keccak_f1600(b)\n"
        "    print(a.hex(), b.hex())\n"
    ) % ([s.hex() for s in states],)
    out = lines(run("unix", code))
    assert len(out) == len(states)
    # and the portable result agrees with CPython running the same code
    ref = lines(run("cpython", "\n".join(l for l in code.splitlines() if "viper" not in l and "(b)" not in l).replace(
        "print(a.hex(), b.hex())", "print(a.hex())") + "\n"))
    assert len(ref) == len(states)
    for line, want in zip(out, ref):
        a, b = line.split()
        assert a == b == want


def test_thumb_permutation_file_is_current():
    # keccak_thumb.py (ARM boards: test_qemu_crypto.py runs it) is what tools/gen_keccak_thumb.py writes
    import os
    import subprocess
    import sys

    from runtimes import ROOT

    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_keccak_thumb.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_unix_portable_path_vectors():
    # the unix port forced onto the portable permutation
    rng = random.Random(7)
    msgs = [bytes(rng.getrandbits(8) for _ in range(n)) for n in (0, 135, 136, 137, 300, 1184)]
    code = (
        "from ussh.crypto import sha3\n"
        "sha3.keccak_f1600 = sha3.keccak_f1600_pure\n"
        "for h in %r:\n"
        "    m = bytes.fromhex(h)\n"
        "    print(sha3.sha3_256(m).hex(), sha3.sha3_512(m).hex(), sha3.shake128(m, 200).hex(), sha3.shake256(m, 33).hex())\n"
    ) % ([m.hex() for m in msgs],)
    out = lines(run("unix", code))
    assert len(out) == len(msgs)
    for line, m in zip(out, msgs):
        assert line.split() == [hashlib.sha3_256(m).hexdigest(), hashlib.sha3_512(m).hexdigest(),
                                hashlib.shake_128(m).hexdigest(200), hashlib.shake_256(m).hexdigest(33)]


def _lfsr_rc(ir):
    # FIPS 202 Algorithms 5 and 6: RC of round ir from the LFSR x^8 + x^6 + x^5 + x^4 + 1
    def bit(t):
        r = 1
        for _ in range(t % 255):
            r <<= 1
            if r & 0x100:
                r ^= 0x171
        return r & 1

    return sum(1 << ((1 << j) - 1) for j in range(7) if bit(j + 7 * ir))


def test_round_constants_owned_by_sha3_and_shared():
    # sha3.py holds the one table of round constants; the fast permutations read its words
    # (sha3.rc_words): the same object for both, and what the LFSR of FIPS 202 gives
    code = ("from ussh.crypto import sha3, keccak_viper\n"
            "keccak_viper.keccak_f1600(bytearray(200))\n"
            "print(list(sha3._RC), sha3.rc_words().hex(), keccak_viper._RC is sha3.rc_words())\n")
    want = [_lfsr_rc(r) for r in range(24)]
    out = run("unix", code).strip()
    words = b"".join(x.to_bytes(8, "little") for x in want).hex()
    assert out == "%s %s True" % (want, words)
    import os

    from runtimes import ROOT

    for name in ("keccak_viper.py", "keccak_thumb.py"):
        with open(os.path.join(ROOT, "native", "ussh", "crypto", name)) as f:
            assert "\\x8a\\x80" not in f.read()  # no second copy of the table
