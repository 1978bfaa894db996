# Making a new host key and writing it as an OpenSSH private key file
# (PROTOCOL.key, unencrypted); loaded only when a board has no host key yet.
import os

from ussh._compat_rare import open_private
from ussh.compat import const
from ussh.crypto import random_bytes
from ussh.keyfile import BEGIN, END, MAGIC
from ussh.keys import ALGORITHM, HostKey, b64encode
from ussh.wire import string, u32

_COLUMNS = const(70)  # base64 line width ssh-keygen writes
_BLOCK = const(8)  # cipher "none" pads the private section to 8 bytes


def generate():
    """A new ssh-ed25519 host key from 32 random bytes."""
    return HostKey(random_bytes(32))


def save(key, path, comment=""):
    """Writes key as an OpenSSH private key file, owner-only where the OS
    has file modes; a temporary file renamed into place, so a crash
    leaves either no file or a whole one."""
    check = random_bytes(4)
    priv = check + check + string(ALGORITHM) + string(key.pub)
    priv += string(key.seed + key.pub) + string(comment)
    priv += bytes(range(1, 1 + -len(priv) % _BLOCK))
    raw = MAGIC + b"\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00" + u32(1)
    b64 = b64encode(raw + string(key.blob) + string(priv))
    tmp = path + ".tmp"
    with open_private(tmp) as f:
        f.write(BEGIN + b"\n")
        for i in range(0, len(b64), _COLUMNS):
            f.write(b64[i : i + _COLUMNS] + b"\n")
        f.write(END + b"\n")
    os.rename(tmp, path)
