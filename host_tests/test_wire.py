"""ussh.wire (RFC 4251 §5 data types): encoders and the bounds-checked Reader, table-driven, with
RFC 4251's own mpint examples. Fast tier: CPython (pytest) and the unix port (check_mp.py)."""
from sshpair import raises
from ussh import wire
from ussh.wire import Reader, SSHError

# RFC 4251 §5: value -> mpint encoding
MPINTS = (
    (0, b"\x00\x00\x00\x00"),
    (0x9A378F9B2E332A7, b"\x00\x00\x00\x08\x09\xa3\x78\xf9\xb2\xe3\x32\xa7"),
    (0x80, b"\x00\x00\x00\x02\x00\x80"),
    (-0x1234, b"\x00\x00\x00\x02\xed\xcc"),
    (-0xDEADBEEF, b"\x00\x00\x00\x05\xff\x21\x52\x41\x11"),
)

# (encoder, value, bytes, reader method)
CODECS = (
    (wire.byte, 7, b"\x07", "byte"),
    (wire.boolean, True, b"\x01", "boolean"),
    (wire.boolean, False, b"\x00", "boolean"),
    (wire.u32, 0xDEADBEEF, b"\xde\xad\xbe\xef", "u32"),
    (wire.string, b"testing", b"\x00\x00\x00\x07testing", "string"),
    (wire.string, b"", b"\x00\x00\x00\x00", "string"),
    (wire.namelist, [b"zlib", b"none"], b"\x00\x00\x00\x09zlib,none", "namelist"),
    (wire.namelist, [], b"\x00\x00\x00\x00", "namelist"),
)

# malformed input -> the reader call that must refuse it
MALFORMED = (
    (b"", "byte"),
    (b"\x00\x00\x00", "u32"),
    (b"\x00\x00\x00\x05abcd", "string"),  # shorter than its length
    (b"\xff\xff\xff\xffab", "string"),
    (b"\x00\x00\x00\x02\xc3\x28", "text"),  # not UTF-8
    (b"\x00\x00\x00\x00\x00\x00\x00", "u64"),
)


def test_codecs_round_trip():
    for enc, value, data, method in CODECS:
        assert enc(value) == data, (enc, value)
        r = Reader(data)
        assert getattr(r, method)() == value, (method, data)
        r.done()


def test_mpint_rfc4251_examples():
    for value, data in MPINTS:
        if value >= 0:
            assert wire.mpint(value) == data, value
        r = Reader(data)
        assert r.mpint() == value
        r.done()


def test_mpint_bytes_strips_zeros_and_keeps_the_sign_positive():
    assert wire.mpint_bytes(b"\x00\x00\x01\x02") == b"\x00\x00\x00\x02\x01\x02"
    assert wire.mpint_bytes(b"\x80\x01") == b"\x00\x00\x00\x03\x00\x80\x01"
    assert wire.mpint_bytes(bytes(32)) == b"\x00\x00\x00\x00"


def test_malformed_fields_raise_sshError():
    for data, method in MALFORMED:
        e = raises(SSHError, getattr(Reader(data), method))
        assert e.code == wire.DISCONNECT_PROTOCOL_ERROR and e.reason


def test_done_refuses_trailing_bytes_and_bounds_hold_at_end():
    r = Reader(b"\x00\x00\x00\x01xy", 0, 5)
    assert r.string() == b"x"
    r.done()  # end=5: the trailing y is outside
    r = Reader(b"\x00\x00\x00\x01xy")
    r.string()
    assert "trailing" in raises(SSHError, r.done).reason
    assert Reader(b"abc", 1).rest() == b"bc"


def test_printable_and_wipe():
    assert wire.printable(b"ok\x00\xff\n") == "ok???"
    b = bytearray(b"secret")
    wire.wipe(b)
    assert b == bytearray(6)


def test_disconnect_payload_reads_back_field_by_field():
    # RFC 4253 §11.1: byte 1, uint32 reason code, string description, string language tag
    p = wire.disconnect(wire.DISCONNECT_BY_APPLICATION, b"out of memory")
    r = Reader(p)
    assert r.byte() == 1
    assert r.u32() == 11
    assert r.string() == b"out of memory"
    assert r.string() == b""
    r.done()


def test_refusal_is_our_identification_then_a_plain_disconnect_packet():
    # RFC 4253 §4.2, §6: a version line, then a packet whose length and padding frame the
    # DISCONNECT, a multiple of 8 bytes in all with 4 or more of padding (no keys, no MAC)
    for reason in (b"out of memory", "too many connections", b"x" * 8):
        got = wire.refusal(wire.DISCONNECT_TOO_MANY_CONNECTIONS, reason)
        line, _, pkt = got.partition(b"\r\n")
        assert line == wire.ident() and line.startswith(b"SSH-2.0-ussh_")
        r = Reader(pkt)
        n = r.u32()
        pad = r.byte()
        assert n == len(pkt) - 4 and len(pkt) % 8 == 0 and pad >= 4
        r = Reader(pkt[5 : 4 + n - pad])
        assert (r.byte(), r.u32()) == (1, 12)
        assert r.string() == (reason if isinstance(reason, bytes) else reason.encode())
        assert r.string() == b""
        r.done()
