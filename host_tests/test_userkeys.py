"""User keys beyond Ed25519 (issue 8): RSA (rsa-sha2-256/512), ECDSA P-256, OpenSSH user
certificates, authorized_keys options; every login and refusal against one ussh server on the
MicroPython unix port (shared by the module), key material from ssh-keygen, the stock OpenSSH
client where it can make the case and host_tests/rawssh.py where a fault has to be injected.
"""
import base64
import hashlib
import os
import struct
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import rawssh
from rawssh import USERAUTH_FAILURE, USERAUTH_SUCCESS, string
from sshd_fixtures import Lab, ssh_argv

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
CA_LINE_PRINCIPAL = "ops"
FORCED = "print('forced:', SSH_ORIGINAL_COMMAND)"


def keygen(path, kind="ed25519", bits=None):
    argv = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", os.path.basename(path), "-f", path]
    if bits:
        argv += ["-b", str(bits)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, timeout=120)
    return path


def certify(ca, path, principals, *args, serial=7, key_id=None):
    """ssh-keygen -s: path-cert.pub for path.pub."""
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", key_id or os.path.basename(path), "-z", str(serial),
                    "-n", principals] + list(args) + [path + ".pub"], check=True, stdin=subprocess.DEVNULL,
                   timeout=60)
    return path


def pub(path):
    with open(path + ".pub") as f:
        return f.read().strip()


def fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub_path], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return out.split()[1]


class Setup:
    pass


SK_ED = b"sk-ssh-ed25519@openssh.com"
SK_EC = b"sk-ecdsa-sha2-nistp256@openssh.com"


class SoftKey:
    """A software FIDO authenticator (OpenSSH PROTOCOL.u2f) made with `cryptography`."""

    def __init__(self, kind, application=b"ssh:"):
        self.kind, self.app = kind, application
        if kind == SK_ED:
            self.key = Ed25519PrivateKey.generate()
            raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.blob = string(kind) + string(raw) + string(application)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            q = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
            self.blob = string(kind) + string(b"nistp256") + string(q) + string(application)

    def line(self):
        return "%s %s soft-%s" % (self.kind.decode(), base64.b64encode(self.blob).decode(), self.kind.decode())

    def sign(self, data, flags, counter):
        """The SSH signature blob: the authenticator signs SHA256(application) || flags ||
        counter || SHA256(data)."""
        m = hashlib.sha256(self.app).digest() + bytes([flags]) + struct.pack(">I", counter) \
            + hashlib.sha256(data).digest()
        if self.kind == SK_ED:
            sig = self.key.sign(m)
        else:
            r, s_ = decode_dss_signature(self.key.sign(m, ec.ECDSA(hashes.SHA256())))
            sig = rawssh.mpint_unsigned(r.to_bytes(33, "big")) + rawssh.mpint_unsigned(s_.to_bytes(33, "big"))
        return string(self.kind) + string(sig) + bytes([flags]) + struct.pack(">I", counter)

    def auth(self, c, flags, counter=1, user="tester", data_fault=False):
        body = (bytes([rawssh.USERAUTH_REQUEST]) + string(user) + string(b"ssh-connection")
                + string(b"publickey") + b"\x01" + string(self.kind) + string(self.blob))
        sig = self.sign(string(c.session_id) + body + (b"x" if data_fault else b""), flags, counter)
        c.send_packet(body + string(sig))
        return c.recv()[0]


@pytest.fixture(scope="module")
def s():
    with Lab(prefix="ussh-userkeys-") as lab:
        d = lab.dir
        k = {}
        for name, kind, bits in (("rsa2048", "rsa", 2048), ("rsa4096", "rsa", 4096), ("rsa1024", "rsa", 1024),
                                 ("ecdsa", "ecdsa", 256), ("ca", "ed25519", None), ("ca_line", "ecdsa", 256),
                                 ("ca_other", "ed25519", None), ("forced", "ed25519", None),
                                 ("nopty", "ed25519", None), ("restricted", "ed25519", None),
                                 ("restricted_pty", "ed25519", None),
                                 ("from_bad", "ed25519", None), ("from_ok", "ed25519", None),
                                 ("offcurve", "ecdsa", 256)):
            k[name] = keygen(os.path.join(d, name), kind, bits)
        # certificates, each on its own copy of a user key (the client finds NAME-cert.pub)
        now = int(time.time())
        certs = {
            "cert": ("ca", "tester,alice", ()),
            "cert_expired": ("ca", "tester", ("-V", "20200101:20200102")),
            "cert_future": ("ca", "tester", ("-V", "+1d:+2d")),
            "cert_principal": ("ca", "alice,bob", ()),
            "cert_untrusted": ("ca_other", "tester", ()),
            "cert_critical": ("ca", "tester", ("-O", "critical:frobnicate@example.com=yes")),
            "cert_force": ("ca", "tester", ("-O", "force-command=print('cert forced')")),
            "cert_source": ("ca", "tester", ("-O", "source-address=10.0.0.0/8")),
            "cert_line": ("ca_line", CA_LINE_PRINCIPAL, ()),
            "cert_rsa": ("ca", "tester", ()),
            "cert_host": ("ca", "tester", ("-h",)),
            "cert_nopty": ("ca", "tester", ("-O", "no-pty")),
        }
        for name, (ca, principals, args) in certs.items():
            keygen(os.path.join(d, name), "rsa" if name == "cert_rsa" else "ed25519")
            k[name] = certify(k[ca], os.path.join(d, name), principals, *args, serial=now % 100000,
                              key_id="id-" + name)
        # an ECDSA key whose point is moved off the curve (y + 1)
        blob = base64.b64decode(pub(k["offcurve"]).split()[1])
        bad = blob[:-1] + bytes([blob[-1] ^ 1])
        lines = [pub(k[n]) for n in ("rsa2048", "rsa4096", "rsa1024", "ecdsa")] + [
            "ecdsa-sha2-nistp256 " + base64.b64encode(bad).decode() + " offcurve",
            'cert-authority,principals="%s" %s' % (CA_LINE_PRINCIPAL, pub(k["ca_line"])),
            'command="%s" %s' % (FORCED, pub(k["forced"])),
            "no-pty " + pub(k["nopty"]),
            "restrict " + pub(k["restricted"]),
            "restrict,pty " + pub(k["restricted_pty"]),
            'from="10.*,!127.0.0.1,127.0.0.*" ' + pub(k["from_bad"]),
            'from="10.0.0.1,127.0.0.?" ' + pub(k["from_ok"]),
        ]
        sk = {name: SoftKey(kind) for name, kind in (("sk_ed", SK_ED), ("sk_ec", SK_EC), ("sk_notouch", SK_ED),
                                                      ("sk_verify", SK_ED), ("sk_verify_ec", SK_EC))}
        lines += [sk["sk_ed"].line(), sk["sk_ec"].line(), "no-touch-required " + sk["sk_notouch"].line(),
                  "verify-required " + sk["sk_verify"].line(), "verify-required " + sk["sk_verify_ec"].line()]
        with open(lab.authorized_keys, "a") as f:
            f.write("\n".join(lines) + "\n")
        cas = os.path.join(d, "trusted_cas")
        with open(cas, "w") as f:
            f.write(pub(k["ca"]) + "\n")
        srv = lab.start("ussh", runtime="unix", extra_args=["--trusted-ca", cas])
        srv.user = "tester"
        st = Setup()
        st.srv, st.k, st.lab, st.sk = srv, k, lab, sk
        yield st


def login(s, key, cmd="print(6*7)", options=(), client="ssh", user="tester", tty=False):
    argv = ssh_argv(s.srv.port, s.k[key], s.srv.known_hosts, cmd, user, client, options)
    if tty:
        argv.insert(1, "-tt")
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def log_after(s, mark, needle, timeout=5.0):
    """Log lines written after mark (a length of the log) that contain needle (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in s.srv.log()[mark:].splitlines() if needle in ln]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def assert_login(s, key, alg, **kw):
    mark = len(s.srv.log())
    p = login(s, key, **kw)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + s.srv.log()
    lines = log_after(s, mark, "auth accepted for tester with " + alg)
    assert lines, s.srv.log()[mark:]
    return lines[0]


def assert_refused(s, key, why, user="tester"):
    mark = len(s.srv.log())
    p = login(s, key, user=user)
    assert p.returncode == 255 and "Permission denied" in p.stderr, p.stdout + p.stderr
    lines = log_after(s, mark, why)
    assert [ln for ln in lines if "auth refused for %s" % user in ln], s.srv.log()[mark:]
    return lines[0]


# -- RSA, RFC 8332
@pytest.mark.parametrize("key", ["rsa2048", "rsa4096"])
@pytest.mark.parametrize("alg", ["rsa-sha2-512", "rsa-sha2-256"])
def test_rsa_login(s, key, alg):
    opts = () if alg == "rsa-sha2-512" else ("PubkeyAcceptedAlgorithms=rsa-sha2-256",)
    line = assert_login(s, key, alg, options=opts)
    assert fingerprint(s.k[key] + ".pub") in line


def test_rsa_login_openssh10(s):
    assert_login(s, "rsa2048", "rsa-sha2-512", client="ssh10")


def test_rsa_1024_refused(s):
    assert_refused(s, "rsa1024", "RSA key of 1024 bits is too small")


def raw(s):
    c = rawssh.RawClient(s.srv.port)
    c.handshake()
    c.service_request()
    return c


def test_server_sig_algs_lists_what_is_accepted(s):
    with raw(s) as c:
        c.userauth_none()
        algs = set(c.server_sig_algs)
    assert {b"ssh-ed25519", b"rsa-sha2-256", b"rsa-sha2-512", b"ecdsa-sha2-nistp256",
            b"ssh-ed25519-cert-v01@openssh.com", b"rsa-sha2-256-cert-v01@openssh.com"} <= algs
    assert b"ssh-rsa" not in algs


def test_ssh_rsa_sha1_refused(s):
    key = rawssh.load_private_key(s.k["rsa2048"])
    mark = len(s.srv.log())
    with raw(s) as c:
        t, _ = c.userauth_publickey("tester", key, algorithm=b"ssh-rsa")
        assert t == USERAUTH_FAILURE
        # the same key with SHA-2 still logs in on this connection
        t, _ = c.userauth_publickey("tester", key, algorithm=b"rsa-sha2-256")
        assert t == USERAUTH_SUCCESS
    assert log_after(s, mark, "key ssh-rsa %s ssh-rsa (SHA-1) signatures are refused"
                     % fingerprint(s.k["rsa2048"] + ".pub")), s.srv.log()[mark:]


def test_rsa_bad_signature_refused(s):
    key = rawssh.load_private_key(s.k["rsa4096"])
    mark = len(s.srv.log())
    with raw(s) as c:
        flip = lambda sig: sig[:-1] + bytes([sig[-1] ^ 1])  # noqa: E731
        t, _ = c.userauth_publickey("tester", key, algorithm=b"rsa-sha2-512", sig_override=flip)
        assert t == USERAUTH_FAILURE
    assert log_after(s, mark, "bad signature from rsa-sha2-512"), s.srv.log()[mark:]


# -- ECDSA P-256, RFC 5656
def test_ecdsa_login(s):
    assert_login(s, "ecdsa", "ecdsa-sha2-nistp256")


def test_ecdsa_point_off_curve_refused(s):
    key = rawssh.load_private_key(s.k["offcurve"])
    blob = rawssh.key_blob(key)
    bad = blob[:-1] + bytes([blob[-1] ^ 1])
    mark = len(s.srv.log())
    with raw(s) as c:
        t, _ = c.userauth_publickey("tester", key, algorithm=b"ecdsa-sha2-nistp256", blob=bad)
        assert t == USERAUTH_FAILURE
    assert log_after(s, mark, "ECDSA public point is not on the curve"), s.srv.log()[mark:]


def ecdsa_sig(r, s_):
    m = lambda v: string(v.to_bytes((v.bit_length() + 8) // 8 or 1, "big", signed=True))  # noqa: E731
    return m(r) + m(s_)


@pytest.mark.parametrize("r,s_", [(P256_N, 1), (1, P256_N), (0, 5), (5, 0), (-1, 5), (5, P256_N + 5)])
def test_ecdsa_r_s_out_of_range_refused(s, r, s_):
    key = rawssh.load_private_key(s.k["ecdsa"])
    mark = len(s.srv.log())
    with raw(s) as c:
        t, _ = c.userauth_publickey("tester", key, algorithm=b"ecdsa-sha2-nistp256", sig_override=ecdsa_sig(r, s_))
        assert t == USERAUTH_FAILURE
        t, _ = c.userauth_publickey("tester", key, algorithm=b"ecdsa-sha2-nistp256")
        assert t == USERAUTH_SUCCESS
    assert log_after(s, mark, "ECDSA signature r or s out of range"), s.srv.log()[mark:]


# -- certificates, PROTOCOL.certkeys
def test_certificate_login_picked_up_by_client(s):
    line = assert_login(s, "cert", "ssh-ed25519-cert-v01@openssh.com")
    # logged: the certified key's fingerprint, key id, serial, the CA's fingerprint
    key_fp = fingerprint(s.k["cert"] + ".pub")
    assert "ssh-ed25519-cert-v01@openssh.com %s, certificate id 'id-cert' serial" % key_fp in line
    assert fingerprint(s.k["ca"] + ".pub") in line


def test_rsa_certificate_login(s):
    assert_login(s, "cert_rsa", "rsa-sha2-512-cert-v01@openssh.com")


def test_certificate_through_cert_authority_line_with_principals(s):
    # the login name does not matter: principals="ops" is what the certificate must name
    mark = len(s.srv.log())
    p = login(s, "cert_line", user="whoever")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + s.srv.log()[mark:]
    line = log_after(s, mark, "auth accepted for whoever with ssh-ed25519-cert-v01")
    assert line and fingerprint(s.k["ca_line"] + ".pub") in line[0]  # an ECDSA CA


@pytest.mark.parametrize("key,why", [
    ("cert_expired", "expired"),
    ("cert_future", "not valid yet"),
    ("cert_principal", "principals alice,bob do not include 'tester'"),
    ("cert_untrusted", "signed by an untrusted CA"),
    ("cert_critical", "unknown critical option frobnicate@example.com"),
    ("cert_source", "source-address 10.0.0.0/8 does not include 127.0.0.1"),
])
def test_certificate_refused(s, key, why):
    line = assert_refused(s, key, why)
    assert "certificate id 'id-%s' serial" % key in line


def cert_request(c, key, blob, alg=b"ssh-ed25519-cert-v01@openssh.com", user="tester"):
    """A signed publickey request for a certificate: the signature blob names the plain key's
    algorithm (PROTOCOL.certkeys)."""
    body = (bytes([rawssh.USERAUTH_REQUEST]) + string(user) + string(b"ssh-connection")
            + string(b"publickey") + b"\x01" + string(alg) + string(blob))
    sig = key.sign(string(c.session_id) + body)
    c.send_packet(body + string(string(b"ssh-ed25519") + string(sig)))
    return c.recv()[0]


@pytest.mark.parametrize("cut", [45, 100, -70, -1])
def test_malformed_certificate_refused(s, cut):
    blob = base64.b64decode(open(s.k["cert"] + "-cert.pub").read().split()[1])
    key = rawssh.load_private_key(s.k["cert"])
    mark = len(s.srv.log())
    with raw(s) as c:
        assert cert_request(c, key, blob[:cut]) == USERAUTH_FAILURE
        assert cert_request(c, key, blob) == USERAUTH_SUCCESS  # the same connection goes on
    assert log_after(s, mark, "malformed certificate"), s.srv.log()[mark:]


def test_host_certificate_refused(s):
    # ssh does not offer a host certificate as a user identity: sent raw
    blob = base64.b64decode(open(s.k["cert_host"] + "-cert.pub").read().split()[1])
    key = rawssh.load_private_key(s.k["cert_host"])
    mark = len(s.srv.log())
    with raw(s) as c:
        assert cert_request(c, key, blob) == USERAUTH_FAILURE
    assert log_after(s, mark, "certificate id 'id-cert_host' serial"), s.srv.log()[mark:]
    assert log_after(s, mark, "not a user certificate"), s.srv.log()[mark:]


def test_cert_authority_key_itself_does_not_log_in(s):
    assert_refused(s, "ca_line", "a cert-authority key signs certificates")


def test_certificate_force_command(s):
    mark = len(s.srv.log())
    p = login(s, "cert_force", cmd="print(1)")
    assert (p.returncode, p.stdout) == (0, "cert forced\n"), p.stderr + s.srv.log()[mark:]


# -- authorized_keys options
def test_command_forced_with_original_command(s):
    mark = len(s.srv.log())
    p = login(s, "forced", cmd="print(6*7)")
    assert (p.returncode, p.stdout) == (0, "forced: print(6*7)\n"), p.stderr + s.srv.log()[mark:]
    assert log_after(s, mark, "forced command")


def test_command_forced_for_a_shell(s):
    p = login(s, "forced", cmd="")
    assert (p.returncode, p.stdout) == (0, "forced: None\n"), p.stderr


@pytest.mark.parametrize("key", ["nopty", "restricted", "cert_nopty"])
def test_no_pty_refuses_a_pty(s, key):
    # ssh -tt gives up when the pty it insists on is refused; without -tt the key logs in
    p = login(s, key, cmd="print(6*7)", tty=True)
    assert "PTY allocation request failed" in p.stderr, p.stderr
    p = login(s, key, cmd="print(6*7)")
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr


@pytest.mark.parametrize("key", ["ecdsa", "restricted_pty", "cert"])
def test_pty_allowed_without_no_pty_or_after_restrict_pty(s, key):
    p = login(s, key, cmd="print(6*7)", tty=True)
    assert p.returncode == 0 and "PTY allocation request failed" not in p.stderr, p.stderr
    assert p.stdout.replace("\r", "") == "42\n"


def test_from_mismatch_refused(s):
    assert_refused(s, "from_bad", 'from="10.*,!127.0.0.1,127.0.0.*" does not match 127.0.0.1')


def test_from_match_logs_in(s):
    assert_login(s, "from_ok", "ssh-ed25519")



# -- FIDO security keys, PROTOCOL.u2f (software authenticator through rawssh)
@pytest.mark.parametrize("name", ["sk_ed", "sk_ec"])
def test_security_key_login_with_user_presence(s, name):
    mark = len(s.srv.log())
    with raw(s) as c:
        assert s.sk[name].auth(c, flags=0x01, counter=41) == USERAUTH_SUCCESS
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"
    line = log_after(s, mark, "auth accepted for tester with " + s.sk[name].kind.decode())
    assert line and "security key flags 0x01 counter 41" in line[0]


@pytest.mark.parametrize("name", ["sk_ed", "sk_ec"])
def test_security_key_without_touch_refused(s, name):
    mark = len(s.srv.log())
    with raw(s) as c:
        assert s.sk[name].auth(c, flags=0x00) == USERAUTH_FAILURE
        assert s.sk[name].auth(c, flags=0x01, data_fault=True) == USERAUTH_FAILURE
        assert s.sk[name].auth(c, flags=0x05, counter=2) == USERAUTH_SUCCESS
    assert log_after(s, mark, "security key not touched")
    assert log_after(s, mark, "bad signature from " + s.sk[name].kind.decode())


def test_security_key_no_touch_required(s):
    with raw(s) as c:
        assert s.sk["sk_notouch"].auth(c, flags=0x00, counter=7) == USERAUTH_SUCCESS


@pytest.mark.parametrize("name", ["sk_verify", "sk_verify_ec"])
def test_security_key_verify_required(s, name):
    mark = len(s.srv.log())
    with raw(s) as c:
        assert s.sk[name].auth(c, flags=0x01) == USERAUTH_FAILURE
        assert s.sk[name].auth(c, flags=0x05) == USERAUTH_SUCCESS
    assert log_after(s, mark, "did not verify the user (verify-required)")


def test_security_key_flags_are_signed(s):
    # a signature made with flags 0x00, sent claiming 0x01, does not verify
    with raw(s) as c:
        k = s.sk["sk_ed"]
        body = (bytes([rawssh.USERAUTH_REQUEST]) + string("tester") + string(b"ssh-connection")
                + string(b"publickey") + b"\x01" + string(k.kind) + string(k.blob))
        sig = bytearray(k.sign(string(c.session_id) + body, 0x00, 3))
        sig[-5] = 0x01
        c.send_packet(body + string(bytes(sig)))
        assert c.recv()[0] == USERAUTH_FAILURE


# -- passwords, RFC 4252 §8 (off unless a password_hash is configured)
def password_request(c, password, user="tester"):
    c.send_packet(bytes([rawssh.USERAUTH_REQUEST]) + string(user) + string(b"ssh-connection")
                  + string(b"password") + b"\x00" + string(password))
    return c.recv()


def test_password_disabled_by_default(s):
    mark = len(s.srv.log())
    with raw(s) as c:
        t, p = c.userauth_none()
        assert t == USERAUTH_FAILURE and rawssh.Reader(p, 1).namelist() == [b"publickey"]
        t, p = password_request(c, b"anything")
        assert t == USERAUTH_FAILURE
    assert not log_after(s, mark, "auth accepted", timeout=0.5)


def test_password_hash_matches_hashlib():
    from runtimes import run

    code = "from ussh import passwd\nprint(passwd.make('s3cret pw', 1000, b'0123456789abcdef'))"
    want = "pbkdf2-sha256$1000$%s$%s" % (
        base64.b64encode(b"0123456789abcdef").decode(),
        base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"s3cret pw", b"0123456789abcdef", 1000)).decode())
    for runtime in ("cpython", "unix"):
        assert run(runtime, code).strip() == want


def test_password_login_when_enabled(ussh_server):
    from runtimes import run

    h = run("cpython", "from ussh import passwd\nprint(passwd.make('hunter2'))").strip()
    srv = ussh_server(runtime="unix", extra_args=["--password-hash", h])
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.service_request()
        t, p = c.userauth_none()
        assert rawssh.Reader(p, 1).namelist() == [b"publickey", b"password"]
        assert password_request(c, b"hunter3")[0] == USERAUTH_FAILURE
        assert password_request(c, b"hunter2")[0] == USERAUTH_SUCCESS
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"
    log = srv.log()
    assert "auth refused for tester: wrong password" in log and "auth accepted for tester with password" in log
    # the stock client, its password given through SSH_ASKPASS
    askpass = os.path.join(srv.dir, "askpass.sh")
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\necho hunter2\n")
    os.chmod(askpass, 0o700)
    argv = ["ssh", "-F", "/dev/null", "-p", str(srv.port), "-o", "UserKnownHostsFile=" + srv.known_hosts,
            "-o", "StrictHostKeyChecking=accept-new", "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
            "-o", "ConnectTimeout=10", "-l", "tester", "127.0.0.1", "print(6*7)"]
    env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr
    # failures count with key failures: the sixth ends the connection
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.service_request()
        for _ in range(5):
            assert password_request(c, b"nope")[0] == USERAUTH_FAILURE
        with pytest.raises(rawssh.Disconnected):
            password_request(c, b"nope")


NEW_MODULES = {"ussh.key_rsa", "ussh.key_ecdsa", "ussh.key_sk", "ussh.cert", "ussh.keyopts",
               "ussh.passwd",
               "ussh.crypto.p256"}


def test_minimal_server_loads_none_of_the_new_modules(ussh_server):
    # exec runs in the server's interpreter: its sys.modules is the server's
    srv = ussh_server(runtime="unix")
    p = srv.ssh("import sys; print(sorted(sys.modules))")
    assert p.returncode == 0, p.stderr
    mods = set(eval(p.stdout))
    assert "ussh.auth" in mods and not (mods & NEW_MODULES), mods


def test_module_loaded_only_for_the_key_types_present(s):
    p = login(s, "ecdsa", cmd="import sys; print(sorted(m for m in sys.modules if m.startswith('ussh')))")
    mods = set(eval(p.stdout))
    assert {"ussh.key_rsa", "ussh.key_ecdsa", "ussh.key_sk", "ussh.cert", "ussh.keyopts"} <= mods, mods
    assert "ussh.passwd" not in mods


def test_deploy_writes_only_the_password_hash():
    import argparse
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for d in ("tools", "lib"):
        if os.path.join(root, d) not in sys.path:
            sys.path.insert(0, os.path.join(root, d))
    import deploy
    from ussh import board, passwd

    a = argparse.Namespace(wifi_ssid="", wifi_password="", board="esp32", ssh_port=22, max_connections=2,
                           password="correct horse")
    text = deploy.config_text(a, None)
    assert "correct horse" not in text
    cfg = board.parse(text)
    assert cfg["password_hash"].startswith("pbkdf2-sha256$%d$" % passwd.ITERATIONS)
    assert passwd.check(b"correct horse", cfg["password_hash"])
    assert not passwd.check(b"correct horsf", cfg["password_hash"])
    a.password = ""  # a later deploy without PASSWORD keeps the hash
    assert board.parse(deploy.config_text(a, cfg))["password_hash"] == cfg["password_hash"]
    assert board.parse(deploy.config_text(a, None))["password_hash"] == ""
    cfg = board.parse("trusted_ca = /cas\ncert_ignore_clock = 1\n")
    assert (cfg["trusted_ca"], cfg["cert_ignore_clock"]) == ("/cas", 1)


def test_certificate_refused_while_the_clock_is_not_set(s, monkeypatch):
    # in-process on CPython: _compat_rare.unix_time() is None on a board without RTC/NTP
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.join(root, "lib") not in sys.path:
        sys.path.insert(0, os.path.join(root, "lib"))
    from ussh import authkeys, cert
    from ussh.auth import Attempt
    from ussh.connection import Config

    monkeypatch.setattr(cert, "unix_time", lambda: None)
    blob = base64.b64decode(open(s.k["cert"] + "-cert.pub").read().split()[1])
    logged = []

    class Conn:
        peer = "127.0.0.1:5555"

        def log(self, m):
            logged.append(m)

    cas = authkeys.parse(pub(s.k["ca"]), logged.append)
    for ignore in (False, True):
        c = Conn()
        c.cfg = Config(trusted_cas=cas, cert_ignore_clock=ignore)
        att = Attempt(c, "tester", b"ssh-ed25519-cert-v01@openssh.com", blob)
        why = cert._lookup(att)
        entry = att.entry
        if ignore:
            assert why is None and entry.blob.startswith(string(b"ssh-ed25519"))
            assert [m for m in logged if "clock not set" in m]
        else:
            assert entry is None and "the clock is not set" in why and "id-cert" in why


FROM_CASES = [
    ("10.*,!127.0.0.1,127.0.0.*", "127.0.0.1", False),  # a matching negation refuses at once
    ("127.0.0.?", "127.0.0.1", True),
    ("192.168.0.0/16", "192.168.3.4", True),
    ("10.0.0.0/8", "11.0.0.1", False),
    ("!10.0.0.1,*", "10.0.0.2", True),
    ("!10.0.0.1,*", "10.0.0.1", False),
    ("*.example.com", "127.0.0.1", False),
    ("", "127.0.0.1", False),
]


@pytest.mark.parametrize("runtime", ["cpython", "unix"])
def test_from_patterns(runtime):
    from runtimes import run

    code = "from ussh.keyopts import match_list\nprint([match_list(p, ip) for p, ip, _ in %r])" % (FROM_CASES,)
    assert run(runtime, code).strip() == repr([w for _, _, w in FROM_CASES])
