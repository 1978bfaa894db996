"""ussh's crypto on the emulated Cortex-M3 (MicroPython's qemu port, MPS2-AN385, ussh frozen in:
`make firmware`, tools/qemu.py): 31-bit small ints, no time, select, asyncio, cryptolib or
os.urandom, a real Thumb-2 native emitter. The vectors are those of the per-primitive tests
(imported from them), fewer random cases (the emulator runs ~200 million instructions a
second). Keccak runs on three paths: Thumb assembler (keccak_thumb.py, chosen on the board),
viper (keccak_viper.py) and portable (forced by `sha3.keccak_f1600 = sha3.keccak_f1600_pure`,
as v_mlkem.py does on unix); ML-KEM on its viper polynomials (mlkem_viper.py) and portable. One board serves
the module; the code of each test runs in its raw REPL."""
import hashlib
import os
import random
import socket
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import test_aes as v_aes
import test_ed25519 as v_ed25519
import test_hmac as v_hmac
import test_mlkem as v_mlkem
import test_rand as v_rand
import test_sha3 as v_sha3
import test_sha512 as v_sha512
import test_x25519 as v_x25519
from runtimes import ROOT, run

sys.path.insert(0, os.path.join(ROOT, "tools"))
import peers  # noqa: E402
import qemu  # noqa: E402

PORTABLE = "from ussh.crypto import sha3\nsha3.keccak_f1600 = sha3.keccak_f1600_pure\n"
# the board's choice, keccak_thumb.py (set again: the board serves every test of the module)
THUMB = ("from ussh.crypto import sha3\nprint(sha3.KECCAK)\n"
         "from ussh.crypto.keccak_thumb import keccak_f1600 as _kt\nsha3.keccak_f1600 = _kt\n")
VIPER = "from ussh.crypto import sha3\nfrom ussh.crypto.keccak_viper import keccak_f1600 as _kv\nsha3.keccak_f1600 = _kv\n"


@pytest.fixture(scope="module")
def board():
    with qemu.Board(icount=True, timeout=300) as b:
        yield b


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


def test_firmware_freezes_the_current_lib():
    # the board runs the ussh frozen at `make firmware` (the Makefile rebuilds it when lib/ussh
    # or native/ussh changes; a bare pytest run does not)
    built = os.path.getmtime(qemu.FIRMWARE)
    newer = [os.path.join(d, f) for top in ("lib", "native") for d, _, fs in os.walk(os.path.join(ROOT, top, "ussh"))
             for f in fs if f.endswith(".py") and os.path.getmtime(os.path.join(d, f)) > built]
    assert not newer, "run `make firmware`: changed since the build: %s" % newer


def test_the_board_is_a_32_bit_microcontroller(board):
    out = lines(board.exec(
        "import sys, gc\n"
        "print(sys.platform, sys.maxsize == 2**31 - 1, sys.implementation._machine)\n"
        "for m in ('time', 'select', 'asyncio', 'socket', 'cryptolib'):\n"
        "    try:\n"
        "        __import__(m)\n"
        "        print(m, 'present')\n"
        "    except ImportError:\n"
        "        pass\n"
        "import os\n"
        "print(hasattr(os, 'urandom'))\n"
        "from ussh.compat import have_viper\n"
        "from ussh.crypto import sha3\n"
        "print(have_viper(), sha3.keccak_f1600 is sha3.keccak_f1600_pure, sha3.__file__)\n"
        "gc.collect()\n"
        "print(gc.mem_free() > 100000)\n"
    ))
    assert out[0] == "qemu True mps2-an385 with Cortex-M3"
    assert out[1:] == ["False", "True False ussh/crypto/sha3.py", "True"]


def test_protocol_core_needs_no_asyncio_select_or_socket(board):
    # the port has none of them: the protocol core imports all the same (the asyncio
    # server, ussh.server, is the one module that needs them)
    core = ("wire", "crypto", "transport", "kex", "pqkex", "auth", "channel", "connection")
    out = lines(board.exec(
        "import sys\n"
        "for m in %r:\n"
        "    __import__('ussh.' + m)\n"
        "print([m for m in ('asyncio', 'select', 'socket') if m in sys.modules])\n" % (core,)))
    assert out == ["[]"]


def test_instruction_counters_agree(board):
    # TIMER0 (32-bit, what count() reads) and SysTick (24-bit) tick at the same 25 MHz:
    # over one X25519 they agree (to the few ticks between reading one and the other), and a
    # repeated run counts the same but for what the garbage collector does
    board.exec(qemu.COUNTER + "from ussh.crypto.curve25519 import x25519\nk = bytes(range(32))\nx25519(k, k)\n")
    out = board.exec(
        "import gc\n"
        "for i in range(2):\n"
        "    gc.collect()\n"
        "    _systick_start()\n"
        "    a = _systick_read(); t = _tread()\n"
        "    x25519(k, k)\n"
        "    b = _systick_read(); u = _tread()\n"
        "    print(a - b, (t - u) & 0xFFFFFFFF)\n"
    )
    (s1, t1), (s2, t2) = [[int(x) for x in l.split()] for l in lines(out)]
    assert abs(s1 - t1) <= 20 and abs(s2 - t2) <= 20
    assert 10**5 < t1 < 2**24 // 2  # a few million instructions, well inside SysTick's range
    assert abs(t1 - t2) <= t1 // 50


def test_x25519(board):
    tx = v_x25519
    rng = random.Random(7748)
    cases = []
    for _ in range(6):
        k, u = rng.randbytes(32), rng.randbytes(32)
        pub = X25519PrivateKey.from_private_bytes(k).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        cases.append((k.hex(), u.hex(), tx.ref_x25519(k, u).hex(), pub.hex()))
    script = tx.VECTOR_SCRIPT.replace("range(1, 1001)", "range(1, 2)")  # 1000 rounds: 75 s here
    out = lines(board.exec(script))
    assert out[:7] == [
        "single " + tx.RFC7748_SINGLE[0][2], "single " + tx.RFC7748_SINGLE[1][2],
        "alice_public " + tx.ALICE_PUBLIC, "bob_public " + tx.BOB_PUBLIC,
        "alice_shared " + tx.SHARED, "bob_shared " + tx.SHARED, "iterated 1 " + tx.RFC7748_ITERATED[1],
    ]
    assert lines(board.exec(tx.REPLAY_SCRIPT % (cases,))) == ["checked 6 bad []"]


def test_x25519_viper_and_int_paths(board):
    # x25519() above ran the viper ladder (chosen on the board: the 32-bit case its 13-bit limbs
    # are sized for); x25519_pure, the int ladder, must stay right there too; both on the same
    # edge and random cases (test_x25519_viper.replay_cases), and on low-order u
    import test_x25519_viper as txv

    out = lines(board.exec(
        "from ussh.crypto import curve25519\nfrom ussh.crypto.x25519_viper import x25519 as xv\n"
        "print(curve25519._fast is xv)\n"))
    assert out == ["True"]
    cases = txv.replay_cases(4, 3)
    for path in sorted(txv.PATHS):
        assert lines(board.exec(txv.script(path, v_x25519.REPLAY_SCRIPT % (cases,)))) == [
            "checked %d bad []" % len(cases)]
        inputs = [u.hex() for u in v_x25519.low_order_inputs()]
        out = board.exec(txv.script(path, v_x25519.LOW_ORDER_SCRIPT % ([os.urandom(32).hex()], inputs)))
        assert out.split() == ["00" * 32] * len(inputs)


def test_ed25519(board):
    te = v_ed25519
    out = lines(board.exec(te.VECTOR_SCRIPT % (te.RFC8032,)))
    assert out == ["%s %s %s True" % (name, pub, sig) for name, _, pub, _, sig in te.RFC8032]
    rng = random.Random(8032)
    cases = []
    for n in (0, 1, 111, 112, 113, 300):
        seed, other = rng.randbytes(32), rng.randbytes(32)
        msg = rng.randbytes(n)
        sk, ok = Ed25519PrivateKey.from_private_bytes(seed), Ed25519PrivateKey.from_private_bytes(other)
        raw = lambda k: k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # noqa: E731
        cases.append(tuple(x.hex() for x in (seed, msg, raw(sk), sk.sign(msg), raw(ok), ok.sign(msg))))
    assert lines(board.exec(te.REPLAY_SCRIPT % (cases,))) == ["checked 6 bad []"]


def test_sha512_and_hmac_sha256(board):
    out = lines(board.exec(
        "from ussh.crypto.sha512 import sha512, sha512_pure\n"
        "for m in %r:\n"
        "    print(sha512(m).hex(), sha512_pure(m).hex())\n" % ([m for m, _ in v_sha512.FIPS_VECTORS],)))
    assert [l.split() for l in out] == [[d, d] for _, d in v_sha512.FIPS_VECTORS]
    rng = random.Random(512)
    msgs = [rng.randbytes(n) for n in (111, 112, 127, 128, 129, 239, 240, 1000)]
    out = lines(board.exec("from ussh.crypto.sha512 import sha512\nfor m in %r:\n    print(sha512(m).hex())\n" % (msgs,)))
    assert out == [hashlib.sha512(m).hexdigest() for m in msgs]
    out = lines(board.exec(
        "from ussh.crypto import hmac_sha256, HMACSHA256\n"
        "for key, msg in %r:\n"
        "    print(hmac_sha256(key, msg).hex(), HMACSHA256(key).mac(msg[:3], memoryview(msg)[3:]).hex())\n"
        % ([(k, m) for k, m, _ in v_hmac.RFC4231],)))
    assert [[x[: len(t)] for x in l.split()] for l, (_, _, t) in zip(out, v_hmac.RFC4231)] == [
        [t, t] for _, _, t in v_hmac.RFC4231]
    assert len(out) == len(v_hmac.RFC4231)


AES_SCRIPT = (
    "from ussh.crypto import AESCTR\n"
    "print(AESCTR(bytes(16), bytes(16)).backend)\n"
    "pt = bytes.fromhex(%r)\n"
    "for backend in ('viper', 'pure'):\n"
    "    for key in %r:\n"
    "        c = AESCTR(bytes.fromhex(key), bytes.fromhex(%r), backend)\n"
    "        b = bytearray(pt)\n"
    "        c.apply(b, 0, 16)\n"
    "        c.apply(b, 16, 21)\n"
    "        c.apply(b, 21)\n"
    "        print(backend, b.hex())\n"
    "    for key, iv, n in %r:\n"
    "        b = bytearray(n)\n"
    "        c = AESCTR(key, iv, backend)\n"
    "        c.apply(b, 0, n // 3)\n"
    "        c.apply(memoryview(b), n // 3)\n"
    "        print(backend, b.hex())\n"
)


def aes_cases():
    rng = random.Random(38)
    cases = [(rng.randbytes((16, 24, 32)[i % 3]), rng.randbytes(16), rng.randrange(1, 600)) for i in range(6)]
    # counters that carry out of the low 64 bits and wrap at 2^128
    cases.append((rng.randbytes(16), b"\x00" * 8 + b"\xff" * 8, 100))
    cases.append((rng.randbytes(32), b"\xff" * 16, 100))
    return cases


def aes_want(cases):
    ta = v_aes
    want = []
    for backend in ("viper", "pure"):
        want += ["%s %s" % (backend, ct) for _, ct in ta.SP800_38A]
        want += ["%s %s" % (backend, ta.reference(k, iv, bytes(n)).hex()) for k, iv, n in cases]
    return want


@pytest.mark.parametrize("where", ["qemu", "unix"])
def test_aes_ctr_viper_and_pure(board, where):
    # the viper backend (aes_viper.py: the default where there is viper but no cryptolib, as
    # here) and the pure one, on the board and on the 64-bit unix port
    ta = v_aes
    cases = aes_cases()
    code = AES_SCRIPT % (ta.PLAIN, [k for k, _ in ta.SP800_38A], ta.COUNTER, cases)
    out = lines(board.exec(code) if where == "qemu" else run("unix", code))
    assert out[0] == ("viper" if where == "qemu" else "ecb")  # cryptolib on unix
    assert out[1:] == aes_want(cases)


def test_hmac_drbg_and_no_entropy(board):
    tr = v_rand
    out = lines(board.exec(
        "from ussh.crypto.drbg import HMACDRBG\n"
        "h = bytes.fromhex\n"
        "for v in %r:\n"
        "    d = HMACDRBG(h(v['entropy']), h(v['nonce']), h(v['pers']))\n"
        "    d.generate(128, h(v['add'][0]))\n"
        "    print(d.generate(128, h(v['add'][1])).hex())\n"
        "v = %r\n"
        "d = HMACDRBG(h(v['entropy']), h(v['nonce']))\n"
        "d.reseed(h(v['reseed']))\n"
        "d.generate(128)\n"
        "print(d.generate(128).hex())\n" % (tr.DRBG_NO_RESEED, tr.DRBG_RESEED)))
    assert out == [v["out"] for v in tr.DRBG_NO_RESEED] + [tr.DRBG_RESEED["out"]]
    # no os.urandom here: random_bytes refuses until a board source is given, then draws from the DRBG
    out = lines(board.exec(
        "from ussh.crypto import rand\n"
        "try:\n"
        "    rand.random_bytes(16)\n"
        "except rand.NoEntropy as e:\n"
        "    print('NoEntropy', 'set_source' in str(e))\n"
        "rand.set_source(lambda n: bytes(range(n)))\n"
        "a = rand.random_bytes(40)\n"
        "print(len(a), a != rand.random_bytes(40))\n"
        "rand.set_source(None)\n"))
    assert out == ["NoEntropy True", "40 True"]


def test_keccak_thumb_agrees_with_portable(board):
    # keccak_thumb.py (Thumb assembler, the board's choice) and the portable permutation on
    # random states, all zeros and all ones, three permutations each
    rng = random.Random(1601)
    states = [bytes(rng.getrandbits(8) for _ in range(200)) for _ in range(30)] + [bytes(200), b"\xff" * 200]
    out = lines(board.exec(
        "from ussh.crypto import sha3\n"
        "from ussh.crypto.keccak_thumb import keccak_f1600\n"
        "from ussh.compat import have_thumb\n"
        "print(sha3.KECCAK, have_thumb())\n"
        "bad = 0\n"
        "for h in %r:\n"
        "    a = bytearray(h)\n"
        "    b = bytearray(a)\n"
        "    for _ in range(3):\n"
        "        sha3.keccak_f1600_pure(a)\n"
        "        keccak_f1600(b)\n"
        "        bad += a != b\n"
        "print('bad', bad)\n" % (states,)))
    assert out == ["thumb True", "bad 0"]


SHA3_PATHS = {"thumb": THUMB, "viper": VIPER, "portable": PORTABLE}


@pytest.mark.parametrize("path", ["thumb", "viper", "portable"])
def test_sha3_shake(board, path):
    ts = v_sha3
    code = SHA3_PATHS[path] + "from ussh.crypto.sha3 import sha3_256, sha3_512, shake128, shake256\n"
    code += "print(sha3.keccak_f1600 is sha3.keccak_f1600_pure)\n"
    for fn, msg, n, _ in ts.FIPS_VECTORS:
        code += "m = %r\nprint(%s.hex())\n" % (msg, ts.call(fn, n))
    rng = random.Random(202)
    cases = []
    for fn, rate in sorted(ts.RATES.items()):
        for n in (rate - 1, rate, rate + 1):
            cases.append((fn, rng.randbytes(n), rng.randrange(1, 300) if fn.startswith("shake") else 0))
    code += "for fn, m, k in %r:\n    print((globals()[fn](m, k) if k else globals()[fn](m)).hex())\n" % (cases,)
    out = lines(board.exec(code))
    if path == "thumb":
        assert out.pop(0) == "thumb"
    assert out[0] == str(path == "portable")
    assert out[1:] == [d for _, _, _, d in ts.FIPS_VECTORS] + [
        ts.reference(fn, m, k or (32 if fn == "sha3_256" else 64)) for fn, m, k in cases]


@pytest.mark.parametrize("path", ["thumb", "viper", "portable"])
def test_mlkem768(board, path):
    # the known-answer vector, and cases cross-checked with cryptography's ML-KEM-768; "thumb":
    # the board's choice (Keccak in Thumb assembler, the polynomials in viper: mlkem_viper.py),
    # "viper": keccak_viper.py under mlkem_viper.py, "portable": Python ints throughout
    v = v_mlkem.unlucky()
    cases = v_mlkem.make_cases(1 if path == "portable" else 2, 203)
    code = SHA3_PATHS[path] + (
        "from ussh.crypto import mlkem, mlkem_viper\n"
        "mlkem._fast = mlkem_viper if %r else False\n"
        "print(bool(mlkem._fast))\n"
        "from ussh.crypto.mlkem import keygen, encaps, decaps\n"
        "print(sha3.keccak_f1600 is sha3.keccak_f1600_pure)\n"
        "d, z, m = (bytes.fromhex(x) for x in %r)\n"
        "ek, dk = keygen(d, z)\n"
        "k, c = encaps(ek, m)\n"
        "print(ek.hex(), k.hex(), c.hex(), decaps(dk, c).hex())\n"
        "for d, z, m, c, bad in %r:\n"
        "    ek, dk = keygen(bytes.fromhex(d), bytes.fromhex(z))\n"
        "    k, ct = encaps(ek, bytes.fromhex(m))\n"
        "    print(ek.hex(), k.hex(), ct.hex(), decaps(dk, bytes.fromhex(c)).hex(), decaps(dk, bytes.fromhex(bad)).hex())\n"
    ) % (path != "portable", [v["d"].hex(), v["z"].hex(), v["m"].hex()],
         [(d.hex(), z.hex(), m.hex(), c.hex(), bad.hex()) for _, d, z, m, _, c, bad in cases])
    out = lines(board.exec(code))
    if path == "thumb":
        assert out.pop(0) == "thumb"
    assert out.pop(0) == str(path != "portable")
    assert out[0] == str(path == "portable")
    assert out[1].split() == [v["ek"].hex(), v["K"].hex(), v["c"].hex(), v["K"].hex()]
    assert len(out) == 2 + len(cases)
    for line, (sk, d, z, m, k_theirs, c_theirs, bad) in zip(out[2:], cases):
        ek, k, ct, k_dec, k_bad = [bytes.fromhex(x) for x in line.split()]
        assert ek == sk.public_key().public_bytes_raw()
        assert sk.decapsulate(ct) == k  # ours encapsulated, theirs decapsulates
        assert k_dec == k_theirs  # theirs encapsulated, ours decapsulates
        assert k_bad == sk.decapsulate(bad) and k_bad != k_theirs  # implicit rejection


def test_mlkem768x25519_server_side(board):
    # the PQ key exchange's server half (ussh.pqkex) against a client share made with
    # cryptography: both sides reach the same K
    sk = MLKEM768PrivateKey.from_seed_bytes(bytes(range(64)))
    xk = X25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
    share = sk.public_key().public_bytes_raw() + xk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out = lines(board.exec(
        "from ussh.crypto import rand\n"
        "rand.set_source(lambda n: bytes(range(n)))\n"
        "from ussh.pqkex import mlkem768x25519_sha256\n"
        "r = mlkem768x25519_sha256(%r)\n"
        "print(r[0].hex(), r[1].hex())\n"
        "rand.set_source(None)\n" % (share,)))
    reply, k = [bytes.fromhex(x) for x in out[0].split()]
    assert len(reply) == 1088 + 32
    k_pq = sk.decapsulate(reply[:1088])
    k_cl = xk.exchange(X25519PublicKey.from_public_bytes(reply[1088:]))
    want = hashlib.sha256(k_pq + k_cl).digest()
    # K as an SSH string (draft-ietf-sshm-mlkem-hybrid-kex section 2.4)
    assert k == len(want).to_bytes(4, "big") + want


def test_uart1_is_a_loopback_tcp_byte_stream():
    # Board(uart1_port=N): the board's UART1 (CMSDK APB UART, 0x40005000) is qemu's TCP server
    # on 127.0.0.1:N, what the SSH-over-UART login connects through; the board enables the UART
    # before the host sends, echoes 64 bytes back uppercased
    port = peers.free_port()
    with qemu.Board(icount=True, uart1_port=port) as b:
        b.exec("import machine\nU = 0x40005000\nmachine.mem32[U + 8] = 3\n")  # CTRL: TX and RX on
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"ping over uart1 " * 4)
            out = b.exec(
                "got = bytearray()\n"
                "n = 0\n"
                "while len(got) < 64 and n < 2000000:\n"
                "    n += 1\n"
                "    if machine.mem32[U + 4] & 2:\n"  # STATE: RX full
                "        got.append(machine.mem32[U])\n"
                "for c in bytes(got).upper():\n"
                "    while machine.mem32[U + 4] & 1:\n"  # STATE: TX full
                "        pass\n"
                "    machine.mem32[U] = c\n"
                "print(len(got))\n")
            assert out.split() == ["64"]
            back = b""
            while len(back) < 64:
                chunk = s.recv(100)
                assert chunk
                back += chunk
    assert back == b"PING OVER UART1 " * 4
