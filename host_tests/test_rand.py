"""ussh.crypto.rand: os.urandom where the runtime has it, a clear NoEntropy
where it has not (the wasm port really has none), and the HMAC_DRBG
(ussh.crypto.drbg) a board entropy source feeds, checked against NIST CAVP
HMAC_DRBG SHA-256 vectors."""
import sys

import pytest

from runtimes import LIB, RUNTIMES, run

h = bytes.fromhex

# NIST CAVP HMAC_DRBG.rsp, [SHA-256] [PredictionResistance = False],
# 256-bit entropy, 128-bit nonce, 1024 returned bits (the second Generate).
DRBG_NO_RESEED = [
    # COUNT = 0, no personalization, no additional input.
    dict(
        entropy="ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488",
        nonce="659ba96c601dc69fc902940805ec0ca8",
        pers="",
        add=("", ""),
        out="e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89"
        "d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1"
        "07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668"
        "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8",
    ),
    # 256-bit personalization string and additional inputs.
    dict(
        entropy="5d3286bc53a258a53ba781e2c4dcd79a790e43bbe0e89fb3eed39086be34174b",
        nonce="c5422294b7318952ace7055ab7570abf",
        pers="2dba094d008e150d51c4135bb2f03dcde9cbf3468a12908a1b025c120c985b9d",
        add=(
            "793a7ef8f6f0482beac542bb785c10f8b7b406a4de92667ab168ecc2cf7573c6",
            "2238cdb4e23d629fe0c2a83dd8d5144ce1a6229ef41dabe2a99ff722e510b530",
        ),
        out="d04678198ae7e1aeb435b45291458ffde0891560748b43330eaf866b5a6385e7"
        "4c6fa5a5a44bdb284d436e98d244018d6acedcdfa2e9f499d8089e4db86ae89a"
        "6ab2d19cb705e2f048f97fb597f04106a1fa6a1416ad3d859118e079a0c319eb"
        "95686f4cbcce3b5101c7a0b010ef029c4ef6d06cdfac97efb9773891688c37cf",
    ),
]
# HMAC_DRBG.rsp (reseed file), SHA-256, COUNT = 0: Instantiate, Reseed,
# Generate twice.
DRBG_RESEED = dict(
    entropy="06032cd5eed33f39265f49ecb142c511da9aff2af71203bffaf34a9ca5bd9c0d",
    nonce="0e66f71edc43e42a45ad3c6fc6cdc4df",
    reseed="01920a4e669ed3a85ae8a33b35a74ad7fb2a6bb4cf395ce00334a9c9a5a5d552",
    out="76fc79fe9b50beccc991a11b5635783a83536add03c157fb30645e611c2898bb"
    "2b1bc215000209208cd506cb28da2a51bdb03826aaf2bd2335d576d519160842"
    "e7158ad0949d1a9ec3e66ea1b1a064b005de914eac2e9d4f2d72a8616a802254"
    "22918250ff66a41bd2f864a6a38cc5b6499dc43f7f2bd09e1e0f8f5885935124",
)


def lines(out):
    return [x for x in out.splitlines() if x.strip()]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_drbg_cavp_vectors(runtime):
    code = (
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
        "print(d.generate(128).hex())\n"
    ) % (DRBG_NO_RESEED, DRBG_RESEED)
    out = lines(run(runtime, code))
    assert out == [v["out"] for v in DRBG_NO_RESEED] + [DRBG_RESEED["out"]]


@pytest.mark.parametrize("runtime", ["cpython", "unix"])
def test_random_bytes_from_os(runtime):
    code = (
        "from ussh.crypto import random_bytes\n"
        "a = random_bytes(32)\n"
        "b = random_bytes(32)\n"
        "print(len(a), len(b), len(random_bytes(0)), len(random_bytes(1000)), a != b)\n"
    )
    assert lines(run(runtime, code)) == ["32 32 0 1000 True"]


def test_wasm_has_no_entropy_until_given_a_source():
    # The webassembly port has no os.urandom: random_bytes must refuse,
    # naming the fix, then work from a board source through the DRBG.
    code = (
        "from ussh.crypto import rand\n"
        "try:\n"
        "    rand.random_bytes(16)\n"
        "    print('no error')\n"
        "except rand.NoEntropy as e:\n"
        "    print('NoEntropy:', e)\n"
        "state = [1]\n"
        "def board(n):\n"
        "    out = bytearray(n)\n"
        "    for i in range(n):\n"
        "        state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF\n"
        "        out[i] = state[0] >> 16 & 255\n"
        "    return bytes(out)\n"
        "rand.set_source(board)\n"
        "a = rand.random_bytes(40)\n"
        "b = rand.random_bytes(70000)\n"
        "print(len(a), len(b), a != b[:40], len(set(b)))\n"
    )
    out = lines(run("wasm", code))
    assert out[0].startswith("NoEntropy:") and "set_source" in out[0]
    n_a, n_b, differ, distinct = out[1].split()
    assert (n_a, n_b, differ) == ("40", "70000", "True")
    assert int(distinct) == 256


@pytest.fixture
def rand_module(monkeypatch):
    if LIB not in sys.path:
        monkeypatch.syspath_prepend(LIB)
    from ussh import compat
    from ussh.crypto import rand

    monkeypatch.setattr(compat, "_urandom", None)
    yield rand
    rand.set_source(None)


def test_no_urandom_raises_no_entropy(rand_module):
    with pytest.raises(rand_module.NoEntropy) as e:
        rand_module.random_bytes(8)
    assert "set_source" in str(e.value)
    assert "os.urandom" in str(e.value)


def test_set_source_feeds_drbg_and_reseeds(rand_module, monkeypatch):
    calls = []

    def source(n):
        calls.append(n)
        return bytes([len(calls)]) * n

    rand_module.set_source(source)
    assert calls == [48]  # entropy input and nonce for Instantiate
    a = rand_module.random_bytes(32)
    assert len(a) == 32 and a != rand_module.random_bytes(32)
    # Past the reseed interval the DRBG takes fresh entropy.
    monkeypatch.setattr(rand_module._drbg[0], "reseed_counter", 10**6)
    rand_module.random_bytes(1)
    assert calls == [48, 32]
    # A short read from the board is refused, not stretched, and leaves
    # the working source in place.
    with pytest.raises(rand_module.NoEntropy):
        rand_module.set_source(lambda n: b"\x00" * (n - 1))
    assert len(rand_module.random_bytes(5)) == 5


def test_drbg_generate_lengths(rand_module):
    # Generate returns a prefix of the same V chain whatever the length
    # (SP 800-90A 10.1.2.5 step 5), and refuses over 2^19 bits a request.
    from ussh.crypto.drbg import HMACDRBG

    d1 = HMACDRBG(b"\x01" * 32, b"\x02" * 16)
    d2 = HMACDRBG(b"\x01" * 32, b"\x02" * 16)
    a = d1.generate(100)
    assert len(a) == 100 and d2.generate(99) == a[:99]
    assert d1.generate(100) != a
    with pytest.raises(ValueError):
        d1.generate(65537)
