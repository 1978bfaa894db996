# A host certificate beside the host key (OpenSSH PROTOCOL.certkeys), an
# optional module: Config loads it when host_cert is set. The server then
# offers ssh-ed25519-cert-v01@openssh.com before ssh-ed25519; a client that
# trusts the CA (`@cert-authority` in known_hosts) picks the certificate and
# the exchange hash is signed with the same host key either way.
from ussh.keys import KeyFileError, b64decode
from ussh.wire import Reader, SSHError

CERT_ALG = b"ssh-ed25519-cert-v01@openssh.com"
_HOST_CERT = 2  # PROTOCOL.certkeys: SSH_CERT_TYPE_HOST


class CertHostKey:
    """A HostKey with its certificate: `cert` is the certificate blob,
    `algorithms` the host key algorithms offered, in order."""

    algorithms = (CERT_ALG, b"ssh-ed25519")

    def __init__(self, key, cert):
        self.key = key
        self.cert = cert
        self.seed = key.seed
        self.pub = key.pub
        self.blob = key.blob
        self.comment = key.comment

    def sign(self, data):
        return self.key.sign(data)

    def fingerprint(self):
        return self.key.fingerprint()

    def public_line(self, comment=""):
        return self.key.public_line(comment)


def cert_blob(text, path="host certificate"):
    """The certificate blob in a line `ssh-ed25519-cert-v01@openssh.com
    AAAA... [comment]` (what ssh-keygen -s writes to *-cert.pub)."""
    parts = bytes(text).split()
    if len(parts) < 2 or parts[0] != CERT_ALG:
        raise KeyFileError("%s: not an %s line" % (path, CERT_ALG.decode()))
    try:
        return b64decode(parts[1])
    except ValueError:
        raise KeyFileError("%s: corrupt: bad base64" % path)


def with_cert(key, cert):
    """key (a keys.HostKey) with the certificate cert: a path, the bytes of
    the line, or the blob. Raises KeyFileError when the certificate is not
    a host certificate of this very key."""
    path = "host certificate"
    if isinstance(cert, str):
        path = cert
        try:
            with open(cert, "rb") as f:
                cert = f.read()
        except OSError as e:
            raise KeyFileError("%s: cannot read: %s" % (path, e))
    if bytes(cert[:4]) != b"\x00\x00\x00\x20":  # not already a blob
        cert = cert_blob(cert, path)
    from ussh import cert as certs

    try:
        c = certs.parse(cert)
    except SSHError:
        raise KeyFileError("%s: corrupt certificate" % path)
    if c.base != b"ssh-ed25519" or Reader(cert).string() != CERT_ALG:
        raise KeyFileError("%s: not an ssh-ed25519 certificate" % path)
    if c.kind != _HOST_CERT:
        raise KeyFileError("%s: a user certificate, not a host certificate (ssh-keygen -s CA -h)" % path)
    if c.key != key.blob:
        raise KeyFileError("%s: certifies another key, not this host key" % path)
    return CertHostKey(key, cert)
