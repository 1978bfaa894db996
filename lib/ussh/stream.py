# The blocking driver: one SSH connection over a byte stream (a UART, a pipe,
# a blocking socket), for ports without asyncio, select, socket or time (the
# qemu Cortex-M3 port). It and the asyncio server share driver.pump.
# Without a clock there is no login grace time: a client that connects and
# then says nothing holds the stream until another client starts.
import gc
import sys

from ussh.compat import const, print_exception
from ussh import ecdh
from ussh.connection import Connection
from ussh.driver import KEX, LOGIN, in_heap, pump, unload, warm  # noqa: F401 (unload: ussh.stream's API)
from ussh.crypto import rand
from ussh.wire import DISCONNECT_BY_APPLICATION, refusal

_SSH = b"SSH-"  # RFC 4253 §4.2: how the client's version line starts


def serve_stream(read, write, cfg, ready=None, peer="stream", one_session=False, pending=b""):
    """Serves one SSH connection over a byte stream, to its end, and returns
    the Connection (its `user`, `peer_version`).

    read(n) blocks until at least one byte is there and returns at most n
    (b"" at the end of the stream); this driver asks only for bytes the
    client has sent or is sending: the rest of the version line or packet.
    write(b) writes all of b. ready(), optional, says whether read would
    return at once: with it, a command that prints without reading still
    sees Ctrl-C and the client's window. cfg: a Config (make_config).
    pending: bytes already read from the stream (serve_forever passes on
    what the previous connection did not use).

    Nothing is sent until the client's version line starts (SSH clients
    send it without waiting): a UART has no "connected" signal, what is
    written before a client listens is lost, and bytes before "SSH-" (the
    last packets of the previous client) are skipped. Nor does a UART tell
    when the client went away: one_session=True ends the connection once a
    session channel was opened and every channel has been closed on our
    side (what the client sends after our CLOSE is not waited for); and a
    version line where a packet should start ends the connection silently,
    as a new client (the previous one went away unannounced)."""
    rand.require()
    warm(cfg)  # idle until the client's first byte; a corrupt host key raises KeyFileError here
    # idle until the client's first byte too (ussh.ecdh), and made before this connection's objects:
    # a pair made for a connection that then saw no client (a host's hang-up after the previous
    # one: OpenSSH's and asyncssh's leave after the board ended the session) waits for the next,
    # held through the collection between them; made after this connection's buffers it stayed
    # in the middle of the free heap (the soak's largest free block 3 KB short after such sessions)
    ecdh.prepare_ephemeral()
    conn = Connection(cfg, peer)
    t = conn.transport

    def send():
        q = conn.outq
        if conn.closed and t.rbuf[:4] == _SSH:
            # a new client's version line: what we would say is not for it
            q[:] = []
            return
        while q:
            write(q.pop(0))

    def recv(block):
        if not block and not (ready and ready()):
            return None
        b = read(t.wanted())
        if len(b) >= 4 and b[:4] == _SSH and not t.rbuf and t._head is None and conn.peer_version is not None:
            # a version line where a packet starts: a new client (the previous one went away
            # unannounced). Checked before the transport decrypts the bytes (a cipher without
            # encrypt-then-MAC would turn them into a bad length), so that they stay for the new
            # connection; a packet whose first ciphertext bytes are "SSH-" (1 in 2**32) would
            # end this one.
            conn.lost("a new client started")
            t.rbuf[:] = b
            return None
        return b

    conn.pump = lambda block: pump(conn, send, recv, block)
    try:
        m = 0
        while m < 4:
            if pending:
                c, pending = pending[0], pending[1:]
            else:
                b = read(1)
                if not b:
                    # not a connection yet, and a host's hang-up (Link) ends here after every client
                    conn.closed = True
                    return conn
                c = b[0]
            m = m + 1 if c == _SSH[m] else int(c == _SSH[0])
        conn.log("connected")
        conn.feed(_SSH + pending)
        opened = False
        keyed = login = True
        while not conn.closed:
            conn.stall = 0  # send_timeout counts per turn, as the asyncio server's
            pump(conn, send, recv, True)
            if keyed and conn.session_id is not None:
                # the key exchange's protocol, loaded from a file (a frozen one stays: in_heap),
                # goes once the session id is made: the session has its room (the 110 KB board's
                # upload); a re-key, or the next connection's KEXINIT, imports it again
                keyed = False
                unload(in_heap(KEX))
            if login and conn.user is not None:
                login = False  # the login's code, imported at its first message, goes with it
                unload(LOGIN)
            if one_session:
                chans = conn.channels
                opened = opened or bool(chans)
                if opened and not [c for c in chans.values() if not c.closed_out]:
                    # no DISCONNECT: a client that has its exit status would report it as an error
                    conn.lost("session closed")
    except MemoryError as e:
        # the client is told (it would wait for its reply forever: a UART cannot hang up), once
        # the session's state and modules are gone (Connection.out_of_memory)
        try:
            unload(cfg.unload)
            conn.out_of_memory(garble=True)
            q = conn.outq
            while q:
                write(q.pop(0))
        except Exception:
            conn.lost("out of memory")
        try:  # then the owner: the budget exceeded, where (the budget's module needs room too)
            gc.collect()
            from ussh import budget

            conn.log("out of memory: over the %s" % budget.describe(cfg, budget.free_heap()))
            print_exception(e, sys.stderr)  # where: the console is the board's owner's
        except Exception:
            pass
    except KeyboardInterrupt:
        # a Ctrl-C meant for user code that landed in ussh's own
        conn.lost("interrupted")
    except OSError as e:
        conn.lost("stream error %s" % e)
    except Exception as e:  # a bug in ussh ends this connection only
        conn.disconnect(DISCONNECT_BY_APPLICATION, "internal error")
        conn.log("internal error: %r" % e)
        print_exception(e, sys.stderr)
        try:
            send()
        except Exception:
            pass
    if t.rbuf[:4] == _SSH:
        conn.log("a new client started: the previous one went away")
    return conn


# A UART cannot hang up. A host that joins clients to the board's UART one after another (the
# emulators' bridges, tools/qemu.py) sends HANGUP + token + b"\n" once a client has left; the
# board then ends that client's connection wherever it was (in a packet, in a command's output)
# and answers HUNG_UP + token + b"\n" once nothing more of it will be written, so the host drops
# the board's output up to that line and the next client meets a clean stream. Binary, so that
# no version line or name-list holds them; inside ciphertext, 1 in 2**96 per position.
HANGUP = b"\xff\x00ussh-hangup\x00\xff"
HUNG_UP = b"\xff\x00ussh-hung-up "
_TOKEN = const(32)  # the most of a token read
_LOOK = const(64)  # a read's last bytes that may hold a hang-up line: HANGUP, token, b"\n"


class Link:
    """read, write and ready of a byte stream, for serve_stream, that also
    understand the host's hang-up line (HANGUP): from it on, read returns
    b"" (the connection ends as if the peer closed it) until after() has
    written the answer. Boards serving on a UART use it."""

    def __init__(self, read, write, ready=None):
        self._read, self.write, self._ready = read, write, ready
        # the last bytes read, for a HANGUP split over two reads: kept in one buffer made here, so
        # that nothing a connection read outlives it (a new object for them, made wherever that
        # read's buffers lay, stayed in the middle of the freed heap until the next read: the
        # emulated board's largest free block 11,920 instead of 21,920 B between sessions)
        self._tail = bytearray(len(HANGUP) - 1)
        self._n = 0  # of its bytes in use
        self.token = None  # set once a HANGUP was read: what follows it, up to b"\n"

    def ready(self):
        return self.token is not None or (self._ready is not None and self._ready())

    def read(self, n):
        if self.token is not None:
            return b""
        b = self._read(n)
        k = len(b)
        if not k:
            return b
        if k <= len(HANGUP):
            got = bytes(b)
            if k >= 4 and HANGUP[:k] == got:
                # where a packet's length goes (a reader asking for exactly 4 bytes): read on to
                # tell. Either the hang-up, or a length over any limit (with encrypt-then-MAC
                # the length is plain) that ends the connection anyway; without it, 1 in 2**32.
                while len(got) < len(HANGUP) and HANGUP[: len(got)] == got:
                    more = self._read(len(HANGUP) - len(got))
                    if not more:
                        break
                    got += bytes(more)
                b = got
        else:
            # nothing follows the hang-up line until it is answered: it ends a read, so only a
            # read's last bytes are looked at (no copy of the packet: a board's heap is small)
            got = bytes(b[k - _LOOK :] if k > _LOOK else b)
        n = self._n
        seen = bytes(self._tail[:n]) + got if n else got
        i = seen.find(HANGUP)
        if i < 0:
            # kept: what may start a hang-up line, from the last 0xff among the last bytes (the
            # first byte is HANGUP's only 0xff before its last): mostly nothing to keep
            j = seen.rfind(b"\xff", max(0, len(seen) - len(HANGUP) + 1))
            self._n = n = len(seen) - j if j >= 0 else 0
            if n:
                self._tail[:n] = seen[j:]
            return b
        rest = seen[i + len(HANGUP) :]
        while b"\n" not in rest and len(rest) < _TOKEN:
            more = self._read(1)
            if not more:
                break
            rest += bytes(more)
        self.token = rest[: rest.find(b"\n")] if b"\n" in rest else rest[:_TOKEN]
        self._n = 0
        return b""

    def after(self):
        """Called once the connection ended: answers a hang-up, if one came,
        and returns whether one did."""
        if self.token is None:
            return False
        self.write(HUNG_UP + self.token + b"\n")
        self.token = None
        return True


def serve_forever(read, write, cfg, ready=None, peer="stream", one_session=True, once=False, before=None,
                  after=None, hangups=True):
    """serve_stream, one connection after another, until the stream ends
    (read returns b""; a UART never does) or, once=True, after one,
    answering the host's hang-ups (Link). The boards' loop: before()
    (after a collection) and after(), optional, run around each connection;
    a connection that runs out of memory outside serve_stream's own guard
    is turned away (_turn_away) and the next one served. hangups: whether
    the host answers each client's leaving with a hang-up line (the
    emulators' bridges do; a UART to a plain serial adapter does not)."""
    end = []

    def rd(n):
        b = read(n)
        if not b:
            end.append(1)
        return b

    sent = [0]  # writes of the current connection: once it wrote, a client is inside its session

    def wr(b):
        sent[0] += 1
        write(b)

    link = Link(rd, write, ready)
    pending = b""
    while not end:
        gc.collect()  # the last connection's buffers and state go before the next one's come
        if before:
            before()
        sent[0] = 0
        try:
            pending = _one(link, wr, cfg, link.ready if ready else None, peer, one_session, pending)
        except MemoryError as e:  # outside serve_stream's own guard (starting a connection)
            pending = b""
            gc.collect()
            print("ussh: out of memory starting a connection")
            try:
                print_exception(e, sys.stderr)  # where: the console is the board's owner's
            except MemoryError:
                pass
            _turn_away(link, write, not sent[0], hangups)
        except OSError as e:  # a hang-up's answer not written (a board's write bound): the next is answered
            pending = b""
            link.token = None
            print("ussh: %s: %s" % (peer, e))
        if after:
            after()
        if once:
            break


def _one(link, write, cfg, ready, peer, one_session, pending):
    # One connection, in a frame of its own: once it returned, no slot of serve_forever's frame
    # still points at the connection's objects (MicroPython's collector scans the stack
    # conservatively and the VM leaves popped values in a frame's slots), so the gc.collect()
    # before the next one frees all of it, every time; the heap after each connection is the same.
    # Returns a new client's first bytes: only a connection that had read its own version line
    # can hold them (serve_stream's recv). Before that, an "SSH-" left in its buffer is its own
    # client's (a write failed before the line was whole): passed on, the next connection would
    # start on it without reading, fail the same write, and so on for ever.
    conn = serve_stream(link.read, write, cfg, ready, peer, one_session, pending)
    rbuf = conn.transport.rbuf
    if link.after() or conn.peer_version is None or not rbuf:
        return b""  # the empty bytes: no new object, made among this connection's, for the next
    return bytes(rbuf)


def _turn_away(link, write, fresh, hangups):
    # A connection that could not start: once a client is there (its first byte; no spinning
    # meanwhile), our version line and a DISCONNECT "out of memory" in the clear (RFC 4253 §11.1,
    # before any key exchange). Without it the client waits for a version line that never comes.
    # A connection that had written (fresh false: out of memory outside the guard, inside a
    # session) gets no second version line in its encrypted stream. Where the host hangs up
    # (hangups), the client's bytes are then dropped up to the hang-up, answered; elsewhere the
    # next serve_stream skips them up to the next client's "SSH-" (a read here for a client that
    # had written would take the first byte of that line).
    if (fresh or hangups) and link.read(1):
        try:
            if fresh:
                write(refusal(DISCONNECT_BY_APPLICATION, b"out of memory"))
        except Exception:  # no room even for that: the client gets no answer
            pass
        while hangups and link.read(64):
            pass
    link.after()
