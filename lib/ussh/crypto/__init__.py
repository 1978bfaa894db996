# ussh.crypto: the primitives the SSH transport needs, each in its own module.
from .curve25519 import x25519, x25519_base
from .ed25519 import ed25519_public, ed25519_sign, ed25519_verify
from .sha512 import sha512
from .hmac import hmac_sha256, HMACSHA256
from .aes import AESCTR
from .rand import random_bytes, random_into
