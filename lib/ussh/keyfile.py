# The OpenSSH private key file (OpenSSH PROTOCOL.key, unencrypted) that holds an ssh-ed25519
# key: read at a start (ussh.startup, ussh.board, the client) and let go after it by the drivers.
import os

from ussh.compat import ENOENT, const
from ussh.keys import ALGORITHM, HostKey, KeyFileError, _BLOB_HEAD, b64decode
from ussh.wire import Reader, SSHError

BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
END = b"-----END OPENSSH PRIVATE KEY-----"
MAGIC = b"openssh-key-v1\x00"
_BLOCK = const(8)  # cipher "none" pads the private section to 8 bytes


def _fail(path, what):
    raise KeyFileError("%s: %s" % (path, what))


def _parse(path, data):
    # PROTOCOL.key: armour, then base64 of the binary layout checked below
    data = data.strip()
    if not data.startswith(BEGIN):
        _fail(path, "not an OpenSSH private key (it should start with %s); make one with"
              " ssh-keygen -t ed25519 -N ''" % BEGIN.decode())
    if not data.endswith(END):
        _fail(path, "truncated: no %s line" % END.decode())
    try:
        raw = b64decode(b"".join(data[len(BEGIN) : -len(END)].split()))
    except ValueError:
        _fail(path, "corrupt: bad base64")
    if not raw.startswith(MAGIC):
        _fail(path, "corrupt: no openssh-key-v1 header")
    r = Reader(raw, len(MAGIC))
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
