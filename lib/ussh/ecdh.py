# curve25519-sha256 (RFC 8731), the key exchange method's own part: the server's ephemeral
# X25519 key pair (made ahead while a driver waits for a client) and the shared secret. It stays
# loaded while ussh.kex (negotiation, exchange hash, key derivation) goes once the first exchange
# has its session id (ussh.server, on a small heap) and comes back for a re-key: the registry's rows and
# ussh.pqkex hold these functions, which hold no part of ussh.kex.
from ussh import wire
from ussh.crypto import x25519, x25519_base, random_bytes
from ussh.wire import SSHError, DISCONNECT_KEY_EXCHANGE_FAILED

_eph = []  # [(d, Q_S)]: the next exchange's X25519 key pair, made while idle


def prepare_ephemeral():
    """Idle work (a driver calls it while it waits for a client): makes the
    X25519 key pair of the next key exchange, if none is waiting. Each pair
    serves one exchange only (ephemeral_pair() takes it away)."""
    if not _eph:
        d = bytearray(random_bytes(32))
        _eph.append((d, x25519_base(d)))


def ephemeral_pair():
    """(d, Q_S) for one exchange: the one made while idle, else a new one."""
    if _eph:
        return _eph.pop()
    d = bytearray(random_bytes(32))
    return d, x25519_base(d)


def curve25519_sha256(q_c):
    # RFC 8731 §3: the client's ephemeral X25519 key in, ours and K out;
    # K is the 32-byte X25519 output read as an unsigned big-endian mpint.
    if len(q_c) != 32:
        raise SSHError("bad curve25519 public key length", DISCONNECT_KEY_EXCHANGE_FAILED)
    d, q_s = ephemeral_pair()
    k = x25519(d, q_c)
    wire.wipe(d)
    if k == bytes(32):  # RFC 8731 §3: MUST abort on an all-zero secret
        raise SSHError("all-zero shared secret", DISCONNECT_KEY_EXCHANGE_FAILED)
    return q_s, bytearray(wire.mpint_bytes(k))
