"""Malformed and unexpected input: each ends the connection with a DISCONNECT that carries a
reason (RFC 4253 §11.1) or gets the answer the RFC asks for, and the server keeps serving.

The faults are injected with host_tests/rawssh.py; after each one a stock `ssh` login must
still run a command. Every test runs against ussh on the MicroPython unix port and on CPython.
"""
import socket
import struct

import pytest

import rawssh
from rawssh import (CHANNEL_FAILURE, CHANNEL_OPEN, CHANNEL_OPEN_FAILURE, CHANNEL_SUCCESS,
                    GLOBAL_REQUEST, IGNORE, REQUEST_FAILURE, SERVICE_REQUEST, UNIMPLEMENTED,
                    Reader, string, u32)

SERVER_RUNTIMES = ("unix", "cpython")
PROTOCOL_ERROR, MAC_ERROR, VERSION_NOT_SUPPORTED = 2, 5, 8  # RFC 4253 §11.1


@pytest.fixture(params=SERVER_RUNTIMES)
def srv(request, ussh_server):
    s = ussh_server(runtime=request.param)
    yield s
    # whatever the test did, the server still serves a good login
    p = s.ssh("print(6*7)", timeout=30)
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + s.log()


def connected(srv, strict=True, login=False):
    """A raw client after version exchange and key exchange (and login)."""
    c = rawssh.RawClient(srv.port)
    c.handshake(strict=strict)
    if login:
        c.login(rawssh.load_private_key(srv.client_key))
    return c


def versioned(srv):
    """A raw client after the version exchange; no KEXINIT read or sent yet."""
    c = rawssh.RawClient(srv.port)
    c.send_version()
    c.read_version()
    return c


def assert_disconnect(c, code, timeout=5):
    got, reason = c.expect_disconnect(timeout)
    assert got == code, reason
    assert reason  # a readable reason
    c.wait_closed()  # and the server closes its end
    return reason


# -- identification, RFC 4253 §4.2
def test_many_garbage_lines_get_disconnect(srv):
    with rawssh.RawClient(srv.port) as c:
        c.send_raw(b"GET / HTTP/1.0\r\n" * 30)
        assert c.read_version().startswith(b"SSH-2.0-")
        assert_disconnect(c, VERSION_NOT_SUPPORTED)


def test_overlong_garbage_line_gets_disconnect(srv):
    with rawssh.RawClient(srv.port) as c:
        c.send_raw(b"x" * 300)  # no line end
        c.read_version()
        assert_disconnect(c, VERSION_NOT_SUPPORTED)


def test_garbage_then_close_is_closed(srv):
    # Before the client's version line only its version line was read: the server has
    # sent its own version and KEXINIT, and closes when the client does.
    with rawssh.RawClient(srv.port) as c:
        c.send_raw(b"hello\r\nnot ssh\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        data = c.wait_closed()
        assert data.startswith(b"SSH-2.0-ussh"), data[:80]


@pytest.mark.parametrize("line", [b"SSH-1.5-oldclient", b"SSH-3.0-future", b"SSH-2.0-" + b"v" * 300])
def test_unsupported_version_line(srv, line):
    with rawssh.RawClient(srv.port) as c:
        c.send_raw(line + b"\r\n")
        c.read_version()
        assert_disconnect(c, VERSION_NOT_SUPPORTED)


# -- binary packet protocol, RFC 4253 §6
@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_oversized_packet_length(srv, keyed):
    with (connected(srv) if keyed else versioned(srv)) as c:
        # 100000 announced, 64 sent: the answer must not wait for the rest
        c.send_raw(u32(100000) + bytes(64))
        assert_disconnect(c, PROTOCOL_ERROR)


def test_largest_required_packet_is_accepted(srv):
    # RFC 4253 §6.1: a 32768-byte payload in a packet of at most 35000 bytes MUST be processed
    with connected(srv) as c:
        c.send_packet(bytes([IGNORE]) + string(bytes(32763)))
        c.login(rawssh.load_private_key(srv.client_key))
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"


@pytest.mark.parametrize("pad_field", [0, 2, 3, 255])
@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_bad_padding_length(srv, keyed, pad_field):
    with (connected(srv) if keyed else versioned(srv)) as c:
        c.send_packet(bytes([SERVICE_REQUEST]) + string("ssh-userauth"), pad_field=pad_field)
        assert_disconnect(c, PROTOCOL_ERROR)


def test_bad_mac(srv):
    with connected(srv) as c:
        c.send_packet(bytes([SERVICE_REQUEST]) + string("ssh-userauth"), bad_mac=True)
        assert_disconnect(c, MAC_ERROR)


def test_bad_mac_after_login(srv):
    with connected(srv, login=True) as c:
        c.send_packet(bytes([GLOBAL_REQUEST]) + string("x") + b"\x01", bad_mac=True)
        assert_disconnect(c, MAC_ERROR)


# -- strict key exchange (OpenSSH PROTOCOL §1.10) and RFC 4253 §7.1
def test_strict_ignore_after_kexinit_disconnects(srv):
    with versioned(srv) as c:
        c.kexinit(strict=True)
        assert c.strict
        c.send_packet(bytes([IGNORE]) + string(""))
        assert_disconnect(c, PROTOCOL_ERROR)


def test_strict_service_request_before_newkeys_disconnects(srv):
    with versioned(srv) as c:
        c.kexinit(strict=True)
        c.kex_init()
        c.kex_reply()
        c.newkeys(send=False)  # take the server's NEWKEYS, do not send ours
        c.send_packet(bytes([SERVICE_REQUEST]) + string("ssh-userauth"))
        assert_disconnect(c, PROTOCOL_ERROR)


def test_strict_ignore_before_kexinit_disconnects(srv):
    # OpenSSH PROTOCOL §1.10: with strict KEX the first packet MUST be KEXINIT;
    # the server learns the client is strict from that KEXINIT.
    # (OpenSSH kex.c: "strict KEX violation: KEXINIT was not the first packet")
    with versioned(srv) as c:
        c.send_packet(bytes([IGNORE]) + string("first"))
        c.kexinit(strict=True)
        c.kex_init()
        t, p = c.recv_packet()  # the answer to KEXINIT + ECDH_INIT: not the ECDH reply
        assert t == rawssh.DISCONNECT, "server went on with the key exchange (message %d)" % t
        assert Reader(p, 1).u32() == PROTOCOL_ERROR


@pytest.mark.parametrize("before_kexinit", [True, False], ids=["before_kexinit", "during_kex"])
def test_non_strict_ignore_in_kex_is_fine(srv, before_kexinit):
    with versioned(srv) as c:
        if before_kexinit:
            c.send_packet(bytes([IGNORE]) + string("hello"))
        c.kexinit(strict=False)
        assert not c.strict
        if not before_kexinit:
            c.send_packet(bytes([IGNORE]) + string("hello"))
        c.kex()
        c.login(rawssh.load_private_key(srv.client_key))
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "non_strict"])
@pytest.mark.parametrize("with_ignore", [False, True], ids=["plain", "ignore_inside"])
def test_client_rekey_after_login(srv, strict, with_ignore):
    # RFC 4253 §9 re-exchange; §7.1 lets transport-generic messages (IGNORE) through
    # during it. Strict KEX restricts the initial exchange only (OpenSSH PROTOCOL §1.10 a),
    # its sequence number reset applies to every NEWKEYS (§1.10 b).
    with connected(srv, strict=strict, login=True) as c:
        sid = c.session_id
        c.kexinit(strict=strict)
        if with_ignore:
            c.send_packet(bytes([IGNORE]) + string("during rekey"))
        c.kex()
        assert c.session_id == sid and c.h != sid
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"


# -- message order
def test_channel_open_before_auth_disconnects(srv):
    with connected(srv) as c:
        c.service_request()
        c.send_packet(bytes([CHANNEL_OPEN]) + string("session") + u32(0) + u32(65536) + u32(32768))
        assert_disconnect(c, PROTOCOL_ERROR)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "non_strict"])
@pytest.mark.parametrize("msgtype", [192, 255, 70])
def test_unknown_message_gets_unimplemented(srv, strict, msgtype):
    # RFC 4253 §11.4: UNIMPLEMENTED carries the sequence number of the rejected packet
    with connected(srv, strict=strict, login=True) as c:
        for extra in range(2):
            seq = c.seq_out
            c.send_packet(bytes([msgtype]) + b"payload" * extra)
            p = c.expect(UNIMPLEMENTED)
            r = Reader(p, 1)
            assert r.u32() == seq
            assert r.pos == len(p)
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"


# -- connection protocol, RFC 4254
@pytest.mark.parametrize("kind,extra", [  # direct-tcpip is ussh.forward's (host_tests/test_forward.py)
    (b"x11", string("127.0.0.1") + u32(6000)),
    (b"nonsense@example.com", b""),
])
def test_unknown_channel_type_fails_open(srv, kind, extra):
    with connected(srv, login=True) as c:
        c.send_packet(bytes([CHANNEL_OPEN]) + string(kind) + u32(7) + u32(65536) + u32(32768)
                      + extra)
        r = Reader(c.expect(CHANNEL_OPEN_FAILURE), 1)
        assert r.u32() == 7  # our channel number
        assert r.u32() == 3  # SSH_OPEN_UNKNOWN_CHANNEL_TYPE, RFC 4254 §5.1
        r.string()
        r.string()
        assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"


@pytest.mark.parametrize("name,data", [
    (b"keepalive@openssh.com", b""),
    (b"tcpip-forward", string("127.0.0.1") + u32(0)),
    (b"no-more-sessions@openssh.com", b""),
])
def test_global_request_gets_request_failure(srv, name, data):
    with connected(srv, login=True) as c:
        c.send_packet(bytes([GLOBAL_REQUEST]) + string(name) + b"\x00" + data)  # no reply wanted
        c.send_packet(bytes([GLOBAL_REQUEST]) + string(name) + b"\x01" + data)
        assert c.expect(REQUEST_FAILURE) == bytes([REQUEST_FAILURE])
        ch = c.open_session()  # the next answer is for this, not for the first request
        assert c.exec(ch, "print(6*7)").stdout == b"42\n"


@pytest.mark.parametrize("name,data", [
    (b"keepalive@openssh.com", b""),
    (b"env", string("LANG") + string("C")),
    (b"x11-req", b"\x00" + string("MIT-MAGIC-COOKIE-1") + string("00") + u32(0)),
])
def test_channel_request_refused_with_channel_failure(srv, name, data):
    with connected(srv, login=True) as c:
        ours = c.next_channel
        ch = c.open_session()
        c.channel_request(ch, name, data, want_reply=False)
        c.channel_request(ch, name, data, want_reply=True)
        r = Reader(c.expect(CHANNEL_FAILURE), 1)
        assert r.u32() == ours
        res = c.exec(ch, "print(6*7)")
        assert res.events[0] == "success"
        assert res.stdout == b"42\n"


@pytest.mark.parametrize("cmd,stdout,status,stderr", [
    ("print(6*7)", b"42\n", 0, None),
    ("import sys\nprint('x')\nsys.exit(3)", b"x\n", 3, None),
    ("1/0", b"", 1, b"ZeroDivisionError"),
])
def test_exec_reply_eof_exit_status_close_order(srv, cmd, stdout, status, stderr):
    with connected(srv, login=True) as c:
        res = c.exec(c.open_session(), cmd)
        assert (res.stdout, res.status) == (stdout, status), res.stderr
        if stderr:
            assert stderr in res.stderr
        ev = [e for e in res.events if e != "window"]
        assert ev[0] == "success"  # the reply precedes any output
        assert ev[-1] == "close"
        assert ev.count("eof") == ev.count("exit-status") == ev.count("close") == 1
        assert ev.index("eof") < ev.index("close")
        assert ev.index("exit-status") < ev.index("close")
        assert all(ev.index("eof") > i for i, e in enumerate(ev) if e in ("data", "stderr"))
        # the channel is gone on both sides; a new one works on the same connection
        assert c.exec(c.open_session(), "print(1)").stdout == b"1\n"


def test_channel_success_reply_for_exec_then_data(srv):
    # want_reply exec: CHANNEL_SUCCESS names our channel number
    with connected(srv, login=True) as c:
        c.next_channel = 5
        ch = c.open_session()
        c.channel_request(ch, b"exec", string("print(2)"))
        r = Reader(c.expect(CHANNEL_SUCCESS), 1)
        assert r.u32() == 5
        assert struct.unpack(">I", c.expect(rawssh.CHANNEL_DATA)[1:5])[0] == 5


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_kex_message_outside_key_exchange_disconnects(ussh_server, runtime):
    # RFC 4253 §7: NEWKEYS (or a kex method message) after the exchange ended
    srv = ussh_server(runtime=runtime)
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.send_packet(bytes([21]))
        code, reason = c.expect_disconnect()
    assert code == 2 and "outside key exchange" in reason
    assert srv.ssh("print(6*7)").stdout == "42\n"
