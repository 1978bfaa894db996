"""ussh.auth (RFC 4252): the ssh-userauth service, "none", "publickey" queries and signatures,
failure counting, against the in-memory client. Fast tier."""
from sshpair import Pair, config, s, user_key
from ussh import keys, wire

OTHER = keys.HostKey(b"\x03" * 32)  # a key nobody authorized


def ready(**kw):
    p = Pair(config(**kw), login=False)
    p.feed(b"\x05" + s(b"ssh-userauth"))
    assert p.events() == [("service-accept", s(b"ssh-userauth"))]
    return p


def failure(methods=b"publickey"):
    return ("auth-failure", s(methods) + b"\x00")


def test_publickey_query_then_signature_logs_in():
    p = ready()
    p.feed(p.auth_body(query=True))
    assert p.events() == [("pk-ok", s(b"ssh-ed25519") + s(user_key().blob))]
    p.feed(p.signed(p.auth_body(b"alice")))
    assert p.events() == [("auth-success", b"")]
    assert p.conn.user == "alice" and p.log.has("auth accepted for alice")
    p.feed(p.signed(p.auth_body(b"mallory")))  # RFC 4252 §5.1: ignored after success
    assert p.events() == [] and p.conn.user == "alice"


# request -> (log text): each refused with USERAUTH_FAILURE
def _refusals(p):
    body = p.auth_body()
    bad = bytearray(p.signed(body))
    bad[-1] ^= 1
    return (
        (p.auth_body(query=True, key=OTHER), "not authorized"),
        (p.signed(p.auth_body(key=OTHER), OTHER), "not authorized"),
        (bytes(bad), "bad signature"),
        (p.signed(body, OTHER), "bad signature"),  # signed by another key than the blob's
        (p.signed(p.auth_body(alg=b"ssh-rsa")), "not authorized"),  # algorithm not the blob's type
        (b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"keyboard-interactive") + s(b"") + s(b""), None),
    )


def test_refusals_are_failures_with_a_log_line():
    p = ready(max_auth_tries=10)
    for req, why in _refusals(p):
        p.feed(req)
        assert p.events() == [failure()], why
        if why:
            assert p.log.has(why), (why, list(p.log))
    assert p.conn.user is None and p.conn.auth_failures == 6 and not p.conn.closed


def test_none_lists_methods_first_time_free_then_counted_and_max_tries_disconnects():
    p = Pair(config(max_auth_tries=3), login=False)
    p.feed(b"\x05" + s(b"ssh-userauth"))
    p.events()
    none = b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"none")
    p.feed(none)
    assert p.events() == [failure()] and p.conn.auth_failures == 0
    p.feed(none, none)
    assert p.events() == [failure(), failure()]
    p.feed(p.auth_body(key=OTHER, query=True))
    assert p.events() == [("disconnect", "too many authentication failures")] and p.conn.closed


def test_password_method_listed_only_when_configured():
    from ussh import passwd

    p = Pair(config(password_hash=passwd.make("pw", 2)), login=False)
    p.feed(b"\x05" + s(b"ssh-userauth"), b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"none"))
    assert p.events()[-1] == failure(b"publickey,password")
    p.feed(b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"password") + b"\x00" + s(b"pw"))
    assert p.events() == [("auth-success", b"")]


# out-of-order requests -> the DISCONNECT reason
ORDER = (
    (b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"none"), "userauth before service request"),
    (b"\x05" + s(b"ssh-connection"), "service not available"),
    (b"\x5a" + s(b"session") + wire.u32(0) + wire.u32(1000) + wire.u32(1000), "connection protocol before authentication"),
)


def test_out_of_order_requests_disconnect():
    for req, why in ORDER:
        p = Pair(login=False)
        p.feed(req)
        assert p.events() == [("disconnect", why)]


def test_wrong_service_in_userauth_request_disconnects():
    p = ready()
    p.feed(b"\x32" + s(b"u") + s(b"ssh-sftp") + s(b"none"))
    assert p.events() == [("disconnect", "service not available")]


def _ext_sig_algs(p):
    r = wire.Reader([x for x in p.kex_packets if x[0] == 7][0], 1)
    n = r.u32()
    out = {}
    for _ in range(n):
        k = r.string()
        out[k] = r.string()
    return out[b"server-sig-algs"].split(b",")


def test_server_sig_algs_follow_each_servers_own_configuration():
    # RFC 8308 §3.1: what this server accepts; another server in the process (with RSA keys,
    # made first) changes nothing (auth.EXT was global and sticky)
    from ussh.authkeys import AuthorizedKey

    k = user_key()
    rsa = AuthorizedKey(b"ssh-rsa", wire.string(b"ssh-rsa") + wire.string(b"\x01\x00\x01") + wire.string(b"\x00" * 8), "", [], 2)
    plain = AuthorizedKey(k.algorithm, k.blob, "", [], 1)
    with_rsa = Pair(config(authorized_keys=[plain, rsa]))
    algs = _ext_sig_algs(with_rsa)
    assert b"ssh-ed25519" in algs and b"rsa-sha2-256" in algs and b"rsa-sha2-512" in algs
    assert _ext_sig_algs(Pair()) == [b"ssh-ed25519"]
    assert _ext_sig_algs(with_rsa) == algs  # and the first one's list is still its own


def _sk_key(seed=b"\x07" * 32, app=b"ssh:"):
    k = keys.HostKey(seed)
    kind = b"sk-ssh-ed25519@openssh.com"
    return k, kind, wire.string(kind) + wire.string(k.pub) + wire.string(app), app


def test_security_key_login_notes_its_counter_without_touching_the_shared_entry():
    from ussh.authkeys import AuthorizedKey
    from ussh.compat import sha256
    from ussh.crypto import ed25519_sign

    k, kind, blob, app = _sk_key()
    entry = AuthorizedKey(kind, blob, "sk", [], 1)
    p = Pair(config(authorized_keys=[entry]), login=False)
    p.feed(b"\x05" + s(b"ssh-userauth"))
    body = b"\x32" + s(b"u") + s(b"ssh-connection") + s(b"publickey") + b"\x01" + s(kind) + s(blob)
    data = s(p.session_id) + body
    signed = sha256(app).digest() + b"\x01" + wire.u32(5) + sha256(data).digest()
    p.feed(body + s(s(kind) + s(ed25519_sign(k.seed, signed)) + b"\x01" + wire.u32(5)))
    assert ("auth-success", b"") in p.events()
    assert p.log.has("security key flags 0x01 counter 5")
    assert not hasattr(entry, "sk") and not hasattr(entry, "note")  # per login, never on the config
