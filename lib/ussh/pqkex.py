# Post-quantum hybrid key exchange mlkem768x25519-sha256
# (draft-ietf-sshm-mlkem-hybrid-kex; OpenSSH 9.9+): ML-KEM-768 (FIPS 203)
# and X25519 (RFC 7748) side by side, the shared secret hashed with SHA-256.
# An optional module: ussh.plugins loads it when it is there and it
# registers its row first; a build without it (and without crypto/mlkem.py
# and crypto/sha3.py) offers curve25519-sha256 only.
from ussh import ecdh, wire
from ussh.compat import const, sha256
from ussh.crypto import x25519, random_bytes
from ussh.wire import SSHError, DISCONNECT_KEY_EXCHANGE_FAILED

NAME = b"mlkem768x25519-sha256"
_X25519_LEN = const(32)
_EK_LEN = const(1184)  # FIPS 203: ML-KEM-768 encapsulation key, 384*3 + 32


def mlkem768x25519_sha256(q_c):
    """The server's side of mlkem768x25519-sha256: the client's key share
    C_INIT in, (S_REPLY, K encoded as a string) out."""
    # the draft's C_INIT: ML-KEM-768 encapsulation key (1184 bytes) ||
    # X25519 public key (32)
    if len(q_c) != _EK_LEN + _X25519_LEN:
        raise SSHError("bad mlkem768x25519 key share length", DISCONNECT_KEY_EXCHANGE_FAILED)
    # ML-KEM and SHA-3 load at the first exchange that uses them: a server
    # whose clients are all older than OpenSSH 9.9 never holds them in RAM
    from ussh.crypto.mlkem import encaps

    # FIPS 203 section 7.2: the encapsulation key's modulus check, refused
    try:
        k_pq, ct = encaps(q_c[:_EK_LEN], random_bytes(32))
    except ValueError:
        raise SSHError("ML-KEM-768 key share fails the modulus check", DISCONNECT_KEY_EXCHANGE_FAILED)
    d, q_x = ecdh.ephemeral_pair()
    k_cl = x25519(d, q_c[_EK_LEN:])
    if k_cl == bytes(32):  # RFC 8731 §3 for the X25519 half: MUST abort on all zero
        raise SSHError("all-zero X25519 shared secret", DISCONNECT_KEY_EXCHANGE_FAILED)
    # the draft's S_REPLY: ML-KEM ciphertext (1088 bytes) || X25519 public
    # key (32); K = SHA-256(K_PQ || K_CL), encoded as a string (not mpint)
    q_s = ct + q_x
    wire.wipe(d)
    return q_s, bytearray(wire.string(sha256(k_pq + k_cl).digest()))  # kex.exchange wipes it


def register(reg):
    """ussh.plugins: preferred to curve25519-sha256."""
    reg.kex_method(NAME, mlkem768x25519_sha256, first=True)
