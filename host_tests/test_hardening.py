"""Hardening, second round (issue 17): one test (or a few) per numbered item, named test_itemNN_...

Most drive ussh's sans-IO Connection in-process through fuzz/harness.py's scripted client (real
key exchange, real packets), with a Config made for the case; certificates and FIDO signatures
are built here with `cryptography`. The slot, address and delay items also run a real server.
"""
import hashlib
import os
import random
import struct
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fuzz"))
import harness  # noqa: E402
from ussh import authkeys, keys, wire  # noqa: E402
from ussh.connection import Config  # noqa: E402

s = wire.string
SK_ED = b"sk-ssh-ed25519@openssh.com"


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ed_blob(k):
    return s(b"ssh-ed25519") + s(raw_pub(k))


def ak_line(blob, options=""):
    kind = wire.Reader(blob).string().decode()
    return ("%s %s %s x" % (options, kind, keys.b64encode(blob).decode())).strip()


class Rig:
    """A Config (lines of authorized_keys, settings) and connections driven in-process."""

    def __init__(self, lines, peer="127.0.0.1:4000", **settings):
        self.lab = harness.Lab(install_hooks=False)
        self.logged = self.lab.logged
        lines = list(lines) + [ak_line(self.lab.blob)]  # the harness's own key ("authed" states)
        ak = authkeys.parse("\n".join(lines) + "\n", self.logged.append)
        cas = settings.pop("trusted_cas", ())
        if cas:
            settings["trusted_cas"] = authkeys.parse("\n".join(cas) + "\n", self.logged.append)
        self.lab.cfg = Config(host_key=self.lab.host_key, authorized_keys=ak, root=self.lab.root,
                              log=self.logged.append, **settings)
        self.peer = peer

    def connect(self, state="userauth"):
        orig = harness.Connection.__init__
        peer = self.peer

        def init(conn, cfg, _peer="-"):
            orig(conn, cfg, peer)

        harness.Connection.__init__ = init
        try:
            conn, c = self.lab.build(state)
        finally:
            harness.Connection.__init__ = orig
        return conn, c

    def log(self):
        return "\n".join(self.logged)


def send(conn, c, *payloads):
    """Feeds packets; the server's replies (decrypted payloads). An exception escaping feed()
    is what the issue forbids: it propagates and fails the test."""
    conn.feed(c.wire([("pkt", p) for p in payloads]))
    return c.replies(conn)


def userauth_body(alg, blob, user=b"tester"):
    return b"\x32" + s(user) + s(b"ssh-connection") + s(b"publickey") + b"\x01" + s(alg) + s(blob)


def signed(conn, body, sig_for):
    return body + s(sig_for(s(conn.session_id) + body))


def ed_sig(key):
    return lambda data: s(b"ssh-ed25519") + s(key.sign(data))


def sk_sig(key, app, flags, counter=1):
    def f(data):
        m = hashlib.sha256(app).digest() + bytes([flags]) + u32(counter) + hashlib.sha256(data).digest()
        return s(SK_ED) + s(key.sign(m)) + bytes([flags]) + u32(counter)

    return f


def opts(*pairs):
    # critical options / extensions: (name, data) pairs, data already encoded
    return b"".join(s(n) + s(d) for n, d in pairs)


def make_cert(ca, user_key, principals=(b"tester",), kind=1, critical=b"", ext=None, sk_app=None,
              sig_name=b"ssh-ed25519", signer=None, after=0, before=(1 << 64) - 1):
    """An OpenSSH user certificate (PROTOCOL.certkeys) for user_key signed by ca (or signer)."""
    if ext is None:
        ext = opts((b"permit-pty", b""))
    if sk_app is None:
        head = s(b"ssh-ed25519-cert-v01@openssh.com") + s(bytes(32)) + s(raw_pub(user_key))
    else:
        head = s(b"sk-ssh-ed25519-cert-v01@openssh.com") + s(bytes(32)) + s(raw_pub(user_key)) + s(sk_app)
    body = (head + u64(5) + u32(kind) + s(b"key-id") + s(b"".join(s(p) for p in principals))
            + u64(after) + u64(before) + s(critical) + s(ext) + s(b"") + s(ed_blob(ca)))
    return body + s(s(sig_name) + s((signer or ca).sign(body)))


CERT_ALG = b"ssh-ed25519-cert-v01@openssh.com"
SK_CERT_ALG = b"sk-ssh-ed25519-cert-v01@openssh.com"


@pytest.fixture(scope="module")
def keyset():
    k = {n: Ed25519PrivateKey.from_private_bytes(hashlib.sha256(n.encode()).digest())
         for n in ("ca", "user", "other", "sk")}
    return k


def cert_login(rig, k, cert, alg=CERT_ALG, sig=None):
    conn, c = rig.connect()
    got = send(conn, c, signed(conn, userauth_body(alg, cert), sig or ed_sig(k["user"])))
    return conn, [p[0] for p in got]


# -- item 5: the CA signature before any policy; no exception before login
def test_item05_forged_certificate_refused_for_its_signature_not_its_options(keyset):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")])
    # signed by another key but naming the trusted CA; an empty source-address once raised
    for crit in (opts((b"source-address", b"")), opts((b"frobnicate", b"")), b""):
        cert = make_cert(k["ca"], k["user"], critical=crit, signer=k["other"], principals=(b"nobody",))
        conn, got = cert_login(rig, k, cert)
        assert got == [51] and not conn.closed
    log = rig.log()
    assert log.count("CA signature: bad signature") == 3, log
    assert "source-address" not in log and "frobnicate" not in log and "principals" not in log


def test_item05_signature_name_not_utf8_refused_cleanly(keyset):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")])
    conn, got = cert_login(rig, k, make_cert(k["ca"], k["user"], sig_name=b"\xff\xfe-bad\n"))
    assert got == [51] and not conn.closed
    assert "CA signature algorithm ??-bad? not accepted" in rig.log()


def test_item05_empty_source_address_from_the_trusted_ca_refused_cleanly(keyset):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")])
    conn, got = cert_login(rig, k, make_cert(k["ca"], k["user"], critical=opts((b"source-address", b""))))
    assert got == [51] and not conn.closed
    assert "malformed critical option source-address" in rig.log()


def test_item05_no_exception_before_login_from_mutated_certificates(keyset):
    # 400 seeded mutations of a good certificate (bit flips, cuts, length fields): each is
    # refused or disconnects with a reason; nothing escapes feed(), no "internal error"
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")], trusted_cas=[ak_line(ed_blob(k["ca"]))])
    good = make_cert(k["ca"], k["user"], critical=opts((b"source-address", s(b"127.0.0.1/8")),
                                                      (b"force-command", s(b"print(1)"))))
    conn, got = cert_login(rig, k, good)
    assert got[-1] == 52, rig.log()
    rnd = random.Random(17)
    conn = None
    for i in range(400):
        b = bytearray(good)
        how = i % 4
        if how == 0:
            for _ in range(rnd.randint(1, 4)):
                b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif how == 1:
            b = b[: rnd.randrange(len(b))]
        elif how == 2:
            at = rnd.randrange(len(b) - 4)
            b[at : at + 4] = u32(rnd.choice([0, 1, 0xFFFFFFFF, len(b), rnd.randrange(1 << 32)]))
        else:
            at = rnd.randrange(len(b))
            b[at:at] = rnd.choice([b"\xff", b"\x00" * 4, s(b"\xc3\x28")])
        if conn is None or conn.closed or conn.user is not None or conn.auth_failures >= 4:
            conn, c = rig.connect()
        got = send(conn, c, signed(conn, userauth_body(CERT_ALG, bytes(b)), ed_sig(k["user"])))
        assert conn.user is None or bytes(b) == good
        for p in got:
            if p[0] == 1:
                assert b"internal error" not in p, p
    assert "internal error" not in rig.log()


# -- item 4: strict critical options
def test_item04_critical_options_strict(keyset):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")])
    cases = {
        "empty force-command": opts((b"force-command", b"")),
        "force-command twice": opts((b"force-command", s(b"print(1)")), (b"force-command", s(b"print(2)"))),
        "trailing data": opts((b"force-command", s(b"print(1)") + b"x")),
        "empty string": opts((b"force-command", s(b""))),
        "verify-required with data": opts((b"verify-required", s(b"yes"))),
    }
    for why, crit in cases.items():
        conn, got = cert_login(rig, k, make_cert(k["ca"], k["user"], critical=crit))
        assert got == [51] and conn.user is None, why
    log = rig.log()
    assert log.count("malformed critical option") == 4 and log.count("malformed certificate") == 1, log
    # an extension twice is refused as well (PROTOCOL.certkeys: each name once)
    ext = opts((b"permit-pty", b""), (b"permit-pty", b""))
    conn, got = cert_login(rig, k, make_cert(k["ca"], k["user"], ext=ext))
    assert got == [51]
    # the well-formed option still works
    conn, got = cert_login(rig, k, make_cert(k["ca"], k["user"], critical=opts((b"force-command", s(b"print(3)")))))
    assert got[-1] == 52 and conn.forced == "print(3)"


# -- item 3: no-touch-required needs the CA line and the certificate
@pytest.mark.parametrize("line_opt,cert_ext,ok", [
    ("", True, False),
    ("no-touch-required", False, False),
    ("no-touch-required", True, True),
])
def test_item03_fido_certificate_no_touch_needs_both(keyset, line_opt, cert_ext, ok):
    k = keyset
    app = b"ssh:"
    rig = Rig([ak_line(ed_blob(k["ca"]), ",".join(x for x in ("cert-authority", line_opt) if x))])
    ext = opts((b"no-touch-required", b""), (b"permit-pty", b"")) if cert_ext else None
    cert = make_cert(k["ca"], k["sk"], ext=ext, sk_app=app)
    conn, got = cert_login(rig, k, cert, SK_CERT_ALG, sk_sig(k["sk"], app, 0x00))
    assert (got[-1] == 52) == ok, rig.log()
    if not ok:
        assert "security key not touched" in rig.log()
    conn, got = cert_login(rig, k, cert, SK_CERT_ALG, sk_sig(k["sk"], app, 0x01))
    assert got[-1] == 52, rig.log()  # a touch always does


# -- item 6: peer text in the log
def test_item06_peer_strings_cannot_forge_log_lines(keyset):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["user"]))])
    evil = b"x\nussh: 10.0.0.1:22 auth accepted for root with ssh-ed25519 SHA256:x\x1b[2J\r"
    conn, c = rig.connect()
    send(conn, c, userauth_body(b"ssh-ed25519", ed_blob(k["other"]), user=evil) + s(b"\0" * 10))
    send(conn, c, signed(conn, userauth_body(b"ssh-ed25519", ed_blob(k["user"]), user=evil), ed_sig(k["user"])))
    assert conn.user is not None
    conn, c = rig.connect()
    send(conn, c, b"\x01" + u32(11) + s(evil) + s(b""))
    for line in rig.logged:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line, repr(line)
    assert [ln for ln in rig.logged if "by client: x?ussh: 10.0.0.1:22 auth accepted" in ln]
    assert not [ln for ln in rig.logged if ln.startswith("ussh: 10.0.0.1")]


# -- item 2: addresses
def test_item02_peer_names_normalised():
    from ussh.compat import peer_name

    assert peer_name(("::ffff:192.0.2.7", 2200, 0, 0)) == "192.0.2.7:2200"
    assert peer_name(("2001:db8:0:0:0:0:0:1", 22, 0, 0)) == "[2001:db8::1]:22"
    assert peer_name(("10.1.2.3", 5)) == "10.1.2.3:5"
    # MicroPython: raw sockaddr_in6 (Linux), an IPv4 client of a socket on "::"
    mapped = bytearray(b"\n\x00\xc6\x00" + bytes(4) + bytes(10) + b"\xff\xff\x7f\x00\x00\x01" + bytes(4))
    assert peer_name(mapped) == "127.0.0.1:50688"
    v6 = bytearray(b"\n\x00\x00\x16" + bytes(4) + bytes.fromhex("fe800000000000000000000000000001") + bytes(4))
    assert peer_name(v6) == "[fe80::1]:22"


@pytest.mark.parametrize("peer,option,ok", [
    ("[::ffff:127.0.0.1]:5", 'from="!127.0.0.1,*"', False),
    ("127.0.0.1:5", 'from="!127.0.0.1,*"', False),
    ("?", 'from="!127.0.0.1,*"', False),
    ("?", 'from="*"', False),
    ("10.9.9.9:5", 'from="!127.0.0.1,*"', True),
    ("[2001:db8::5]:5", 'from="2001:db8::/32"', True),
    ("[2001:db9::5]:5", 'from="2001:db8::/32"', False),
])
def test_item02_from_option_fails_closed(keyset, peer, option, ok):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["user"]), option)], peer=peer)
    conn, c = rig.connect()
    got = send(conn, c, signed(conn, userauth_body(b"ssh-ed25519", ed_blob(k["user"])), ed_sig(k["user"])))
    assert (got[-1][0] == 52) == ok, rig.log()


@pytest.mark.parametrize("peer,ok", [("?", False), ("[::ffff:10.1.2.3]:9", True), ("[::ffff:10.3.2.3]:9", False)])
def test_item02_source_address_fails_closed(keyset, peer, ok):
    k = keyset
    rig = Rig([ak_line(ed_blob(k["ca"]), "cert-authority")], peer=peer)
    cert = make_cert(k["ca"], k["user"], critical=opts((b"source-address", s(b"10.1.0.0/16,192.0.2.1"))))
    conn, got = cert_login(rig, k, cert)
    assert (got[-1] == 52) == ok, rig.log()


# -- item 1: connection slots
import socket  # noqa: E402
import time  # noqa: E402

import rawssh  # noqa: E402


def _attacker(port, src="127.0.0.2"):
    # an idle TCP connection from another loopback address (the destination is 127.0.0.1)
    a = socket.socket()
    a.settimeout(10)
    a.bind((src, 0))
    a.connect(("127.0.0.1", port))
    return a


def _wait_log(srv, needle, count=1, timeout=10.0):
    deadline = time.monotonic() + timeout
    while srv.log().count(needle) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return srv.log().count(needle) >= count


def _closed(a):
    a.settimeout(0)
    try:
        while True:
            d = a.recv(4096)
            if not d:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item01_idle_unauth_connections_do_not_lock_out_owner(ussh_server, runtime):
    srv = ussh_server(runtime=runtime, extra_args=("--max-connections", "2"))
    key = rawssh.load_private_key(srv.client_key)
    held = [_attacker(srv.port), _attacker(srv.port)]
    try:
        assert _wait_log(srv, "127.0.0.2:", 2), srv.log()
        got_in = 0
        for i in range(5):
            with rawssh.RawClient(srv.port) as c:
                c.handshake()
                c.login(key)
                assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"
                got_in += 1
                # the attacker reconnects whatever was dropped, while the owner is logged in
                for j, a in enumerate(held):
                    if _closed(a):
                        a.close()
                        held[j] = _attacker(srv.port)
        assert got_in == 5
        assert "an unauthenticated one gave way" in srv.log()
    finally:
        for a in held:
            a.close()


def test_item01_victim_choice():
    from ussh import gate

    class C:
        def __init__(self, user=None):
            self.user = user

    def slot(src, t0, user=None):
        return gate.Slot(C(user), None, None, src, t0)

    owner = slot("10.0.0.1", 5)
    a1, a2 = slot("10.6.6.6", 1), slot("10.6.6.6", 2)
    b1 = slot("10.7.7.7", 0)
    # full of one attacker: the newcomer evicts that source's oldest
    assert gate.victim([a1, a2], "10.0.0.1") is a1
    # the attacker reconnecting only ever ends its own connection, never the owner's
    assert gate.victim([a2, owner], "10.6.6.6") is a2
    # a newcomer with no connection of its own: the oldest of the source holding the most
    assert gate.victim([b1, a1, a2, owner], "10.9.9.9") is a1
    # logged-in connections never give way: the newcomer is refused
    assert gate.victim([slot("10.6.6.6", 1, "tester"), slot("10.6.6.6", 2, "tester")], "10.6.6.6") is None


# -- item 8: delays after failed attempts
def test_item08_delay_schedule():
    from ussh import gate

    # per connection: growing, capped
    got = [gate.conn_delay_ms(n) for n in range(1, 9)]
    assert got == sorted(got) and got[0] > 0 and got[-1] == gate.CAP_MS and got[1] == 2 * got[0]
    # per source: BURST failures at the connection's pace, then one each REFILL_MS, serialised
    src = gate.Sources()
    now = 1000
    waits = [src.failed("10.6.6.6", 1, now) for _ in range(gate.BURST + 5)]
    assert waits[: gate.BURST] == [gate.conn_delay_ms(1)] * gate.BURST
    assert waits[gate.BURST :] == [max(gate.conn_delay_ms(1), k * gate.REFILL_MS) for k in range(1, 6)]
    # other sources are not slowed; time refills; a login forgets
    assert src.failed("10.0.0.1", 1, now) == gate.conn_delay_ms(1)
    later = now + 20 * gate.REFILL_MS
    assert src.failed("10.6.6.6", 1, later) == gate.conn_delay_ms(1)
    src.succeeded("10.6.6.6")
    assert "10.6.6.6" not in src.table
    # the table stays bounded
    for i in range(200):
        src.failed("10.1.%d.%d" % (i // 250, i % 250), 1, later)
    assert len(src.table) <= 32


def test_item08_password_guesses_slowed(ussh_server):
    # loosely measured: the delays are lower bounds (sleeps), so the count of guesses that
    # fit in the time taken is bounded from above whatever the machine's speed
    import subprocess

    from ussh import gate

    h = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'lib');"
                        "from ussh import passwd; print(passwd.make('right', 1000))"],
                       capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    srv = ussh_server(runtime="unix", extra_args=("--password-hash", h))
    t0 = time.monotonic()
    guesses = 0
    for _ in range(3):
        with rawssh.RawClient(srv.port, timeout=30) as c:
            c.handshake()
            c.service_request()
            for _ in range(5):
                c.send_packet(bytes([rawssh.USERAUTH_REQUEST]) + s(b"tester") + s(b"ssh-connection")
                              + s(b"password") + b"\x00" + s(b"wrong%d" % guesses))
                assert c.recv()[0] == rawssh.USERAUTH_FAILURE
                guesses += 1
    took = time.monotonic() - t0
    print("%d wrong passwords in %.1f s: %.2f a second" % (guesses, took, guesses / took))
    per_conn = sum(gate.conn_delay_ms(n) for n in range(1, 6)) / 1000
    assert took >= 3 * per_conn * 0.95, took
    assert guesses / took < 6, (guesses, took)
    assert srv.log().count("wrong password") == 15


# -- item 7: re-keys: held replies bounded, a time limit, a limit before login
def _client_rekey(rig, conn, c):
    # a client-started key exchange on a running connection (as fuzz/harness.py's first one)
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    from ussh import kex

    i_c = rig.lab.kexinit()
    got = send(conn, c, i_c)
    i_s = harness._expect(got, 20)
    eph = X25519PrivateKey.generate()
    q_c = eph.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    got = send(conn, c, b"\x1e" + s(q_c))
    r = wire.Reader(harness._expect(got, 31), 1)
    k_s, q_s, _sig = r.string(), r.string(), r.string()
    k = wire.mpint_bytes(eph.exchange(X25519PublicKey.from_public_bytes(q_s)))
    h = hashlib.sha256(b"".join([s(c.version), s(conn.version), s(i_c), s(i_s), s(k_s), s(q_c), s(q_s), k])).digest()
    mac = b"hmac-sha2-256-etm@openssh.com"
    c.pending = kex._keys(k, h, conn.session_id, b"aes128-ctr", mac, (b"B", b"D", b"F"))
    c.replies(conn)
    conn.feed(c.wire([("pkt", b"\x15")]))
    c.t.set_out(*kex._keys(k, h, conn.session_id, b"aes128-ctr", mac, (b"A", b"C", b"E")))
    c.t.seq_out = 0


def test_item07_rekeys_before_login_limited(keyset):
    rig = Rig([ak_line(ed_blob(keyset["user"]))])
    conn, c = rig.connect("userauth")
    _client_rekey(rig, conn, c)  # the second exchange: allowed
    assert not conn.closed and conn.kex_count == 2
    got = send(conn, c, b"\x32" + s(b"x") + s(b"ssh-connection") + s(b"none"))
    assert got[-1][0] == 51  # the connection works on the new keys
    conn.feed(c.wire([("pkt", rig.lab.kexinit())]))
    assert conn.closed and "too many key exchanges before authentication" in rig.log()
    # after login, re-keys are the client's right
    conn, c = rig.connect("authed")
    for _ in range(3):
        _client_rekey(rig, conn, c)
    assert not conn.closed


def test_item07_held_replies_bounded(keyset):
    rig = Rig([ak_line(ed_blob(keyset["user"]))])
    conn, c = rig.connect("authed")
    conn.rekey()  # server-started: replies wait for the client's KEXINIT, which never comes
    for _ in range(200):
        conn.feed(c.wire([("pkt", b"\x50" + s(b"x@example.com") + b"\x01")]))
        assert len(conn._held) <= 33
        if conn.closed:
            break
    assert conn.closed and "too many replies held" in rig.log()


def test_item07_kex_time_limit_computed():
    from ussh.compat import ticks_ms

    rig = Rig([])
    conn, c = rig.connect("authed")
    assert conn.kex_left(ticks_ms()) is None
    conn.rekey()
    t = ticks_ms()
    assert 0 < conn.kex_left(t) <= conn.cfg.kex_timeout
    assert conn.kex_left(t + conn.cfg.kex_timeout * 1000 + 1) < 0


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item07_client_that_never_answers_a_rekey_is_dropped(ussh_server, runtime):
    srv = ussh_server(runtime=runtime, extra_args=("--rekey-bytes", "2000", "--kex-timeout", "1"))
    with rawssh.RawClient(srv.port, timeout=20) as c:
        c.handshake()
        c.login(rawssh.load_private_key(srv.client_key))
        for _ in range(100):  # replies until the server starts a re-key
            c.send_packet(b"\x50" + s(b"x@example.com") + b"\x01")
            if c.recv()[0] == rawssh.KEXINIT:
                break
        else:
            raise AssertionError("no re-key\n" + srv.log())
        code, reason = c.expect_disconnect(20)
    assert "key exchange not completed within 1 s" in reason, srv.log()


# -- item 9: SFTP edges
def _sftp(conn, c, t, rid, body):
    pkt = bytes([t]) + u32(rid) + body
    got = send(conn, c, b"\x5e" + u32(0) + s(u32(len(pkt)) + pkt))
    data = b"".join(wire.Reader(p, 5).string() for p in got if p[0] == 94)
    out = []
    while data:
        n = int.from_bytes(data[:4], "big")
        out.append(data[4 : 4 + n])
        data = data[4 + n :]
    return out


def _status(replies):
    assert len(replies) == 1 and replies[0][0] == 101, replies
    return int.from_bytes(replies[0][5:9], "big")


def test_item09_read_at_huge_offset_is_a_status(keyset):
    rig = Rig([])
    conn, c = rig.connect("sftp")
    h = _sftp(conn, c, 3, 1, s(b"/hello.txt") + u32(1) + u32(0))
    assert h[0][0] == 102
    handle = wire.Reader(h[0], 5).string()
    for off in (1 << 63, (1 << 64) - 1, 1 << 62):
        assert _status(_sftp(conn, c, 5, 2, s(handle) + u64(off) + u32(100))) == 4  # FAILURE
    # a WRITE there too (on an upload's handle)
    w = _sftp(conn, c, 3, 3, s(b"/new.txt") + u32(0x1A) + u32(0))
    wh = wire.Reader(w[0], 5).string()
    assert _status(_sftp(conn, c, 6, 4, s(wh) + u64(1 << 63) + s(b"x"))) == 4
    assert not conn.closed
    assert _sftp(conn, c, 5, 5, s(handle) + u64(0) + u32(5))[0][0] == 103  # DATA: the session goes on


@pytest.mark.parametrize("t,body", [
    (15, s(b"/")), (15, s(b".")), (15, s(b"sub/..")), (13, s(b"/")),
    (18, s(b"/") + s(b"/moved")), (18, s(b"/sub") + s(b"/")),
])
def test_item09_root_folder_itself_never_removed_or_renamed(keyset, t, body):
    rig = Rig([])
    conn, c = rig.connect("sftp")
    root = rig.lab.root
    os.remove(os.path.join(root, "hello.txt"))
    if t != 18:
        os.rmdir(os.path.join(root, "sub"))
    assert _status(_sftp(conn, c, t, 7, body)) == 3  # PERMISSION_DENIED
    assert os.path.isdir(root) and not os.path.exists(root + "/../moved")
    assert not conn.closed


@pytest.mark.parametrize("name", [b"/.ussh-uploads", b"/sub/.ussh-uploads", b"/.hello.txt.ussh1~"])
def test_item09_journal_and_temporary_names_reserved(keyset, name):
    rig = Rig([])
    conn, c = rig.connect("sftp")
    w = _sftp(conn, c, 3, 1, s(name) + u32(0x1A) + u32(0))
    assert _status(w) == 3, w
    assert not os.path.exists(rig.lab.root + name.decode())
    # an upload next to it still works
    w = _sftp(conn, c, 3, 2, s(b"/ok.txt") + u32(0x1A) + u32(0))
    wh = wire.Reader(w[0], 5).string()
    assert _status(_sftp(conn, c, 6, 3, s(wh) + u64(0) + s(b"data"))) == 0
    assert _status(_sftp(conn, c, 4, 4, s(wh))) == 0
    assert open(rig.lab.root + "/ok.txt", "rb").read() == b"data"


# -- item 10: host key file and the CLI's default root
import subprocess  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tools"))
import peers  # noqa: E402


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item10_host_key_created_private(runtime, tmp_path):
    exe = peers.MICROPYTHON if runtime == "unix" else sys.executable
    code = ("import sys; sys.path.insert(0, %r)\nfrom ussh import keyfile\n"
            "keyfile.load_or_create(%r, print)\n" % (peers.LIB, str(tmp_path / "hk")))
    old = os.umask(0o022)
    try:
        subprocess.run([exe, "-c", code], check=True, timeout=60, capture_output=True)
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "hk").st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["hk"]


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item10_cli_default_root_hides_the_servers_own_files(runtime, tmp_path):
    client = peers.keygen(str(tmp_path / "client"))
    os.mkdir(tmp_path / "srv")
    with open(tmp_path / "srv" / "authorized_keys", "w") as f:
        f.write(open(client + ".pub").read())
    port = peers.free_port()
    exe = peers.MICROPYTHON if runtime == "unix" else sys.executable
    env = dict(os.environ, MICROPYPATH=peers.LIB, PYTHONPATH=peers.LIB)
    log = open(tmp_path / "log", "wb")
    p = subprocess.Popen([exe, "-m", "ussh", "--port", str(port)], cwd=tmp_path / "srv", env=env,
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        batch = "get ssh_host_ed25519_key %s/got\nls\n" % tmp_path
        r = subprocess.run(["sftp", "-b", "-", "-P", str(port), "-i", client, "-o", "IdentitiesOnly=yes",
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", "BatchMode=yes", "127.0.0.1"], input=batch, capture_output=True, text=True,
                           timeout=60)
    finally:
        p.terminate()
        p.wait(10)
        log.close()
    assert "auth accepted" in open(tmp_path / "log").read(), r.stderr
    assert not os.path.exists(tmp_path / "got"), r.stderr
    assert 'ssh_host_ed25519_key" not found' in r.stderr
    assert os.path.isdir(tmp_path / "srv" / "files")  # the default root, beside the host key
    assert os.path.exists(tmp_path / "srv" / "ssh_host_ed25519_key")


# -- item 11: secure defaults
def _kexinit_macs(p):
    r = wire.Reader(p, 17)
    lists = [r.namelist() for _ in range(10)]
    return lists[4], lists[5]


@pytest.mark.parametrize("legacy", [False, True])
def test_item11_mac_offer_and_choice(keyset, legacy):
    rig = Rig([], legacy_mac=legacy)
    conn, c = rig.connect("banner")
    conn.feed(c.version + b"\r\n")
    i_s = harness._expect(c.replies(conn), 20)
    want = [b"hmac-sha2-256-etm@openssh.com"] + ([b"hmac-sha2-256"] if legacy else [])
    assert _kexinit_macs(i_s) == (want, want)
    # a client that has only hmac-sha2-256 (Dropbear 2022) gets in only with legacy_mac
    conn.feed(c.wire([("pkt", rig.lab.kexinit(mac=b"hmac-sha2-256"))]))
    assert conn.closed != legacy
    if not legacy:
        assert "no matching client-to-server MAC algorithm" in rig.log()


def test_item11_legacy_mac_setting_in_ussh_cfg():
    from ussh import board

    assert board.parse("legacy_mac = 1\n")["legacy_mac"] == 1
    assert board.DEFAULTS["legacy_mac"] == 0
    with pytest.raises(board.ConfigError):
        board.parse("legacy_mac = 2\n")


def test_item11_silent_connections_penalised():
    from ussh import gate

    src = gate.Sources()
    now = 0
    assert not src.refuse("10.6.6.6", now)
    for _ in range(gate.SILENT_BURST):
        src.silent("10.6.6.6", now)
    assert not src.refuse("10.6.6.6", now)
    assert src.silent("10.6.6.6", now)  # the one that starts the penalty
    assert src.refuse("10.6.6.6", now) and not src.refuse("10.0.0.1", now)
    assert not src.refuse("10.6.6.6", now + 1000 // gate.SILENT_PER_S + 1)  # refilled


PQ_NOTE = "does not provide protection against post-quantum attacks"


def _audit(port):
    import json

    exe = os.path.join(ROOT, ".venv", "bin", "ssh-audit")
    r = subprocess.run([exe, "-j", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=120)
    return json.loads(r.stdout)


def _audit_warnings(a):
    out = []
    for kind in ("kex", "key", "enc", "mac"):
        for row in a[kind]:
            for level in ("warn", "fail"):
                for note in row.get("notes", {}).get(level, ()):
                    out.append((kind, row["algorithm"], level, note))
    return out


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item11_ssh_audit_default_server_only_post_quantum_notes(ussh_server, runtime):
    srv = ussh_server(runtime=runtime)
    a = _audit(srv.port)
    warnings = _audit_warnings(a)
    print("ssh-audit 3.9.0 warnings:", warnings)
    assert [m["algorithm"] for m in a["mac"]] == ["hmac-sha2-256-etm@openssh.com"]
    assert a["cves"] == [] and a["additional_notes"] == [] and a["recommendations"] == {}, a
    # only the post-quantum note, only on the classical key exchanges (and Dropbear's guess marker)
    assert warnings and all(k == "kex" and lvl == "warn" and n == PQ_NOTE for k, _, lvl, n in warnings), warnings
    assert {alg for _, alg, _, _ in warnings} <= {"curve25519-sha256", "curve25519-sha256@libssh.org",
                                                   "kexguess2@matt.ucc.asn.au"}
    # and the audit sees what it warns about: with legacy_mac, the encrypt-and-MAC MAC
    srv2 = ussh_server(runtime=runtime, extra_args=("--legacy-mac",))
    legacy = [w for w in _audit_warnings(_audit(srv2.port)) if w[0] == "mac"]
    assert [w[1] for w in legacy] == ["hmac-sha2-256"], legacy


# -- the fuzz configuration reaches the certificate, option, password and key-type modules
def test_fuzz_configuration_reaches_cert_keyopts_passwd_key_modules(tmp_path):
    import json

    summary = tmp_path / "summary.json"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "fuzz", "run.py"), "--cases", "1200", "--seed", "17",
                        "--states", "userauth,eam", "--coverage", "--findings", str(tmp_path / "findings"),
                        "--json", str(summary)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-3000:]
    res = json.loads(summary.read_text())
    cov = res["coverage_login"]
    print("login module coverage:", cov)
    assert res["findings"] == 0
    for m in ("auth", "cert", "keyopts", "passwd", "key_rsa", "key_ecdsa", "key_sk"):
        assert cov[m] >= 45, (m, cov)


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_item02_server_on_all_ipv6_addresses_sees_ipv4_clients(ussh_server, runtime, tmp_path):
    # an IPv4 client of a server listening on "::" (IPv4-mapped): a negated from= must match it
    ak = tmp_path / "authorized_keys"
    ak.write_text("")
    srv = ussh_server(runtime=runtime, extra_args=("--bind", "::", "--authorized-keys", str(ak)))
    key = rawssh.load_private_key(srv.client_key)  # the lab's client key: known once started
    ak.write_text('from="!127.0.0.1,*" ' + open(srv.client_key + ".pub").read())
    srv.stop()
    srv = ussh_server(runtime=runtime, extra_args=("--bind", "::", "--authorized-keys", str(ak)))
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.service_request()
        t, _ = c.userauth_publickey("tester", key)
        assert t == rawssh.USERAUTH_FAILURE, srv.log()
        port = c.sock.getsockname()[1]
    assert _wait_log(srv, 'from="!127.0.0.1,*" does not match 127.0.0.1'), srv.log()
    assert "127.0.0.1:%d connected" % port in srv.log()


@pytest.mark.parametrize("signer", ["rsa", "ecdsa", "sk_ed", "sk_ec"])
def test_item05_signature_name_not_utf8_for_every_key_type(signer):
    # the key is public (authorized_keys): a signature blob whose name is not UTF-8 is refused
    # with a reason, before login, for every key type (RSA's once raised UnicodeError)
    import userkeys

    uk = userkeys.user_keys()
    rig = Rig(uk.authorized_lines())
    body = next(b for b, who in uk.requests(user=b"tester") if who == signer)
    conn, c = rig.connect()
    real = wire.Reader(uk.sign(signer, b"x"))
    real.string()
    got = send(conn, c, body + s(s(b"\xff\xfe") + s(real.string()) + b"\x01" * (5 if signer.startswith("sk") else 0)))
    assert [p[0] for p in got] == [51] and not conn.closed, rig.log()
    assert "internal error" not in rig.log()
