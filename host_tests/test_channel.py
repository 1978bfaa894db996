"""ussh.channel (RFC 4254): opening, flow control both ways, requests, EOF and CLOSE, against the
in-memory client. Fast tier."""
from sshpair import Pair, config, of, s, text, u32


def test_open_refusals():
    p = Pair(config(max_channels=1))
    p.open()
    for kind, reason in ((b"session", 4), (b"direct-tcpip", 4), (b"x11", 3)):  # RFC 4254 §5.1 reason codes
        p.feed(b"\x5a" + s(kind) + u32(7) + u32(1000) + u32(1000))
        ev = p.events()
        assert ev[0][:3] == ("open-failure", 7, reason), ev


def test_output_respects_window_and_max_packet_then_waits_for_adjust():
    p = Pair()
    a = p.open(window=1000, max_packet=300)
    # the command's output (2000 bytes) needs the client's WINDOW_ADJUST half way
    p.script = [lambda: p.wire(b"\x5d" + u32(p.ids[a]) + u32(5000))]
    p.request(a, b"exec", b"print('x' * 1999)")
    ev = p.events()
    sizes = [len(e[2]) for e in ev if e[0] == "data"]
    assert max(sizes) <= 300 and sum(sizes) == 2000
    assert sum(sizes[:4]) == 1000  # all of the first window, then the wait
    assert of(ev, a)[-1] == ("close", a)


def test_window_given_back_once_half_is_used():
    p = Pair(config(window=4096))
    a = p.open()
    p.request(a, b"shell")
    p.events()
    p.feed(p.data(a, b"#" * 2047 + b"\n"))
    adj = [decode for decode in p.packets() if decode[0] == 93]
    assert len(adj) == 1 and adj[0][5:9] == u32(2048)
    b = p.open()  # nothing runs there: what comes stays in the window
    p.feed(p.data(b, b"x" * 4000), p.data(b, b"x" * 96))
    assert not p.conn.closed and p.events() == []
    p.feed(p.data(b, b"x"))  # one byte more than granted, RFC 4254 §5.2
    assert p.events() == [("disconnect", "channel window exceeded")]


# channel requests -> accepted
REQUESTS = (
    (b"env", s(b"LANG") + s(b"C"), False),
    (b"x11-req", b"\x00" + s(b"a") + s(b"b") + u32(0), False),
    (b"window-change", u32(100) + u32(40) + u32(0) + u32(0), True),
    (b"pty-req", s(b"vt100") + u32(80) + u32(24) + u32(0) + u32(0) + s(b""), True),
    (b"subsystem", s(b"nope"), False),
)


def test_requests_table():
    p = Pair()
    a = p.open()
    for name, data, ok in REQUESTS:
        p.feed(p.chreq(a, name, data))
        assert p.events() == [("success" if ok else "failure", a)], name
    assert p.conn.channels[p.ids[a]].pty == (b"vt100", 80, 24)  # the window change came before a pty


def test_second_start_on_a_channel_is_refused():
    p = Pair()
    a = p.open()
    p.request(a, b"shell")
    p.request(a, b"exec", b"1")
    assert p.events() == [("success", a), ("failure", a)]


def test_exec_status_stderr_and_close_order():
    p = Pair()
    a = p.open()
    p.request(a, b"exec", b"import sys; sys.stderr.write('e'); raise SystemExit(3)")
    ev = p.events()
    assert of(ev, a) == [("success", a), ("eof", a), ("exit", a, 3), ("close", a)]
    assert text(ev, a, ("stderr",)) == b"e"
    p.feed(p.close(a))
    assert p.conn.channels == {}


def test_close_of_a_channel_never_started_is_answered_at_once():
    p = Pair()
    a = p.open()
    p.feed(p.close(a))
    assert p.events() == [("close", a)] and p.conn.channels == {}


def test_stdin_then_eof_reach_an_exec():
    p = Pair()
    a = p.open()
    p.script = [p.wire(p.data(a, b"one\ntwo\n"), p.eof(a))]
    p.request(a, b"exec", b"import sys; print(sys.stdin.read().split())")
    assert text(p.events(), a) == b"['one', 'two']\n"


def test_message_for_an_unknown_channel_disconnects():
    p = Pair()
    p.feed(b"\x5e" + u32(9) + s(b"x"))
    assert p.events() == [("disconnect", "message for an unknown channel")]


def test_data_length_must_end_the_packet():
    p = Pair()
    a = p.open()
    p.feed(b"\x5e" + u32(p.ids[a]) + u32(5) + b"abc")
    assert p.events() == [("disconnect", "bad channel data length")]


class Clock:
    """A fake ticks_ms for channel and connection: each scripted step moves it on."""

    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t

    def __enter__(self):
        from ussh import channel, connection

        self.mods = (channel, connection)
        self.old = [getattr(m, "ticks_ms", None) for m in self.mods]
        for m in self.mods:
            m.ticks_ms = self
        return self

    def __exit__(self, *a):
        for m, f in zip(self.mods, self.old):
            m.ticks_ms = f


def test_send_timeout_bounds_the_total_wait_for_a_trickling_window():
    # a client that grants a byte of window every 0.4 s (under send_timeout=1 each time) is
    # dropped once the waits add up to send_timeout: it cannot hold the interpreter for long
    p = Pair(config(send_timeout=1))
    a = p.open(window=1)
    with Clock() as clock:

        def grant():
            clock.t += 400
            return p.wire(b"\x5d" + u32(p.ids[a]) + u32(1))

        p.script = [grant] * 30
        p.request(a, b"exec", b"print('x' * 19)")
    ev = p.events()
    assert p.conn.closed and p.log.has("client opened no window for 1 s")
    assert len(text(ev, a)) == 3 and len(p.script) == 27  # 1 + 2 bytes, then the third wait ends it


def test_waits_that_add_up_to_less_than_send_timeout_are_fine():
    p = Pair(config(send_timeout=5))
    a = p.open(window=1)
    with Clock() as clock:

        def grant():
            clock.t += 400
            return p.wire(b"\x5d" + u32(p.ids[a]) + u32(1))

        p.script = [grant] * 9
        p.request(a, b"exec", b"print('x' * 9)")
    assert text(p.events(), a) == b"x" * 9 + b"\n" and not p.conn.closed


def test_direct_tcpip_unknown_when_permit_open_none_and_refused_without_tcp():
    # permit_open "none": the channel type is not even offered (RFC 4254 §5.1 reason 3);
    # with the default, the sans-IO core without a driver that opens TCP refuses it (reason 1)
    req = s(b"127.0.0.1") + u32(80) + s(b"127.0.0.1") + u32(40000)
    for cfg, reason in ((config(permit_open="none"), 3), (config(), 1)):
        p = Pair(cfg)
        p.feed(b"\x5a" + s(b"direct-tcpip") + u32(7) + u32(1000) + u32(1000) + req)
        ev = p.events()
        assert ev[0][:3] == ("open-failure", 7, reason), ev


def test_channel_on_a_fragmented_heap_gets_a_smaller_window():
    # a heap with room but no free run a window long: the channel is made with a smaller
    # window (its buffers that large) instead of the session failing with "out of memory"
    from ussh import channel

    real = channel.Channel.__init__

    def tight(self, conn, local_id, remote_id, window, max_packet, grant=0):
        if (grant or conn.cfg.window) > 4096:
            raise MemoryError("no free run that long")
        real(self, conn, local_id, remote_id, window, max_packet, grant)

    channel.Channel.__init__ = tight
    try:
        p = Pair(config(window=65536))
        a = p.open()
    finally:
        channel.Channel.__init__ = real
    ch = p.conn.channels[p.ids[a]]
    assert ch.grant == 4096 and len(ch.inbuf) == 0
    p.script = [p.wire(p.data(a, b"x" * 3000 + b"\n"), p.eof(a))]  # within the smaller window
    p.request(a, b"exec", b"print(len(input()))")
    assert text(p.events(), a) == b"3000\n"


def test_output_never_grows_the_channels_buffers_past_a_packet():
    # a board's heap may have no free run longer than a packet mid-session: output longer than
    # that goes out in pieces through the two buffers made when the channel opened
    p = Pair(config(channel_max_packet=1024, window=4096))
    a = p.open()
    ch = p.conn.channels[p.ids[a]]
    bufs = [id(ch.outbuf), id(ch.spare), id(ch.pkt)]
    seen = []
    real = ch.flush

    def flush():
        seen.append(len(ch.outbuf))
        real()

    ch.flush = flush
    ch.out(b"x" * 700)
    ch.out(b"y" * 5000)
    ch.out(b"z" * 10)
    ch.flush()
    assert seen and max(seen) <= 1024, seen
    assert sorted([id(ch.outbuf), id(ch.spare), id(ch.pkt)]) == sorted(bufs)
    assert text(p.events(), a) == b"x" * 700 + b"y" * 5000 + b"z" * 10


def test_channel_whose_buffers_find_no_room_gets_the_smallest_window_whose_buffers_grow():
    # a heap with no room for the buffers at the open: at the smallest window (1 KB, a heap at
    # its limit) they are not made whole but grow as the data comes, as small as it is
    from ussh import channel

    real = channel._empty

    def full(n):
        raise MemoryError("no free run")

    channel._empty = full
    try:
        p = Pair(config(channel_max_packet=1024, window=4096))
        a = p.open()
    finally:
        channel._empty = real
    ch = p.conn.channels[p.ids[a]]
    assert ch.grant == 1024 and p.log.has("channel window 1024 B"), p.log
    assert (len(ch.taken), ch.spare) == (0, None)  # nothing made: the heap is as it was
    p.script = [p.wire(p.data(a, b"x" * 900 + b"\n"), p.eof(a))]
    p.request(a, b"exec", b"print(len(input()))")
    assert text(p.events(), a) == b"900\n"
