# ussh.crypto: the primitives the SSH transport needs, each in its own module.
# X25519 and Ed25519 are imported at their first use, through these names, which hold nothing
# of their modules: a driver lets their bytecode modules go once a client has logged in
# (curve25519, ed25519, their programs for the viper field code and the 3 KB table: 16 KB of the
# unix port's small heap; ussh.server) and the next key exchange imports them again.
# Their machine code (fe_viper, sha512_viper) stays: imported again it would never be freed on
# the unix port or an ESP32. SHA-512 is ussh.crypto.sha512's
from .hmac import hmac_sha256, HMACSHA256
from .aes import AESCTR
from .rand import random_bytes, random_into


def x25519(k, u):
    from ussh.crypto.curve25519 import x25519

    return x25519(k, u)


def x25519_base(k):
    from ussh.crypto.curve25519 import x25519_base

    return x25519_base(k)


def ed25519_public(seed):
    from ussh.crypto.ed25519 import ed25519_public

    return ed25519_public(seed)


def ed25519_sign(seed, msg):
    from ussh.crypto.ed25519 import ed25519_sign

    return ed25519_sign(seed, msg)


def ed25519_verify(pub, msg, sig):
    from ussh.crypto.ed25519 import ed25519_verify

    return ed25519_verify(pub, msg, sig)
