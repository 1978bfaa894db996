"""ussh.transport (RFC 4253 §4.2 version line, §6 binary packets): framing without keys, with
encrypt-then-MAC and encrypt-and-MAC, and what each malformed input is refused with. Fast tier."""
from sshpair import raises
from ussh import wire
from ussh.crypto import AESCTR, HMACSHA256
from ussh.transport import Transport, ct_equal
from ussh.wire import SSHError

# version line -> accepted line, or the reason it is refused (RFC 4253 §4.2)
VERSIONS = (
    (b"SSH-2.0-OpenSSH_9.9\r\n", b"SSH-2.0-OpenSSH_9.9"),
    (b"SSH-2.0-x comment\n", b"SSH-2.0-x comment"),
    (b"SSH-1.99-old\r\n", b"SSH-1.99-old"),
    (b"SSH-1.5-ancient\r\n", "protocol version not supported"),
    (b"GET / HTTP/1.1\r\n", "not an SSH client"),
    (b"SSH-2.0-" + b"x" * 300, "not an SSH client"),
)


def keyed(etm=True):
    # two transports with the same keys: a's output is b's input
    a, b = Transport(), Transport()
    k, iv, m = b"k" * 16, b"i" * 16, b"m" * 32
    a.set_out(AESCTR(k, iv), HMACSHA256(m), 32, etm)
    b.set_in(AESCTR(k, iv), HMACSHA256(m), 32, etm)
    return a, b


def test_version_lines():
    for line, want in VERSIONS:
        t = Transport()
        t.feed(line)
        if isinstance(want, bytes):
            assert t.read_version() == want
        else:
            e = raises(SSHError, t.read_version)
            assert e.reason == want and e.code == wire.DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED


def test_version_line_in_pieces_waits():
    t = Transport()
    t.feed(b"SSH-2.0-")
    assert t.read_version() is None and t.wanted() == 1
    t.feed(b"a\r\nrest")
    assert t.read_version() == b"SSH-2.0-a" and bytes(t.rbuf) == b"rest"


def test_packets_round_trip_plain_etm_and_eam_byte_by_byte():
    payloads = [b"\x05" + wire.string(b"ssh-userauth"), b"x", bytes(1000), bytes(range(256)) * 3]
    for make in (lambda: (Transport(), Transport()), lambda: keyed(True), lambda: keyed(False)):
        a, b = make()
        b.peer_version = b"SSH-2.0-x"
        data = b"".join([bytes(a.pack(p)) for p in payloads])
        got = []
        for i in range(len(data)):  # one byte at a time: every partial state
            b.feed(data[i : i + 1])
            p = b.read_packet()
            if p is not None:
                got.append(p)
        assert got == payloads
        assert a.seq_out == b.seq_in == len(payloads)
        assert a.bytes_out == b.bytes_in == len(data)


def test_packet_padding_and_alignment():
    for etm in (None, True, False):
        a = Transport() if etm is None else keyed(etm)[0]
        for n in range(40):
            pkt = a.pack(bytes(n))
            mac = 0 if etm is None else 32
            body = len(pkt) - mac - (4 if etm else 0)
            assert body % (8 if etm is None else 16) == 0
            if etm is None:
                assert 4 <= pkt[4] < 4 + 8  # §6: at least 4 bytes of padding


def test_refusals():
    # a packet over the limit, a length not a multiple of the block, bad padding, a bad MAC
    t = Transport(1000)
    t.feed(wire.u32(5000) + bytes(8))
    assert "over the limit" in raises(SSHError, t.read_packet).reason
    t = Transport()
    t.feed(wire.u32(13) + bytes(13))
    assert "bad packet length" in raises(SSHError, t.read_packet).reason
    t = Transport()
    t.feed(wire.u32(12) + b"\x0c" + bytes(11))
    assert "bad padding" in raises(SSHError, t.read_packet).reason
    a, b = keyed()
    pkt = bytearray(a.pack(b"hello"))
    pkt[-1] ^= 1
    b.feed(pkt)
    e = raises(SSHError, b.read_packet)
    assert e.code == wire.DISCONNECT_MAC_ERROR


def test_wanted_asks_for_the_rest_of_the_packet_only():
    a, b = Transport(), Transport()
    b.peer_version = b"SSH-2.0-x"
    pkt = bytes(a.pack(bytes(20)))
    assert b.wanted() == 4
    b.feed(pkt[:4])
    assert b.wanted() == len(pkt) - 4
    b.feed(pkt[4:])
    assert b.read_packet() == bytes(20) and b.wanted() == 4


def test_ct_equal():
    assert ct_equal(b"abc", b"abc") and not ct_equal(b"abc", b"abd") and not ct_equal(b"ab", b"abc")


def test_reserve_makes_the_receive_buffer_and_data_copy_at_the_start():
    # a board's budget: both made now, the receive buffer empty (its room kept); channel data
    # then comes as a view of the copy, which a packet within the reserve does not replace
    t = Transport(35000, 4160, copy_data=True)
    assert len(t.rbuf) == 0 and len(t.pbuf) == 4160
    pbuf = t.pbuf
    a = Transport()
    a.peer_version = t.peer_version = b"SSH-2.0-x"
    data = b"\x5e" + bytes(4) + b"d" * 4000
    t.feed(a.pack(data))
    p = t.read_packet()
    assert bytes(p) == data and t.pbuf is pbuf and not t.rbuf
    # without copy_data each payload is its own bytes, and nothing is made ahead
    u = Transport(35000, 0)
    assert u.pbuf is None and len(u.rbuf) == 0
    u.peer_version = b"SSH-2.0-x"
    u.feed(a.pack(data))
    assert u.read_packet() == data


def test_kexinit_comes_as_a_view_of_the_data_copy():
    # a client's KEXINIT (1.5 KB from OpenSSH) lands in the reused copy too, as channel data
    # does: ussh.kex.exchange hashes and parses it at once and keeps none of it; on a 110 KB
    # board a fresh 1.5 KB bytes for it found no free run
    t = Transport(35000, 1600, copy_data=True)
    pbuf = t.pbuf
    a = Transport()
    a.peer_version = t.peer_version = b"SSH-2.0-x"
    kexinit = b"\x14" + b"k" * 1500
    t.feed(a.pack(kexinit))
    p = t.read_packet()
    assert isinstance(p, memoryview) and bytes(p) == kexinit and t.pbuf is pbuf
    # any other message is its own bytes
    t.feed(a.pack(b"\x05" + b"s" * 20))
    p = t.read_packet()
    assert isinstance(p, bytes) and p == b"\x05" + b"s" * 20


def test_padding_is_random_drawn_a_pool_at_a_time_and_never_reused():
    # a DRBG call per packet cost a board 180,000 instructions each: the padding comes out of a
    # pool of random bytes drawn at once, each byte used by one packet only
    from ussh import transport

    pools = []

    def drawn(buf):  # refilled in place: no new pool mid-session on a board's cut-up heap
        pools.append(bytes((len(pools) * 7 + 3 * i) & 255 for i in range(len(buf))))
        buf[:] = pools[-1]

    real, transport.random_into = transport.random_into, drawn  # (no monkeypatch: check_mp runs it too)
    try:
        t = Transport()
        pads = []
        for i in range(40):
            pkt = t.pack(b"\x02" + bytes(i))
            pad = pkt[4]
            assert pad >= 4 and len(pkt) % 8 == 0
            pads.append(bytes(pkt[len(pkt) - pad :]))
    finally:
        transport.random_into = real
    assert 1 <= len(pools) < 10, [len(p) for p in pools]
    # the pads, in order, are each pool's bytes one after another: none used twice
    k = pos = 0
    for pad in pads:
        if pools[k][pos : pos + len(pad)] != pad:
            k, pos = k + 1, 0
        assert pools[k][pos : pos + len(pad)] == pad, (k, pos, pad)
        pos += len(pad)
    assert k == len(pools) - 1
