# The server's ssh-ed25519 host key (RFC 8709) and the OpenSSH private key
# file that holds it (OpenSSH PROTOCOL.key, unencrypted), plus fingerprints.
import os
from binascii import a2b_base64, b2a_base64

from ussh.compat import ENOENT, const, sha256
from ussh.wire import Reader, SSHError

ALGORITHM = b"ssh-ed25519"
# string "ssh-ed25519" || uint32 32: a public key blob is this || pub32 (RFC 8709 §4)
_BLOB_HEAD = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
# string "ssh-ed25519" || uint32 64: a signature blob is this || sig64 (RFC 8709 §6)
_SIG_HEAD = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x40"
_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_END = b"-----END OPENSSH PRIVATE KEY-----"
_MAGIC = b"openssh-key-v1\x00"
_BLOCK = const(8)  # cipher "none" pads the private section to 8 bytes


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


def _fail(path, what):
    raise KeyFileError("%s: %s" % (path, what))


def _parse(path, data):
    # PROTOCOL.key: armour, then base64 of the binary layout checked below
    data = data.strip()
    if not data.startswith(_BEGIN):
        _fail(path, "not an OpenSSH private key (it should start with %s); make one with"
              " ssh-keygen -t ed25519 -N ''" % _BEGIN.decode())
    if not data.endswith(_END):
        _fail(path, "truncated: no %s line" % _END.decode())
    try:
        raw = b64decode(b"".join(data[len(_BEGIN) : -len(_END)].split()))
    except ValueError:
        _fail(path, "corrupt: bad base64")
    if not raw.startswith(_MAGIC):
        _fail(path, "corrupt: no openssh-key-v1 header")
    r = Reader(raw, len(_MAGIC))
    cipher = r.string()
    kdf = r.string()
    kdfoptions = r.string()
    if r.u32() != 1:
        _fail(path, "must hold exactly one key")
    blob = r.string()
    kind = Reader(blob).string()
    if kind != ALGORITHM:
        _fail(path, "key type %s is not supported: ussh host keys are ssh-ed25519"
              " (ssh-keygen -t ed25519 -N '')" % kind.decode())
    if cipher != b"none" or kdf != b"none" or kdfoptions:
        _fail(path, "the key is protected by a passphrase, which ussh cannot ask for;"
              " remove it with ssh-keygen -p -N '' -f %s" % path)
    priv = r.string()
    r.done()
    if len(priv) % _BLOCK:
        _fail(path, "corrupt: private section not padded")
    r = Reader(priv)
    if r.u32() != r.u32():
        _fail(path, "corrupt: check numbers differ")
    if r.string() != ALGORITHM:
        _fail(path, "corrupt: private key type differs from public key type")
    pub = r.string()
    pair = r.string()
    comment = r.text()
    # the private key is seed || pub and must agree with the public key blob
    if len(pub) != 32 or blob != _BLOB_HEAD + pub or len(pair) != 64 or pair[32:] != pub:
        _fail(path, "corrupt: public and private key do not match")
    pad = r.rest()  # 1, 2, 3, ... up to the block size
    if len(pad) >= _BLOCK or pad != bytes(range(1, len(pad) + 1)):
        _fail(path, "corrupt: bad padding")
    return HostKey(pair[:32], pub, comment)


def parse(data, path="host key"):
    """The HostKey in data, the text of an unencrypted OpenSSH ssh-ed25519
    private key file (for a board without files: the host sends it); raises
    KeyFileError naming path."""
    try:
        return _parse(path, bytes(data))
    except (SSHError, UnicodeError):
        _fail(path, "corrupt or truncated")


def load(path):
    """Reads an unencrypted OpenSSH ssh-ed25519 private key file (what
    ssh-keygen -t ed25519 -N '' writes); raises KeyFileError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        _fail(path, "cannot read: %s" % e)
    return parse(data, path)


def load_or_create(path, log=None):
    """Loads the host key at path; when there is no such file, makes a new
    key, saves it there and logs its fingerprint."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno not in ENOENT:
            _fail(path, "cannot read: %s" % e)
        from ussh.keygen import generate, save  # a rare path: loaded only here

        key = generate()
        try:
            save(key, path)
        except OSError as e:  # no key is better than one others can read
            _fail(path, "cannot create: %s" % e)
        (log or print)("created a new host key %s: %s" % (path, key.fingerprint()))
        return key
    return load(path)
