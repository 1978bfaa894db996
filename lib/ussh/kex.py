# Key exchange, RFC 4253 §7-§9: KEXINIT negotiation, the exchange itself
# (a pluggable slot: curve25519-sha256 today, RFC 8731), the exchange hash,
# key derivation and NEWKEYS; strict KEX (OpenSSH PROTOCOL §1.10) and
# ext-info (RFC 8308).
from ussh import wire
from ussh.compat import const, sha256
from ussh.crypto import AESCTR, HMACSHA256, random_bytes
from ussh.ecdh import curve25519_sha256
from ussh.wire import Reader, SSHError, DISCONNECT_KEY_EXCHANGE_FAILED

_MSG_EXT_INFO = const(7)
_MSG_KEXINIT = const(20)
_MSG_NEWKEYS = const(21)
_MSG_KEX_ECDH_INIT = const(30)
_MSG_KEX_ECDH_REPLY = const(31)

_STRICT_C = b"kex-strict-c-v00@openssh.com"
_STRICT_S = b"kex-strict-s-v00@openssh.com"
_EXT_INFO_C = b"ext-info-c"
_KEXGUESS2 = b"kexguess2@matt.ucc.asn.au"  # Dropbear's guess rule, below


# Algorithm tables, in the server's order of preference. A kex method maps
# the client's public value to (server public value, encoded secret K); the
# exchange hash is SHA-256 for all of them. A server offers its registry's
# methods (ussh.plugins): these, after the post-quantum one when installed.
KEX_METHODS = [
    (b"curve25519-sha256", curve25519_sha256),
    (b"curve25519-sha256@libssh.org", curve25519_sha256),
]
HOST_KEY_ALGORITHMS = (b"ssh-ed25519",)
CIPHERS = (  # name, key length; IV 16 bytes, AES block 16
    (b"aes128-ctr", 16),
    (b"aes256-ctr", 32),
)
MACS = (  # name, key length, tag length; *-etm@openssh.com: encrypt-then-MAC
    (b"hmac-sha2-256-etm@openssh.com", 32, 32),
    # RFC 6668, encrypt-and-MAC: only with Config.legacy_mac (Dropbear before
    # 2024 has no etm); it is decrypted before its MAC is checked
    (b"hmac-sha2-256", 32, 32),
)


def _macs(legacy):
    return [row[0] for row in MACS if legacy or row[0].endswith(b"-etm@openssh.com")]


def kexinit_payload(first, legacy_mac=False, methods=KEX_METHODS, hk_algs=HOST_KEY_ALGORITHMS, extra=None):
    # RFC 4253 §7.1; methods: the key exchanges offered (the server's
    # registry's); extra: the pseudo-algorithms after them (the server's by
    # default; the client role passes its own)
    kex = [name for name, _ in methods]
    if extra is None:
        kex.append(_KEXGUESS2)
        if first:
            kex.append(_STRICT_S)
    else:
        kex += extra
    ciphers = [name for name, _ in CIPHERS]
    macs = _macs(legacy_mac)
    return b"".join(
        (
            wire.byte(_MSG_KEXINIT),
            random_bytes(16),
            wire.namelist(kex),
            wire.namelist(hk_algs),
            wire.namelist(ciphers),
            wire.namelist(ciphers),
            wire.namelist(macs),
            wire.namelist(macs),
            wire.namelist([b"none"]),
            wire.namelist([b"none"]),
            wire.namelist([]),
            wire.namelist([]),
            wire.boolean(False),
            wire.u32(0),
        )
    )


def _at(names, name):
    # where name stands in names, a name-list as it came (RFC 4251 §5: comma-separated, not
    # split into objects: OpenSSH's KEXINIT names about 80 algorithms, 5 KB of the unix port's
    # heap as a list of bytes each, at the moment a small heap has least room); -1 if not there
    i = names.find(name)
    n = len(name)
    while i >= 0:
        j = i + n
        if (i == 0 or names[i - 1] == 44) and (j == len(names) or names[j] == 44):
            return i
        i = names.find(name, j)
    return -1


def _first(names):
    i = names.find(b",")
    return names if i < 0 else names[:i]


def _pick(client, server, what):
    # RFC 4253 §7.1: the first algorithm on the client's name-list (as it came: _at) that the
    # server also supports
    best, at = None, len(client)
    for name in server:
        i = _at(client, name)
        if 0 <= i < at:
            best, at = name, i
    if best is None:
        raise SSHError("no matching %s algorithm" % what, DISCONNECT_KEY_EXCHANGE_FAILED)
    return best


def _row(table, name):
    for row in table:
        if row[0] == name:
            return row


def _derive(k, h, letter, session_id, n):
    # RFC 4253 §7.2: HASH(K || H || letter || session_id), extended with
    # HASH(K || H || K1 || ...) until n bytes; a bytearray the caller wipes
    # (hashed piece by piece: no joined copies of K)
    d = sha256(k)
    d.update(h)
    d.update(letter)
    d.update(session_id)
    out = bytearray(d.digest())
    while len(out) < n:
        d = sha256(k)
        d.update(h)
        d.update(out)
        out += d.digest()
    out[n:] = b""
    return out


def _keys(k, h, sid, cipher, mac, letters):
    # RFC 4253 §7.2: one direction's cipher (IV and key letters) and MAC key
    key_len = _row(CIPHERS, cipher)[1]
    mac_key_len, mac_len = _row(MACS, mac)[1:]
    iv, key, integrity = letters
    ek, eiv, ik = _derive(k, h, key, sid, key_len), _derive(k, h, iv, sid, 16), _derive(k, h, integrity, sid, mac_key_len)
    row = (AESCTR(ek, eiv), HMACSHA256(ik), mac_len, mac.endswith(b"-etm@openssh.com"))
    for b in (ek, eiv, ik):  # the objects hold what they need
        wire.wipe(b)
    return row


def exchange(conn, i_c, i_s):
    """Server side of one key exchange, as a generator: started with the
    client's KEXINIT payload i_c and ours i_s, it receives each later kex
    packet through send() and returns after the client's NEWKEYS."""
    r = Reader(i_c, 17)  # message number and cookie
    lists = [r.string() for _ in range(10)]  # name-lists, searched as they are (_at)
    follows = r.boolean()
    r.u32()  # reserved
    r.done()
    kex_c, hk_c = lists[0], lists[1]
    if conn.session_id is None:
        conn.strict = _at(kex_c, _STRICT_C) >= 0
        conn.ext_info = _at(kex_c, _EXT_INFO_C) >= 0
        # PROTOCOL §1.10: with strict KEX the client's KEXINIT is its first packet
        if conn.strict and conn.transport.seq_in != 1:
            raise SSHError("strict KEX: KEXINIT was not the first packet")
    methods = conn.cfg.reg.kex
    kex_name = _pick(kex_c, [name for name, _ in methods], "key exchange")
    # a host key with a certificate (ussh.hostcert) offers both algorithms
    hk_algs = getattr(conn.host_key, "algorithms", HOST_KEY_ALGORITHMS)
    hk_name = _pick(hk_c, hk_algs, "host key")
    names = [name for name, _ in CIPHERS]
    enc_cs = _pick(lists[2], names, "client-to-server cipher")
    enc_sc = _pick(lists[3], names, "server-to-client cipher")
    names = _macs(getattr(conn.cfg, "legacy_mac", False))
    mac_cs = _pick(lists[4], names, "client-to-server MAC")
    mac_sc = _pick(lists[5], names, "server-to-client MAC")
    _pick(lists[6], (b"none",), "compression")
    _pick(lists[7], (b"none",), "compression")
    conn.algorithms = (kex_name, hk_name, enc_cs, mac_cs)
    # RFC 4253 §7: a wrongly guessed first kex packet is ignored. The guess
    # is right when both sides prefer the same kex and host key algorithms
    # (first on each list, as OpenSSH and Dropbear judge it); with Dropbear's
    # kexguess2 on both lists, when the client's first ones are those chosen.
    if _at(kex_c, _KEXGUESS2) >= 0:
        right = _first(kex_c) == kex_name and _first(hk_c) == hk_name
    else:
        right = _first(kex_c) == methods[0][0] and _first(hk_c) == hk_algs[0]
    # RFC 8731 §3 / RFC 5656 §4: the exchange hash starts with the versions
    # and both KEXINITs, hashed now: i_c may be a view of the transport's
    # reused buffer (ussh.transport), and is not kept (1.5 KB from OpenSSH)
    h = sha256()
    for x in (conn.peer_version, conn.version, i_c, i_s):
        h.update(wire.u32(len(x)))  # as wire.string(x), without a copy
        h.update(x)
    del i_c, r, lists, kex_c, hk_c

    p = yield
    if follows and not right:
        p = yield
    if p[0] != _MSG_KEX_ECDH_INIT:
        raise SSHError("unexpected message %d in key exchange" % p[0])
    r = Reader(p, 1)
    q_c = r.string()
    r.done()
    q_s, k = _row(methods, kex_name)[1](q_c)

    try:
        # RFC 8731 §3 / RFC 5656 §4: the exchange hash
        k_s = conn.host_key.blob if hk_name == b"ssh-ed25519" else conn.host_key.cert
        for x in (k_s, q_c, q_s):
            h.update(wire.u32(len(x)))
            h.update(x)
        h.update(k)  # K in a bytearray, hashed without copies, wiped below
        h = h.digest()
        if conn.session_id is None:  # RFC 4253 §7.2: the first H is the session id
            conn.session_id = h
        sid = conn.session_id
        conn.send_kex(wire.byte(_MSG_KEX_ECDH_REPLY) + wire.string(k_s) + wire.string(q_s) + wire.string(conn.host_key.sign(h)))

        # RFC 4253 §7.3: new keys take effect after NEWKEYS, each direction apart.
        conn.send_kex(wire.byte(_MSG_NEWKEYS))
        conn.transport.set_out(*_keys(k, h, sid, enc_sc, mac_sc, (b"B", b"D", b"F")))
        if conn.strict:
            conn.transport.seq_out = 0
        if conn.ext_info and conn.first_kex:
            # RFC 8308 §2.4, §3.1: server-sig-algs, right after our first NEWKEYS
            algs = b",".join(conn.sig_algs())
            conn.send_kex(wire.byte(_MSG_EXT_INFO) + wire.u32(1) + wire.string(b"server-sig-algs") + wire.string(algs))

        p = yield
        if p[0] != _MSG_NEWKEYS:
            raise SSHError("expected NEWKEYS, got message %d" % p[0])
        Reader(p, 1).done()
        conn.transport.set_in(*_keys(k, h, sid, enc_cs, mac_cs, (b"A", b"C", b"E")))
        if conn.strict:
            conn.transport.seq_in = 0
    finally:
        wire.wipe(k)  # RFC 4253 §7.2: K has given both directions their keys
