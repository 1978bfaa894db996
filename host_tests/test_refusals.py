"""Authentication refusals (RFC 4252): keys that are not authorized, key types ussh cannot verify,
bad signatures, the failure limit; after each one the server keeps serving good logins.

Stock OpenSSH `ssh` where it can produce the case, host_tests/rawssh.py where a fault has to be
injected. Every test runs against ussh on the MicroPython unix port and on CPython.
"""
import os
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import rawssh
from rawssh import USERAUTH_FAILURE, USERAUTH_PK_OK, USERAUTH_SUCCESS, Reader, string
from sshd_fixtures import Lab, keygen, ssh_argv

SERVER_RUNTIMES = ("unix", "cpython")
ED25519_L = 2**252 + 27742317777372353535851937790883648493  # RFC 8032 §5.1 group order


@pytest.fixture(params=SERVER_RUNTIMES)
def srv(request, ussh_server):
    return ussh_server(runtime=request.param)


def assert_serves(srv):
    p = srv.ssh("print(6*7)", timeout=30)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()


def fingerprint(pub_path):
    """SHA256 fingerprint as ssh-keygen computes it (independent of ussh.keys)."""
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub_path], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return out.split()[1]


def log_lines(srv, c, needle, timeout=5.0):
    """The server's log lines for raw client c's connection that contain needle (waits a little
    for the log to catch up, bounded)."""
    peer = "127.0.0.1:%d " % c.sock.getsockname()[1]
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in srv.log().splitlines() if peer in ln and needle in ln]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def wait_log(srv, needle, timeout=5.0):
    deadline = time.monotonic() + timeout
    while needle not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    return srv.log()


def raw_client(srv):
    c = rawssh.RawClient(srv.port)
    c.handshake()
    c.service_request()
    return c


def failure_methods(payload):
    r = Reader(payload, 1)
    return r.namelist(), r.take(1)


# -- (a) a key that is not in authorized_keys
def test_unauthorized_key_refused_by_stock_ssh(srv):
    wrong = keygen(os.path.join(srv.dir, "not_authorized"), "not-authorized")
    p = subprocess.run(ssh_argv(srv.port, wrong, srv.known_hosts, "print(6*7)"),
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 255, p.stdout + p.stderr
    assert "Permission denied" in p.stderr
    assert p.stdout == ""
    fp = fingerprint(wrong + ".pub")
    log = wait_log(srv, fp)
    assert [ln for ln in log.splitlines() if "auth refused" in ln and fp in ln], log
    assert "auth accepted" not in log
    assert_serves(srv)


def test_unauthorized_key_refused_by_raw_client(srv):
    with raw_client(srv) as c:
        t, p = c.userauth_publickey("tester", Ed25519PrivateKey.generate())
        assert t == USERAUTH_FAILURE
        assert failure_methods(p) == ([b"publickey"], b"\x00")
        c.login(rawssh.load_private_key(srv.client_key))  # the same connection goes on
    assert_serves(srv)


# -- (b) RSA: SHA-2 signatures accepted (RFC 8332, ussh.key_rsa), ssh-rsa (SHA-1) refused
@pytest.mark.parametrize("runtime", SERVER_RUNTIMES)
def test_rsa_sha2_accepted_sha1_refused(runtime):
    with Lab(prefix="ussh-rsa-") as lab:
        rsa = os.path.join(lab.dir, "client_rsa")
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "rsa-client",
                        "-f", rsa], check=True, stdin=subprocess.DEVNULL, timeout=60)
        with open(lab.authorized_keys, "a") as f, open(rsa + ".pub") as pub:
            f.write(pub.read())
        srv = lab.start("ussh", runtime=runtime)
        p = subprocess.run(ssh_argv(srv.port, rsa, srv.known_hosts, "print(6*7)"),
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stdout + p.stderr

        # ssh-rsa (SHA-1) and the RSA blob under the ed25519 name: refused, logged with the
        # key's fingerprint; then a query and a SHA-2 signature on the same connection succeed
        key = rawssh.load_private_key(rsa)
        with raw_client(srv) as c:
            assert c.userauth_publickey("tester", key, algorithm=b"ssh-rsa")[0] == USERAUTH_FAILURE
            t, _ = c.userauth_publickey("tester", key, algorithm=b"ssh-ed25519",
                                        sig_override=bytes(64))
            assert t == USERAUTH_FAILURE
            t, _ = c.userauth_publickey("tester", key, algorithm=b"rsa-sha2-256", query_only=True)
            assert t == USERAUTH_PK_OK
            assert c.userauth_publickey("tester", key, algorithm=b"rsa-sha2-256")[0] == USERAUTH_SUCCESS
        fp = fingerprint(rsa + ".pub")
        log = wait_log(srv, fp)
        assert len([ln for ln in log.splitlines() if "auth refused" in ln and fp in ln]) == 2, log
        assert len([ln for ln in srv.log().splitlines() if "auth accepted" in ln and fp in ln]) == 2
        assert_serves(srv)


# -- (c) a corrupted signature from the authorized key
def _with_s(sig, s):
    return sig[:32] + s.to_bytes(32, "little")


SIG_CORRUPTIONS = {
    "bit_in_R": lambda sig: bytes([sig[0] ^ 0x01]) + sig[1:],
    "bit_in_S": lambda sig: sig[:40] + bytes([sig[40] ^ 0x10]) + sig[41:],
    "S_plus_L": lambda sig: _with_s(sig, int.from_bytes(sig[32:], "little") + ED25519_L),
    "truncated": lambda sig: sig[:63],
    "extended": lambda sig: sig + b"\x00",
    "zeros": lambda sig: bytes(64),
}


@pytest.mark.parametrize("corruption", sorted(SIG_CORRUPTIONS))
def test_corrupted_signature_fails(srv, corruption):
    key = rawssh.load_private_key(srv.client_key)
    with raw_client(srv) as c:
        t, p = c.userauth_publickey("tester", key, sig_override=SIG_CORRUPTIONS[corruption])
        assert t == USERAUTH_FAILURE, p
        assert failure_methods(p) == ([b"publickey"], b"\x00")
        assert log_lines(srv, c, "bad signature"), srv.log()
        assert not log_lines(srv, c, "auth accepted", timeout=0)
        c.login(key)
        assert log_lines(srv, c, "auth accepted")
    assert_serves(srv)


# -- (d) a signature over another session id
def test_signature_over_wrong_session_id_fails(srv):
    key = rawssh.load_private_key(srv.client_key)
    with raw_client(srv) as c:
        other = bytes([c.session_id[0] ^ 1]) + c.session_id[1:]
        for sid in (other, os.urandom(32), b""):
            t, _ = c.userauth_publickey("tester", key, session_id_override=sid)
            assert t == USERAUTH_FAILURE
        c.login(key)
    assert_serves(srv)


# -- (e) the failure limit
def test_sixth_failure_disconnects_and_seventh_attempt_is_never_evaluated(srv):
    key = rawssh.load_private_key(srv.client_key)
    with raw_client(srv) as c:
        assert c.userauth_none()[0] == USERAUTH_FAILURE  # "none" first: not counted
        stranger = Ed25519PrivateKey.generate()
        password = (bytes([rawssh.USERAUTH_REQUEST]) + string("tester") + string("ssh-connection")
                    + string("password") + b"\x00" + string("secret"))
        failing = [
            c.userauth_request(stranger, query_only=True),
            c.userauth_request(stranger),
            c.userauth_request(key, sig_override=SIG_CORRUPTIONS["bit_in_S"]),
            c.userauth_request(key, session_id_override=os.urandom(32)),
            password,
            c.userauth_request(key, sig_override=SIG_CORRUPTIONS["bit_in_R"]),
        ]
        good = c.userauth_request(key)
        # all seven in one write: the server has the 7th in hand when it gives up
        c.send_raw(b"".join(c.pack(p) for p in failing + [good]))
        answers = []
        with pytest.raises(rawssh.Disconnected) as exc:
            for _ in range(10):
                answers.append(c.recv()[0])
        assert answers == [USERAUTH_FAILURE] * 5
        assert exc.value.code == 14  # SSH_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE
        assert exc.value.reason
        c.wait_closed()
        assert len(log_lines(srv, c, "auth refused")) == 5  # "password" is refused unlogged
        assert not log_lines(srv, c, "auth accepted", timeout=0)
    assert_serves(srv)


# -- (g) "none"
def test_none_method_lists_publickey(srv):
    with raw_client(srv) as c:
        t, p = c.userauth_none()
        assert t == USERAUTH_FAILURE
        assert failure_methods(p) == ([b"publickey"], b"\x00")
        assert c.server_sig_algs == [b"ssh-ed25519"]  # EXT_INFO arrived before this
        c.login(rawssh.load_private_key(srv.client_key))
    assert_serves(srv)


# -- (h) a query (no signature) for the authorized key
def test_query_for_authorized_key_gets_pk_ok(srv):
    key = rawssh.load_private_key(srv.client_key)
    with raw_client(srv) as c:
        t, p = c.userauth_publickey("tester", key, query_only=True)
        assert t == USERAUTH_PK_OK
        r = Reader(p, 1)
        assert (r.string(), r.string()) == (b"ssh-ed25519", rawssh.key_blob(key))
        assert r.pos == len(p)
        # a query for another key is a failure; the authorized key then logs in
        t, _ = c.userauth_publickey("tester", Ed25519PrivateKey.generate(), query_only=True)
        assert t == USERAUTH_FAILURE
        assert c.userauth_publickey("tester", key)[0] == USERAUTH_SUCCESS
        ch = c.open_session()
        assert c.exec(ch, "print(6*7)").stdout == b"42\n"


# -- the connection limit (ussh --max-connections, default 8)
def _login_once(srv):
    """True after a raw login; False when the server turned the connection away (code 12)."""
    with rawssh.RawClient(srv.port) as c:
        try:
            c.handshake()
        except rawssh.Disconnected as d:
            assert d.code == 12, d
            return False
        except (OSError, rawssh.ClosedWithoutDisconnect):
            return False
        c.login(rawssh.load_private_key(srv.client_key))
        return True


def test_connection_over_the_limit_is_refused(srv):
    # every place held by a logged-in connection: the next one is refused (an unauthenticated
    # one would have given way instead: test_hardening item 1)
    held = []
    key = rawssh.load_private_key(srv.client_key)
    try:
        for _ in range(8):
            c = rawssh.RawClient(srv.port)
            c.handshake()
            c.login(key)
            held.append(c)
        with rawssh.RawClient(srv.port) as c:
            c.read_version()
            code, reason = c.expect_disconnect(5)
            assert code == 12, reason  # SSH_DISCONNECT_TOO_MANY_CONNECTIONS
        held.pop(0).close()
        for _ in range(50):  # bounded: until the server has seen that close
            if _login_once(srv):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no place freed after a close\n" + srv.log())
    finally:
        for c in held:
            c.close()
    assert_serves(srv)
