"""ussh's crypto on the emulated Raspberry Pi Pico: MicroPython's rp2 firmware (RPI_PICO, ussh frozen
in: `make pico-firmware`) on an RP2040 emulated by rp2040js (tools/pico.py), a Cortex-M0+ (armv6m)
with 264 KB of RAM, cryptolib (AES), hashlib, os.urandom from the ring oscillator, littlefs.
The vectors are the Cortex-M3's (test_qemu_crypto's tests, run here on this board: the `board`
fixture below), which take them from the per-primitive tests. One board serves the module
(about 0.45x a real Pico here: the slow ones, ML-KEM on the portable path, run once)."""
import os
import sys

import pytest

import test_aes as v_aes
import test_x25519 as v_x25519
import test_x25519_viper as txv
from runtimes import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import pico  # noqa: E402

import test_qemu_crypto as qc  # noqa: E402

# the Cortex-M3's vector tests, collected here again with this module's board
from test_qemu_crypto import (  # noqa: E402,F401
    AES_SCRIPT,
    aes_cases,
    lines,
    test_ed25519,
    test_mlkem768x25519_server_side,
    test_sha3_shake,
    test_sha512_and_hmac_sha256,
    test_x25519,
)


@pytest.fixture(scope="module")
def board():
    with pico.Board(timeout=600) as b:
        yield b


def test_firmware_freezes_the_current_lib():
    built = os.path.getmtime(pico.FIRMWARE)
    newer = [os.path.join(d, f) for top in ("lib", "native") for d, _, fs in os.walk(os.path.join(ROOT, top, "ussh"))
             for f in fs if f.endswith(".py") and os.path.getmtime(os.path.join(d, f)) > built]
    assert not newer, "run `make pico-firmware`: changed since the build: %s" % newer


def test_the_board_is_a_pico(board):
    # what the firmware has (README "Modules per port", rp2), and an os.urandom that is random:
    # run.mjs answers the ring oscillator's random bit from the host
    out = lines(board.exec(
        "import sys, gc, os\n"
        "print(sys.platform, sys.maxsize == 2**31 - 1, sys.implementation._machine)\n"
        "have = []\n"
        "for m in ('time', 'select', 'asyncio', 'cryptolib', 'hashlib', 'socket', 'network', 'machine'):\n"
        "    try:\n"
        "        __import__(m)\n"
        "        have.append(m)\n"
        "    except ImportError:\n"
        "        pass\n"
        "print(' '.join(have))\n"
        "import hashlib\n"
        "print([h for h in ('sha1', 'sha256', 'sha512') if hasattr(hashlib, h)])\n"
        "a = [os.urandom(16) for i in range(4)]\n"
        "print(len(set(a)), len(set(b''.join(a))) > 20)\n"
        "print(os.statvfs('/')[0] * os.statvfs('/')[2] >= 1024 * 1024)\n"
        "gc.collect()\n"
        "print(gc.mem_free() > 200000)\n"
    ))
    assert out[0] == "rp2 True Raspberry Pi Pico with RP2040"
    assert out[1] == "time select asyncio cryptolib hashlib machine"
    assert out[2:] == ["['sha1', 'sha256']", "4 True", "True", "True"]


def test_littlefs_keeps_what_is_written(board):
    # pico-sdk's flash_range_erase/program, carried out by run.mjs: a file written, the
    # filesystem mounted again from flash, the file read back
    data = os.urandom(10000)
    out = lines(board.exec(
        "import os, vfs, rp2\n"
        "with open('/t.bin', 'wb') as f:\n"
        "    f.write(%r)\n"
        "vfs.umount('/')\n"
        "vfs.mount(vfs.VfsLfs2(rp2.Flash()), '/')\n"
        "with open('/t.bin', 'rb') as f:\n"
        "    print(f.read() == %r)\n"
        "os.remove('/t.bin')\n" % (data, data)))
    assert out == ["True"]


def test_x25519_both_paths(board):
    # the path curve25519.x25519 takes here (armv6m's emitter refuses the viper ladder today:
    # "native method too big", and ussh falls back to the int ladder) and the int ladder by
    # name, on the edge and random cases of test_x25519_viper
    out = lines(board.exec(
        "from ussh.crypto import curve25519\n"
        "try:\n"
        "    from ussh.crypto import x25519_viper\n"
        "    print('viper loads')\n"
        "except Exception as e:\n"
        "    print(repr(e))\n"
        "print(bool(curve25519._fast))\n"))
    viper = out[0] == "viper loads"
    assert out[1] == str(viper)
    # test_x25519 ran the path chosen; where that is viper, the int ladder too (the emulator
    # runs 0.45x a real Pico: a few cases)
    if viper:
        cases = txv.replay_cases(2, 2)
        assert lines(board.exec(txv.script("pure", v_x25519.REPLAY_SCRIPT % (cases,)))) == [
            "checked %d bad []" % len(cases)]
    inputs = [u.hex() for u in v_x25519.low_order_inputs()[:3]]
    out = board.exec(v_x25519.LOW_ORDER_SCRIPT % ([os.urandom(32).hex()], inputs))
    assert out.split() == ["00" * 32] * len(inputs)


def test_mlkem768_fast_paths(board):
    # the paths chosen here (Keccak in Thumb assembler, the polynomials in viper: both load on
    # armv6m); the portable ones are the Cortex-M3's test (two minutes here)
    qc.test_mlkem768(board, "thumb")


def test_aes_ctr_every_backend(board):
    # cryptolib's AES (the default here) and ussh's own, against the reference (cryptolib takes
    # 128- and 256-bit keys, the two SSH's aes*-ctr use); aes_viper.py where it loads (armv6m's
    # emitter refuses it today: "native method too big")
    viper = lines(board.exec(
        "try:\n    from ussh.crypto import aes_viper\n    print('yes')\nexcept Exception as e:\n    print(repr(e))\n"))
    ta = v_aes
    mine = ("viper", "pure") if viper == ["yes"] else ("pure",)
    for backends, cases in ((mine, aes_cases()),
                            (("ecb",), [c for c in aes_cases() if len(c[0]) != 24])):
        code = AES_SCRIPT.replace("('viper', 'pure')", repr(backends)) % (
            ta.PLAIN, [k for k, _ in ta.SP800_38A], ta.COUNTER, cases)
        out = lines(board.exec(code))
        assert out[0] == "ecb"
        want = []
        for backend in backends:
            want += ["%s %s" % (backend, ct) for _, ct in ta.SP800_38A]
            want += ["%s %s" % (backend, ta.reference(k, iv, bytes(n)).hex()) for k, iv, n in cases]
        assert out[1:] == want


def test_rand_draws_from_os_urandom(board):
    # no source given: random_bytes is the board's os.urandom (the ring oscillator)
    out = lines(board.exec(
        "from ussh.crypto import rand\n"
        "rand.require()\n"
        "a = rand.random_bytes(32)\n"
        "print(len(a), a != rand.random_bytes(32))\n"))
    assert out == ["32 True"]

