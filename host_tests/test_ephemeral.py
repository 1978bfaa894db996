"""The server's ephemeral X25519 key pair, made ahead while the driver waits for a client
(ecdh.prepare_ephemeral, called by stream.serve_stream before the version line): the next key
exchange uses it, no two exchanges use the same one (the post-quantum one included), and a
connection that ends before its key exchange leaves it for the next client."""
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import run

CODE = """
from ussh import ecdh, stream
from ussh.crypto import rand, x25519_base
rand.set_source(lambda n: bytes((7 * i + n + len(ecdh._eph)) & 255 for i in range(n)))
ecdh.prepare_ephemeral()
d, q = ecdh._eph[0]
ecdh.prepare_ephemeral()  # one is waiting: no second
print("waiting", len(ecdh._eph), x25519_base(d) == q)
q_c = bytes.fromhex(%r)
a = ecdh.curve25519_sha256(q_c)
b = ecdh.curve25519_sha256(q_c)
print("first", a[0] == q, "second", b[0] != q and b[0] != a[0], "left", len(ecdh._eph))
print("secret", bytes(a[1]).hex())
print("dwiped", d == bytearray(32))
# a connection that ends before its version line: the pair made while waiting stays
from ussh.startup import make_config
from ussh.keys import HostKey
cfg = make_config(HostKey(bytes(range(32))), b"", log=lambda m: None)
stream.serve_stream(lambda n: b"", lambda b: None, cfg)
d2, q2 = ecdh._eph[0]
stream.serve_stream(lambda n: b"", lambda b: None, cfg)
print("kept", len(ecdh._eph), ecdh._eph[0][1] == q2)
"""


@pytest.mark.parametrize("runtime", ["cpython", "unix"])
def test_pair_made_ahead_is_used_once(runtime):
    peer = X25519PrivateKey.generate()
    q_c = peer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out = run(runtime, CODE % q_c.hex()).split("\n")
    assert out[0] == "waiting 1 True"
    assert out[1] == "first True second True left 0"
    assert out[3] == "dwiped True"  # the secret was wiped after its one use
    assert out[4] == "kept 1 True"
    # K is X25519(d, Q_C) as an mpint: check it against the peer's side with our Q_S
    secret = bytes.fromhex(out[2].split()[1])
    k = int.from_bytes(secret[4:], "big").to_bytes(32, "big")
    assert k == peer.exchange(X25519PublicKey.from_public_bytes(
        bytes.fromhex(run(runtime, CODE % q_c.hex() + "print(a[0].hex())\n").split("\n")[5])))


WARM = """
from ussh import connection, keys, startup, stream
from ussh.crypto import ed25519_public
seed = bytes(range(32))
good = keys.HostKey(seed, ed25519_public(seed))
bad = keys.HostKey(seed, ed25519_public(bytes(32)))  # a public half not the seed's
for k in (good, bad):
    cfg = startup.make_config(k, b"", log=lambda m: None)  # start-up: no check there
    print("started", k.checked, cfg.warm)
    try:
        stream.serve_stream(lambda n: b"", lambda b: None, cfg)  # warm() while waiting
        print("warm", k.checked, cfg.warm)
    except keys.KeyFileError as e:
        print("refused", "do not match" in str(e), cfg.warm)
    try:
        k.sign(b"x")
        print("signs")
    except keys.KeyFileError:
        print("no signature")
"""


@pytest.mark.parametrize("runtime", ["cpython", "unix"])
def test_host_key_checked_while_idle_not_at_start(runtime):
    # make_config leaves the host key's check (RFC 8032 5.1.5) to driver.warm(), which the
    # driver runs before the client's first byte; a key whose halves disagree is refused there
    # and never signs
    out = run(runtime, WARM).split("\n")
    assert [x for x in out if x] == ["started False False", "warm True True", "signs",
                                     "started False False", "refused True False", "no signature"]
