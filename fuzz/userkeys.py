"""The fuzz configuration's user keys beyond the one Ed25519 key (issue 17): RSA, ECDSA P-256, FIDO
(sk-ssh-ed25519, sk-ecdsa) with authorized_keys options, two CAs (one trusted through the config,
one through a cert-authority line) with a certificate each, and a password; so the fuzzer reaches
ussh.auth (its publickey path), key_rsa, key_ecdsa, key_sk, cert, keyopts and passwd.

Every key is derived from a fixed seed (a finding's JSON replays with the same keys); the signers
make a valid signature over (session id, request body) for the running connection, as the harness
does for its own key: items ("signed", body, opts, NAME) with NAME one of SIGNERS.
"""
import hashlib
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ussh import keys, wire

s = wire.string
SK_ED = b"sk-ssh-ed25519@openssh.com"
SK_EC = b"sk-ecdsa-sha2-nistp256@openssh.com"
APP = b"ssh:"
PASSWORD = b"fuzz-password"


def password_hash():
    # a cheap hash (2 iterations, fixed salt): the fuzzer exercises the parsing and the
    # comparison, not PBKDF2's cost
    from ussh import passwd

    return passwd.make(PASSWORD, 2, b"fuzz salt 16 by.")


def _seed(name):
    return hashlib.sha256(b"ussh fuzz " + name.encode()).digest()


def _ed(name):
    return Ed25519PrivateKey.from_private_bytes(_seed(name))


def _ec(name):
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(int.from_bytes(_seed(name), "big") % (n - 1) + 1, ec.SECP256R1())


# the RSA key's primes, written out (searching them takes seconds): found by a seeded search
# for 1024-bit probable primes; a fuzz key, never a real one
_P = int(
    "f5063cc116f827db4914eafab08ac23c411c7b606195267040c6bda864a95bd742aadc71e2c6e22ff11eb4896e773b8733c8a38a1fc1aa832e75fd3404bae80e"
    "86402c4306ed2cdfd16f7e12b93f24f4e28197285622f429779f38d673486acc7f86e5deab84e052ed8ed3bc9760678a1d112e658ef629955265c3e4752a17cb", 16)
_Q = int(
    "c55190f4e892728f2480e7df24aedf3d9b824a101ee7afb1c4bd4ab7ef81b7219c45536a095af47356a3ca2be4174d9f654c93fd7ea90eac2a1560c61115626a"
    "1ef889d1dfacd8ba1730c0066a31a7a7acbc27b66ecb754b769a5d5adde05da72c4939c9a620c9b2c34d9ff8f52d3c5e4a48e0903f906bc2ce0271028ec1e7c1", 16)


def _rsa():
    p, q, e = _P, _Q, 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    pub = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                 rsa.rsa_crt_iqmp(p, q), pub).private_key()


def _mpint(n):
    return wire.mpint(n)


def ed_blob(k):
    return s(b"ssh-ed25519") + s(k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _point(k):
    return k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def ec_blob(k):
    return s(b"ecdsa-sha2-nistp256") + s(b"nistp256") + s(_point(k))


def rsa_blob(k):
    n = k.public_key().public_numbers()
    return s(b"ssh-rsa") + _mpint(n.e) + _mpint(n.n)


def _ec_sig(k, data):
    r, s_ = decode_dss_signature(k.sign(data, ec.ECDSA(hashes.SHA256())))
    return _mpint(r) + _mpint(s_)


def make_cert(ca, key, principals, critical=b"", ext=b"", serial=1):
    """An Ed25519 user certificate for Ed25519 key `key`, signed by `ca` (PROTOCOL.certkeys)."""
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = (s(b"ssh-ed25519-cert-v01@openssh.com") + s(bytes(32)) + s(pub) + struct.pack(">QI", serial, 1)
            + s(b"fuzz-cert") + s(b"".join(s(p) for p in principals)) + struct.pack(">QQ", 0, (1 << 64) - 1)
            + s(critical) + s(ext) + s(b"") + s(ed_blob(ca)))
    return body + s(s(b"ssh-ed25519") + s(ca.sign(body)))


def _opts(*pairs):
    return b"".join(s(n) + s(d) for n, d in pairs)


_MADE = []


def user_keys():
    """The process's UserKeys (made once: the RSA key takes a moment)."""
    if not _MADE:
        _MADE.append(UserKeys())
    return _MADE[0]


class UserKeys:
    def __init__(self):
        self.rsa = _rsa()
        self.ecdsa = _ec("ecdsa")
        self.sk_ed = _ed("sk-ed")
        self.sk_ec = _ec("sk-ec")
        self.ca = _ed("ca")  # trusted_cas
        self.ca_line = _ed("ca-line")  # a cert-authority line with principals=
        self.cert_key = _ed("cert-user")
        self.cert_key2 = _ed("cert-user-2")
        self.sk_ed_blob = s(SK_ED) + ed_blob(self.sk_ed)[15:] + s(APP)
        self.sk_ec_blob = s(SK_EC) + s(b"nistp256") + s(_point(self.sk_ec)) + s(APP)
        self.cert = make_cert(self.ca, self.cert_key, [b"fuzz"],
                              _opts((b"source-address", s(b"127.0.0.0/8,::1")), (b"force-command", s(b"print(1)"))),
                              _opts((b"permit-pty", b"")))
        self.cert2 = make_cert(self.ca_line, self.cert_key2, [b"ops", b"x"], b"",
                               _opts((b"no-touch-required", b""), (b"permit-pty", b"")), serial=2)

    def authorized_lines(self):
        b64 = lambda b: keys.b64encode(b).decode()  # noqa: E731
        return [
            'from="127.0.0.0/8,!10.*",no-pty ssh-rsa %s rsa' % b64(rsa_blob(self.rsa)),
            'command="print(2)",restrict,pty ecdsa-sha2-nistp256 %s ecdsa' % b64(ec_blob(self.ecdsa)),
            "no-touch-required %s %s sk-ed" % (SK_ED.decode(), b64(self.sk_ed_blob)),
            "verify-required %s %s sk-ec" % (SK_EC.decode(), b64(self.sk_ec_blob)),
            'cert-authority,principals="ops,fuzz" ssh-ed25519 %s ca-line' % b64(ed_blob(self.ca_line)),
        ]

    def ca_lines(self):
        return ["ssh-ed25519 %s ca" % keys.b64encode(ed_blob(self.ca)).decode()]

    def _sk(self, kind, data, flags, ec_key=None):
        m = hashlib.sha256(APP).digest() + bytes([flags]) + struct.pack(">I", 7) + hashlib.sha256(data).digest()
        sig = self.sk_ed.sign(m) if ec_key is None else _ec_sig(ec_key, m)
        return s(kind) + s(sig) + bytes([flags]) + struct.pack(">I", 7)

    def sign(self, name, data):
        """The signature blob SIGNERS[name] makes over data."""
        if name == "rsa":
            return s(b"rsa-sha2-256") + s(self.rsa.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        if name == "ecdsa":
            return s(b"ecdsa-sha2-nistp256") + s(_ec_sig(self.ecdsa, data))
        if name == "sk_ed":
            return self._sk(SK_ED, data, 0x00)  # no-touch-required on its line
        if name == "sk_ec":
            return self._sk(SK_EC, data, 0x05, self.sk_ec)  # touched and verified
        if name in ("cert", "cert2"):
            return s(b"ssh-ed25519") + s((self.cert_key if name == "cert" else self.cert_key2).sign(data))
        raise ValueError(name)

    def requests(self, user=b"fuzz"):
        """(body, signer) pairs: a signed publickey request for each key (None: a query), and
        the password ones."""
        head = b"\x32" + s(user) + s(b"ssh-connection")
        pk = lambda alg, blob, sig=True: head + s(b"publickey") + (b"\x01" if sig else b"\x00") + s(alg) + s(blob)  # noqa: E731
        rows = [
            (pk(b"rsa-sha2-256", rsa_blob(self.rsa)), "rsa"),
            (pk(b"ecdsa-sha2-nistp256", ec_blob(self.ecdsa)), "ecdsa"),
            (pk(SK_ED, self.sk_ed_blob), "sk_ed"),
            (pk(SK_EC, self.sk_ec_blob), "sk_ec"),
            (pk(b"ssh-ed25519-cert-v01@openssh.com", self.cert), "cert"),
            (pk(b"ssh-ed25519-cert-v01@openssh.com", self.cert2), "cert2"),
            (pk(b"rsa-sha2-512", rsa_blob(self.rsa), False), None),
            (pk(b"ssh-ed25519-cert-v01@openssh.com", self.cert, False), None),
            (pk(b"ssh-rsa", rsa_blob(self.rsa), False), None),
            (head + s(b"password") + b"\x00" + s(PASSWORD), "password"),
            (head + s(b"password") + b"\x00" + s(b"wrong"), None),
            (head + s(b"password") + b"\x01" + s(PASSWORD) + s(b"new"), None),
        ]
        return rows


SIGNERS = ("ours", "other", "rsa", "ecdsa", "sk_ed", "sk_ec", "cert", "cert2", "password")
