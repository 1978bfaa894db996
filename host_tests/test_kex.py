"""ussh.kex (RFC 4253 §7, RFC 8731 curve25519-sha256, strict KEX): negotiation tables and the
exchange against the in-memory client. Fast tier."""
from sshpair import Pair, decode, raises, s, u32
from ussh import ecdh, kex, wire
from ussh.crypto import ed25519_verify
from ussh.wire import Reader, SSHError


def kexinit(kexs=b"curve25519-sha256", hk=b"ssh-ed25519", enc=b"aes128-ctr", mac=b"hmac-sha2-256-etm@openssh.com",
            comp=b"none"):
    return b"".join([b"\x14", bytes(16), s(kexs), s(hk), s(enc), s(enc), s(mac), s(mac), s(comp), s(comp),
                     s(b""), s(b""), b"\x00", u32(0)])


# one client KEXINIT field without a match -> the reason the server disconnects with
NO_MATCH = (
    (dict(kexs=b"diffie-hellman-group1-sha1"), "no matching key exchange algorithm"),
    (dict(hk=b"ssh-dss"), "no matching host key algorithm"),
    (dict(enc=b"3des-cbc"), "no matching client-to-server cipher algorithm"),
    (dict(mac=b"hmac-md5"), "no matching client-to-server MAC algorithm"),
    (dict(comp=b"zlib"), "no matching compression algorithm"),
)


def test_no_common_algorithm_disconnects_with_the_reason():
    for kw, reason in NO_MATCH:
        p = Pair(kexinit=False)
        p.feed(kexinit(**kw))
        ev = [decode(x) for x in p.packets() if x[0] == 1]
        assert ev == [("disconnect", reason)], (kw, ev)
        assert p.conn.closed


# the server picks from the client's name-list as it came (kex._pick, kex._at): the first of the
# client's names that the server has, a name only as a whole item
PICKS = [
    (b"curve25519-sha256", [b"curve25519-sha256"], b"curve25519-sha256"),
    (b"x,curve25519-sha256", [b"curve25519-sha256"], b"curve25519-sha256"),
    (b"curve25519-sha256@libssh.org,curve25519-sha256", [b"curve25519-sha256", b"curve25519-sha256@libssh.org"],
     b"curve25519-sha256@libssh.org"),
    (b"curve25519-sha256@libssh.org", [b"curve25519-sha256"], None),  # a prefix of a name is not it
    (b"xcurve25519-sha256,a", [b"curve25519-sha256"], None),  # nor its end
    (b"aes256-ctr,aes128-ctr", [b"aes128-ctr", b"aes256-ctr"], b"aes256-ctr"),  # the client's order
    (b"aes128-ctr-x,aes128-ctr", [b"aes128-ctr"], b"aes128-ctr"),  # found again after a longer one
    (b"", [b"none"], None),
    (b"none", [b"none"], b"none"),
]


def test_pick_from_the_clients_name_list():
    # (a loop, not pytest's parametrize: check_mp.py runs this file on MicroPython too)
    for client, server, want in PICKS:
        if want is None:
            assert "no matching" in raises(SSHError, kex._pick, client, server, "x").reason, client
        else:
            assert kex._pick(client, server, "x") == want, client


def test_server_kexinit_lists():
    r = Reader(kex.kexinit_payload(True), 17)
    lists = [r.namelist() for _ in range(10)]
    assert lists[0][0] == kex.KEX_METHODS[0][0] and b"kex-strict-s-v00@openssh.com" in lists[0]
    assert lists[1] == [b"ssh-ed25519"] and lists[6] == [b"none"]
    r = Reader(kex.kexinit_payload(False), 17)
    assert b"kex-strict-s-v00@openssh.com" not in r.namelist()


def test_exchange_hash_is_signed_by_the_host_key_and_keys_work():
    p = Pair(login=False)
    k_s, h, sig = p.host_sig
    r = Reader(k_s)
    assert r.string() == b"ssh-ed25519"
    pub = r.string()
    r = Reader(sig)
    assert r.string() == b"ssh-ed25519"
    assert ed25519_verify(pub, h, r.string())
    assert p.conn.session_id == h and p.conn.strict
    names = [x[0] for x in p.kex_packets]
    assert names[-2:] == [21, 7]  # NEWKEYS, then EXT_INFO (RFC 8308 §2.4) under the new keys
    p.feed(b"\x05" + s(b"ssh-userauth"))  # the keys agree: the service is accepted
    assert p.events() == [("service-accept", s(b"ssh-userauth"))]


def test_strict_kex_refuses_a_message_before_kexinit():
    p = Pair(kexinit=False)
    p.feed(b"\x02" + s(b"ignored"), p.kexinit())
    ev = [decode(x) for x in p.packets() if x[0] == 1]
    assert ev == [("disconnect", "strict KEX: KEXINIT was not the first packet")]


def test_all_zero_shared_secret_is_refused():
    # RFC 8731 §3: a low-order point gives an all-zero X25519 result
    e = raises(SSHError, ecdh.curve25519_sha256, bytes(32))
    assert e.code == wire.DISCONNECT_KEY_EXCHANGE_FAILED
    assert "length" in raises(SSHError, ecdh.curve25519_sha256, bytes(31)).reason


def test_rekey_holds_channel_data_until_newkeys():
    # RFC 4253 §9 started by the server, §7.1: while it runs, the exec's reply and output are held
    p = Pair()
    a = p.open()
    p.conn.rekey()
    held = []

    def start():
        held.append([x[0] for x in p.packets()])
        return p.kex_start()

    p.script = [start, p.kex_finish]
    p.request(a, b"exec", b"print('after')")
    assert held == [[20]]  # only our KEXINIT went out before the client's answer
    ev = p.events()
    assert ev[0][0] == "success" and ev[1] == ("data", a, b"after\n") and ev[-1] == ("close", a)
    assert not p.conn.rekeying() and p.conn._held == []
