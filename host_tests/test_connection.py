"""ussh.connection: message dispatch, transport-generic messages, DISCONNECT both ways, global
requests, against the in-memory client. Fast tier."""
from sshpair import Pair, config, s, u32


def test_unknown_message_gets_unimplemented_with_its_sequence_number():
    p = Pair()
    seq = p.out.seq_out
    p.feed(b"\xc8hello")  # 200: no handler, RFC 4253 §11.4
    assert p.events() == [("unimplemented", u32(seq))]
    assert not p.conn.closed


def test_ignore_debug_and_unimplemented_from_the_client_are_ignored():
    p = Pair()
    p.feed(b"\x02" + s(b"pad"), b"\x04\x00" + s(b"dbg") + s(b""), b"\x03" + u32(1))
    assert p.events() == [] and not p.conn.closed


def test_global_requests_are_refused_when_a_reply_is_wanted():
    p = Pair()
    p.feed(b"\x50" + s(b"tcpip-forward") + b"\x01" + s(b"0.0.0.0") + u32(22),
           b"\x50" + s(b"keepalive@openssh.com") + b"\x00")
    assert p.events() == [("request-failure", b"")]


def test_client_disconnect_ends_the_connection():
    p = Pair()
    p.feed(b"\x01" + u32(11) + s(b"bye") + s(b""))
    assert p.conn.closed and p.log.has("disconnect: by client: bye")
    assert p.events() == []


def test_empty_and_kex_messages_outside_an_exchange_disconnect():
    for payload, why in ((b"", "empty packet"), (b"\x1e" + s(b"x"), "unexpected message 30 outside key exchange")):
        p = Pair()
        p.feed(payload)
        assert p.events() == [("disconnect", why)]


def test_version_and_greeting():
    p = Pair(kexinit=False)
    assert p.conn.outq[0].startswith(b"SSH-2.0-ussh_") and p.conn.outq[0].endswith(b"\r\n")
    p.feed(p.kexinit())
    assert p.conn.peer_version == b"SSH-2.0-OpenSSH_9.9 sshpair"


def test_config_refuses_unknown_settings():
    try:
        config(no_such_setting=1)
    except TypeError as e:
        assert "no_such_setting" in str(e)
    else:
        raise AssertionError("accepted")


def test_rekey_after_rekey_bytes():
    p = Pair(config(rekey_bytes=1500))
    a = p.open()
    p.request(a, b"exec", b"'y' * 1000")  # over 1500 bytes since the exchange
    assert 20 in [x[0] for x in p.packets()] and p.conn.rekeying()  # RFC 4253 §9: the server's KEXINIT
    p.feed(p.kex_start())
    p.feed(p.kex_finish())
    ev = p.events()
    assert not p.conn.rekeying() and ev[-1] == ("close", a)  # what was held went out after NEWKEYS
