# ussh.crypto: the primitives the SSH transport needs, each in its own module. X25519 and Ed25519
# (with their viper code, about 25 KB of a small heap) come with the first import of ussh.crypto;
# once loaded they stay: machine code imported again is never freed on the unix port or an ESP32.
# SHA-512 is ussh.crypto.sha512's
from .hmac import hmac_sha256, HMACSHA256
from .aes import AESCTR
from .rand import random_bytes, random_into
from .curve25519 import x25519, x25519_base
from .ed25519 import ed25519_public, ed25519_sign, ed25519_verify
