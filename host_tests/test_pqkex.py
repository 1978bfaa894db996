"""mlkem768x25519-sha256 (lib/ussh/pqkex.py) end to end: OpenSSH 10.x picks it
with no option and prints no post-quantum warning; asyncssh negotiates it; an
independent raw client (ML-KEM-768 and X25519 from `cryptography`) checks K and
the exchange hash through the host signature and the keys that follow;
OpenSSH 9.2, which lacks it, still logs in with curve25519-sha256; malformed
key shares end the connection with a reason."""
import asyncio
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import rawssh
import runtimes
import sshd_fixtures

RUNTIMES = ("unix", "cpython")
PQ = "mlkem768x25519-sha256"
WARNING = "post-quantum"
KEY_EXCHANGE_FAILED = 3  # RFC 4250 §4.2.2


@pytest.fixture(params=RUNTIMES)
def srv(request, ussh_server):
    return ussh_server(runtime=request.param)


def test_openssh10_uses_pq_without_warning(srv):
    p = srv.ssh("print(6*7)", client="ssh10")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()
    assert WARNING not in p.stderr, p.stderr
    p = srv.ssh("print(1)", client="ssh10", options=("LogLevel=DEBUG",))
    assert p.stdout == "1\n", p.stderr[-2000:]
    assert "kex: algorithm: %s" % PQ in p.stderr, p.stderr[-3000:]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_build_without_pq_modules(runtime, tmp_path, monkeypatch):
    # lib/ without pqkex.py, crypto/mlkem.py and crypto/sha3.py: the server
    # offers curve25519-sha256 only, and OpenSSH 10 logs in with its warning
    # (so the warning check above can fail; an explicit KexAlgorithms option
    # would silence it)
    lib = tmp_path / "lib"
    shutil.copytree(runtimes.LIB, lib, ignore=shutil.ignore_patterns("__pycache__", "pqkex.py", "mlkem.py", "sha3.py"))
    assert not (lib / "ussh" / "pqkex.py").exists() and (lib / "ussh" / "kex.py").exists()
    monkeypatch.setattr(sshd_fixtures.peers, "LIB", str(lib))
    with sshd_fixtures.ussh_server(runtime) as srv:
        p = srv.ssh("print(6*7)", client="ssh10", options=("LogLevel=DEBUG",))
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr[-2000:] + srv.log()
        assert "kex: algorithm: curve25519-sha256" in p.stderr and WARNING in p.stderr, p.stderr[-3000:]


def test_openssh92_falls_back_to_curve25519(srv):
    p = srv.ssh("print(6*7)", options=("LogLevel=DEBUG",))
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr[-2000:] + srv.log()
    assert "kex: algorithm: curve25519-sha256" in p.stderr, p.stderr[-3000:]


def test_asyncssh_negotiates_pq(srv):
    import asyncssh

    async def main():
        # offered nothing else: the connection exists only if the server speaks it
        async with asyncssh.connect("127.0.0.1", srv.port, username="board", client_keys=[srv.client_key],
                                    known_hosts=None, kex_algs=[PQ]) as conn:
            r = await conn.run("print(6*7)")
            assert (r.stdout, r.exit_status) == ("42\n", 0)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_raw_client_checks_k_and_exchange_hash(srv):
    # K = string(SHA-256(K_PQ || K_CL)) and H as the draft says: the host
    # signature over H verifies, and both directions' keys from K and H work
    with rawssh.RawClient(srv.port) as c:
        c.send_version()
        c.read_version()
        lists = c.kexinit(kex=(PQ.encode(), b"curve25519-sha256"))
        assert lists[0][0] == PQ.encode()
        c.kex_mlkem()
        c.login(rawssh.load_private_key(srv.client_key))
        r = c.exec(c.open_session(), "print(6*7)")
        assert (r.stdout, r.status) == (b"42\n", 0)


def _share(ek=None, x=None):
    if ek is None:
        ek = MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
    if x is None:
        x = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return ek + x


def _with_coefficient(ek, i, value):
    # ByteEncode12 (FIPS 203 Algorithm 5): coefficients 2k, 2k+1 in bytes 3k..3k+2
    ek = bytearray(ek)
    k = 3 * (i >> 1)
    a = ek[k] | (ek[k + 1] & 15) << 8
    b = ek[k + 1] >> 4 | ek[k + 2] << 4
    a, b = (a, value) if i & 1 else (value, b)
    ek[k : k + 3] = bytes((a & 255, a >> 8 | (b & 15) << 4, b >> 4))
    return bytes(ek)


BAD_SHARES = {
    "short": lambda: _share()[:-1],
    "long": lambda: _share() + b"\0",
    "x25519_only": lambda: _share()[-32:],
    "empty": lambda: b"",
    "coefficient_q": lambda: _with_coefficient(_share()[:1184], 0, 3329) + _share()[-32:],
    "coefficient_4095": lambda: _with_coefficient(_share()[:1184], 767, 4095) + _share()[-32:],
    "x25519_zero": lambda: _share(x=bytes(32)),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("kind", sorted(BAD_SHARES))
def test_malformed_key_share_disconnects(ussh_server, runtime, kind):
    srv = ussh_server(runtime=runtime)
    with rawssh.RawClient(srv.port) as c:
        c.send_version()
        c.read_version()
        c.kexinit(kex=(PQ.encode(),))
        c.kex_init_payload(BAD_SHARES[kind]())
        code, reason = c.expect_disconnect()
    assert code == KEY_EXCHANGE_FAILED and reason, (code, reason)
    # the server goes on serving: a good exchange right after
    with rawssh.RawClient(srv.port) as c:
        c.send_version()
        c.read_version()
        c.kexinit(kex=(PQ.encode(),))
        c.kex_mlkem()
