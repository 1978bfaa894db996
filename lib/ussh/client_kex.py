# The client's side of the key exchange (RFC 4253 §7-§8), an optional module
# of ussh.client: the same tables, negotiation, exchange hash and key
# derivation as the server's (ussh.kex); here the client's ephemeral key goes
# out first, the server's host key and signature are checked, and the keys
# are taken with the letters of the other direction.
from ussh import kex, wire
from ussh.compat import const, sha256
from ussh.crypto import x25519, x25519_base, random_bytes
from ussh.wire import Reader, SSHError, DISCONNECT_KEY_EXCHANGE_FAILED

_MSG_NEWKEYS = const(21)
_MSG_KEX_ECDH_INIT = const(30)
_MSG_KEX_ECDH_REPLY = const(31)
_MLKEM_CT = const(1088)  # FIPS 203: ML-KEM-768 ciphertext

STRICT_C = b"kex-strict-c-v00@openssh.com"
_STRICT_S = b"kex-strict-s-v00@openssh.com"


def _x25519_start():
    d = bytearray(random_bytes(32))
    return d, x25519_base(d)


def _x25519_finish(d, q_s):
    # RFC 8731 §3: K is the X25519 output as an unsigned mpint
    if len(q_s) != 32:
        raise SSHError("bad curve25519 public key length", DISCONNECT_KEY_EXCHANGE_FAILED)
    k = x25519(d, q_s)
    wire.wipe(d)
    if k == bytes(32):  # RFC 8731 §3: MUST abort on an all-zero secret
        raise SSHError("all-zero shared secret", DISCONNECT_KEY_EXCHANGE_FAILED)
    return bytearray(wire.mpint_bytes(k))


def _mlkem_start():
    # draft-ietf-sshm-mlkem-hybrid-kex: C_INIT = ML-KEM-768 ek || X25519 public key
    from ussh.crypto.mlkem import keygen

    ek, dk = keygen(random_bytes(32), random_bytes(32))
    d = bytearray(random_bytes(32))
    return (dk, d), ek + x25519_base(d)


def _mlkem_finish(state, q_s):
    # S_REPLY = ML-KEM ciphertext || X25519 public key; K = SHA-256(K_PQ || K_CL) as a string
    from ussh.crypto.mlkem import decaps

    dk, d = state
    if len(q_s) != _MLKEM_CT + 32:
        raise SSHError("bad mlkem768x25519 reply length", DISCONNECT_KEY_EXCHANGE_FAILED)
    k_pq = decaps(dk, q_s[:_MLKEM_CT])
    k_cl = x25519(d, q_s[_MLKEM_CT:])
    wire.wipe(d)
    if k_cl == bytes(32):
        raise SSHError("all-zero X25519 shared secret", DISCONNECT_KEY_EXCHANGE_FAILED)
    return bytearray(wire.string(sha256(k_pq + k_cl).digest()))


# kex name -> (start() -> (secret state, our public value), finish(state, theirs) -> K)
_ROLES = {
    b"mlkem768x25519-sha256": (_mlkem_start, _mlkem_finish),
    b"curve25519-sha256": (_x25519_start, _x25519_finish),
    b"curve25519-sha256@libssh.org": (_x25519_start, _x25519_finish),
}


def kex_names():
    # what the build has, preferred first: mlkem768x25519 when the
    # post-quantum modules are installed (package-pq.json), then kex.KEX_METHODS
    names = [name for name, _ in kex.KEX_METHODS]
    try:
        from ussh.pqkex import NAME
    except ImportError:
        return names
    return [NAME] + names


def kexinit(conn):
    # RFC 4253 §7.1, the server's table with the client's extras (strict KEX
    # once, OpenSSH PROTOCOL §1.10); every method of kex.KEX_METHODS has a role here
    return kex.kexinit_payload(conn.first_kex, conn.cfg.legacy_mac, [(n, None) for n in kex_names()], conn.hk_algs,
                               [STRICT_C] if conn.first_kex else [])


def exchange(conn, i_s, i_c):
    """Client side of one key exchange, as a generator: started with the
    server's KEXINIT i_s and ours i_c, it receives each later kex packet
    through send() and returns after the server's NEWKEYS. conn.check_host_key
    (algorithm, K_S, H, signature) raises when the host key is not trusted."""
    r = Reader(i_s, 17)
    lists = [r.namelist() for _ in range(10)]
    follows = r.boolean()
    r.u32()
    r.done()
    if conn.session_id is None:
        conn.strict = _STRICT_S in lists[0]
        # OpenSSH PROTOCOL §1.10: the server's KEXINIT is its first packet
        if conn.strict and conn.transport.seq_in != 1:
            raise SSHError("strict KEX: KEXINIT was not the first packet")
    # RFC 4253 §7.1: the first algorithm on the client's list the server has
    def ch(ours, theirs, what):  # we are the client: the first of ours (as a name-list) theirs has
        return kex._pick(b",".join(ours), theirs, what)

    kex_name = ch(kex_names(), lists[0], "key exchange")
    hk_name = ch(conn.hk_algs, lists[1], "host key")
    ciphers = [name for name, _ in kex.CIPHERS]
    macs = [name for name, _, _ in kex.MACS if name.endswith(b"-etm@openssh.com") or conn.cfg.legacy_mac]
    enc_cs, enc_sc = ch(ciphers, lists[2], "cipher"), ch(ciphers, lists[3], "cipher")
    mac_cs, mac_sc = ch(macs, lists[4], "MAC"), ch(macs, lists[5], "MAC")
    ch((b"none",), lists[6], "compression")
    ch((b"none",), lists[7], "compression")
    conn.algorithms = (kex_name, hk_name, enc_cs, mac_cs)
    if follows and (lists[0][0] != kex_name or lists[1][0] != hk_name):
        p = yield  # RFC 4253 §7: a wrongly guessed packet from the server is ignored
    start, finish = _ROLES[kex_name]
    state, q_c = start()
    conn.send_kex(wire.byte(_MSG_KEX_ECDH_INIT) + wire.string(q_c))
    p = yield
    if p[0] != _MSG_KEX_ECDH_REPLY:
        raise SSHError("unexpected message %d in key exchange" % p[0])
    r = Reader(p, 1)
    k_s = r.string()
    q_s = r.string()
    sig = r.string()
    r.done()
    k = finish(state, q_s)
    try:
        h = sha256()
        for x in (conn.version, conn.peer_version, i_c, i_s, k_s, q_c, q_s):
            h.update(wire.string(x))
        h.update(k)
        h = h.digest()
        conn.check_host_key(hk_name, k_s, h, sig)
        if conn.session_id is None:
            conn.session_id = h
        sid = conn.session_id
        conn.send_kex(wire.byte(_MSG_NEWKEYS))
        conn.transport.set_out(*kex._keys(k, h, sid, enc_cs, mac_cs, (b"A", b"C", b"E")))
        if conn.strict:
            conn.transport.seq_out = 0
        p = yield
        if p[0] != _MSG_NEWKEYS:
            raise SSHError("expected NEWKEYS, got message %d" % p[0])
        Reader(p, 1).done()
        conn.transport.set_in(*kex._keys(k, h, sid, enc_sc, mac_sc, (b"B", b"D", b"F")))
        if conn.strict:
            conn.transport.seq_in = 0
    finally:
        wire.wipe(k)
