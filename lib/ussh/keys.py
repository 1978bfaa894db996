# The server's ssh-ed25519 host key (RFC 8709), the authorized_keys entries' class, and
# fingerprints. The OpenSSH private key file that holds a key is read by ussh.keyfile, which
# only a start needs.
from binascii import a2b_base64, b2a_base64

from ussh.compat import sha256

ALGORITHM = b"ssh-ed25519"
# string "ssh-ed25519" || uint32 32: a public key blob is this || pub32 (RFC 8709 §4)
_BLOB_HEAD = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
# string "ssh-ed25519" || uint32 64: a signature blob is this || sig64 (RFC 8709 §6)
_SIG_HEAD = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x40"


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the path and the problem."""


def b64encode(b):
    return b2a_base64(b)[:-1]


def b64decode(s):
    """Strict base64: only canonical text (padding present, no stray
    characters, zero trailing bits) decodes; anything else raises ValueError."""
    if isinstance(s, str):
        s = s.encode()
    try:
        b = a2b_base64(s)
    except Exception:  # binascii.Error; a plain Exception on the webassembly port
        b = None
    if b is None or b64encode(b) != s:
        raise ValueError("bad base64")
    return b


def fingerprint(blob):
    """The SHA256 fingerprint of a public key blob, as ssh-keygen -l prints it."""
    return "SHA256:" + b64encode(sha256(blob).digest()).rstrip(b"=").decode()


class AuthorizedKey:
    """One authorized_keys line (ussh.authkeys): `algorithm` (bytes), `blob`
    (the public key blob), `comment`, `options` (list of (name, value or None))
    and `line` (its 1-based line number). Here, in a module a session keeps,
    not beside the parser: a method of the parser's module held all of that
    module (its globals) for as long as the entries lived."""

    def __init__(self, algorithm, blob, comment, options, line):
        self.algorithm = algorithm
        self.blob = blob
        self.comment = comment
        self.options = options
        self.line = line


class HostKey:
    """An ssh-ed25519 key pair: `seed` is the 32-byte private key, `pub`
    the 32-byte public key, `blob` the SSH public key blob."""

    algorithm = ALGORITHM
    checked = False  # whether pub was found to be the seed's (check())
    _x = None  # the seed expanded (ed25519_expand), made by check(): every signature uses it

    def __init__(self, seed, pub=None, comment=""):
        if pub is None:
            from ussh.crypto.ed25519 import ed25519_expand

            self._x = ed25519_expand(seed)
            pub = self._x[3]
            self.checked = True
        self.seed = bytes(seed)
        self.pub = bytes(pub)
        self.blob = _BLOB_HEAD + self.pub
        self.comment = comment

    def check(self):
        """RFC 8032 §5.1.5: the public half must be the seed's, or every
        signature would be refused: raises KeyFileError when it is not.
        Worked out once (driver.warm(), the drivers' idle work, else the
        first signature), which also expands the signing key (cached)."""
        if not self.checked:
            from ussh.crypto.ed25519 import ed25519_expand

            x = ed25519_expand(self.seed)
            if x[3] != self.pub:
                raise KeyFileError("host key: corrupt: public and private key do not match")
            self._x = x
            self.checked = True

    def sign(self, data):
        """The SSH signature blob for data (RFC 8709 §6)."""
        from ussh.crypto import ed25519_sign

        self.check()
        return _SIG_HEAD + ed25519_sign(self._x, data)

    def fingerprint(self):
        return fingerprint(self.blob)

    def public_line(self, comment=""):
        """The key as a line for authorized_keys or known_hosts."""
        line = "ssh-ed25519 " + b64encode(self.blob).decode()
        return line + " " + comment if comment else line
