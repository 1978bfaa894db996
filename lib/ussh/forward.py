# Port forwarding on the server side, RFC 4254 §7.2: a client's direct-tcpip
# channel (ssh -L) joined to a TCP connection the board opens. Allowed to the
# board itself by default (Config.permit_open, as sshd's PermitOpen); an
# authorized_keys line's restrict or no-port-forwarding refuses it, its
# permitopen="host:port" options narrow it, and so does a certificate without
# permit-port-forwarding. An optional module, imported at the first request.
# The asyncio driver opens the connection (conn.open_tcp, ussh.server) and
# run() moves the bytes: each direction holds at most one channel window,
# the client's window given back only once the service has taken the bytes.
import struct

from ussh import channel
from ussh._compat_rare import open_tcp
from ussh.compat import asyncio, const
from ussh.wire import SSHError

_OPEN_ADMINISTRATIVELY_PROHIBITED = const(1)  # RFC 4254 §5.1
_OPEN_CONNECT_FAILED = const(2)
_MSG_CHANNEL_DATA = const(94)
_MSG_CHANNEL_EOF = const(96)
_MSG_CHANNEL_CLOSE = const(97)
_READ = const(16384)  # the most read from the service at once


def allowed(words, host, port):
    """Whether host:port is one of words (a PermitOpen value: "any", or
    host:port words with * for any host or any port, [v6]:port)."""
    for w in words.split():
        if w == "any":
            return True
        i = w.rfind(":")
        if i < 0:
            continue
        h, p = w[:i], w[i + 1 :]
        if h[:1] == "[" and h[-1:] == "]":
            h = h[1:-1]
        if (h == "*" or h.lower() == host.lower()) and (p == "*" or p == str(port)):
            return True
    return False


class Forward(channel.Channel):
    """A direct-tcpip channel: no program runs on it, so it ends with EOF
    and CLOSE only, never an exit status."""

    def finish(self, status=0):
        if self.closed_out:
            return
        c = self.conn
        if not self.closed_in and not self.eof_out:
            c.send(struct.pack(">BI", _MSG_CHANNEL_EOF, self.remote_id))
        c.send(struct.pack(">BI", _MSG_CHANNEL_CLOSE, self.remote_id))
        self.closed_out = True
        if self.closed_in:
            c.channels.pop(self.id, None)
        if self.wake:
            self.wake()

    eof_out = False
    programs = False  # its buffers: the client's bytes only (ussh.channel)


def request(conn, r, remote_id, window, max_packet):
    """channel.channel_open for direct-tcpip: (reason, text) to refuse, or
    None once the channel waits for its TCP connection."""
    host = r.string()
    port = r.u32()
    r.string()  # the originator's address and port: nothing to check them against
    r.u32()
    r.done()
    try:
        host = host.decode()
    except UnicodeError:
        raise SSHError("direct-tcpip host is not text")
    dest = "%s:%d" % (host, port)
    svc = conn.cfg.reg.services.get(host)  # a name served in the board (ussh.rawrepl's "repl")
    why = None
    if conn.no_forward:
        why = "port forwarding is not permitted for this key"
    elif conn.permitopen is not None and not allowed(" ".join(conn.permitopen), host, port):
        why = "%s is not in the key's permitopen" % dest
    elif svc:
        return _service(conn, svc, dest, remote_id, window, max_packet)
    elif not allowed(conn.cfg.permit_open, host, port):
        why = "forwarding to %s is not permitted (permit_open)" % dest
    elif conn.open_tcp is None:
        why = "this board's SSH driver has no TCP"
    if why:
        conn.log("forward to %s refused: %s" % (dest, why))
        return _OPEN_ADMINISTRATIVELY_PROHIBITED, why
    conn.log("forward to %s" % dest)
    conn.open_tcp(channel.add(conn, Forward, remote_id, window, max_packet), host, port)
    return None


def _service(conn, name, dest, remote_id, window, max_packet):
    # a reserved destination (Registry.services): the key may forward and runs no forced
    # command (what it reaches runs Python, as exec does); permit_open is about TCP only
    if conn.forced is not None:
        why = "%s is not permitted with a forced command" % dest
    else:
        try:
            mod = __import__(name, None, None, ("start",))
        except ImportError:
            mod = None
            why = "%s is not installed on this board" % dest
    if conn.forced is not None or mod is None:
        conn.log("forward to %s refused: %s" % (dest, why))
        return _OPEN_ADMINISTRATIVELY_PROHIBITED, why
    mod.start(conn, remote_id, window, max_packet)
    return None


async def run(conn, ch, host, port, flush):
    """The driver's task for forward channel ch: connects to host:port,
    confirms or refuses the channel, then moves bytes both ways until either
    side ends. flush() is the driver's coroutine that sends conn's output.
    Whatever ends it ends this channel only."""
    try:
        await _run(conn, ch, host, port, flush)
    except (OSError, MemoryError) as e:  # the SSH connection's socket went, or the heap
        conn.log("forward to %s:%d ended: %s" % (host, port, e))


async def _run(conn, ch, host, port, flush):
    try:
        reader, writer = await open_tcp(host, port)
    except (OSError, MemoryError) as e:
        conn.channels.pop(ch.id, None)
        conn.log("forward to %s:%d: connect failed: %s" % (host, port, e))
        channel.refuse(conn, ch.remote_id, _OPEN_CONNECT_FAILED, "connect to %s:%d failed" % (host, port))
        return await flush()
    up, down = asyncio.Event(), asyncio.Event()

    def wake():
        up.set()
        down.set()

    ch.wake = wake
    channel.confirm(ch)
    await flush()
    task = asyncio.create_task(_to_client(conn, ch, reader, down, flush))
    try:
        await _to_service(conn, ch, writer, up, flush)
    except (OSError, MemoryError) as e:
        conn.log("forward to %s:%d ended: %s" % (host, port, e))
    task.cancel()  # it may wait for the service's bytes: nobody takes them now
    try:
        await task
    except BaseException:  # noqa: B036 -- its CancelledError, or the error that ended it
        pass
    writer.close()
    await writer.wait_closed()  # MicroPython's streams close their socket only here
    if not conn.closed:
        ch.finish()
        await flush()


async def _to_client(conn, ch, reader, ev, flush):
    # the service's bytes as CHANNEL_DATA within the client's window (RFC 4254 §5.2); its own
    # task, so what ends it (the service's close or reset) is handled here
    try:
        while not (ch.closed_in or ch.closed_out or conn.closed):
            n = min(ch.remote_window, ch.remote_max, _READ)
            if n <= 0 or conn.rekeying():
                ev.clear()
                await ev.wait()
                continue
            data = await reader.read(n)
            if not data or ch.closed_in or ch.closed_out or conn.closed:
                break
            conn.send(struct.pack(">BII", _MSG_CHANNEL_DATA, ch.remote_id, len(data)) + data)
            ch.remote_window -= len(data)
            await flush()
    except (OSError, MemoryError) as e:  # the service reset the connection, or the heap
        conn.log("forward: the service's end: %s" % e)
    if not conn.closed:
        ch.finish()  # EOF and CLOSE, and the other task ends
        try:
            await flush()
        except OSError:
            pass


async def _to_service(conn, ch, writer, ev, flush):
    # the client's bytes to the service; the window goes back once it took them
    half = False
    while not (ch.closed_in or ch.closed_out or conn.closed):
        if ch.inbuf:
            data = bytes(ch.inbuf)
            ch.inbuf[:] = b""
            writer.write(data)
            await writer.drain()
            ch.consumed(len(data))
            await flush()
            continue
        if ch.eof_in and not half and hasattr(writer, "write_eof"):
            writer.write_eof()  # half-close: the service still answers (CPython's streams)
            half = True
        ev.clear()
        await ev.wait()
