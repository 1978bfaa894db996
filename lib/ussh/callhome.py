"""Call home: the board keeps an SSH client connection to a bastion and asks
it to listen on a port for the board (tcpip-forward, RFC 4254 §7.1); each
connection the bastion forwards (a forwarded-tcpip channel, §7.2) is handed
to the board's own ussh server on 127.0.0.1, as if that client had connected
directly. Reconnects with backoff, and says so in the log. A person reaches
the board from anywhere the bastion is reachable:

    ssh -J user@bastion -p REMOTE_PORT localhost

    from ussh import callhome
    asyncio.create_task(callhome.run("bastion.example.com", 22, user="board7",
                        key="ssh_host_ed25519_key", remote_port=2207, local_port=22))

or `callhome = host:port` (and callhome_user, callhome_port, callhome_key,
callhome_known_hosts) in ussh.cfg, which ussh.start() reads. An optional
module of the client package.
"""
import socket

from ussh import client
from ussh.compat import asyncio, wait_readable, wait_writable
from ussh.wire import SSHError

_EAGAIN = (11, 35)


async def _to_sock(chan, sock):
    # channel -> local server
    while True:
        data = await chan.read()
        if not data:
            return
        mv = memoryview(data)
        while mv:
            try:
                n = sock.send(mv)
            except OSError as e:
                if e.args[0] not in _EAGAIN:
                    raise
                n = 0
            mv = mv[n:]
            if mv:
                await wait_writable(sock)


async def _to_chan(sock, chan):
    # local server -> channel; the server's end of the connection closes the channel
    while True:
        await wait_readable(sock)
        try:
            data = sock.recv(16384)
        except OSError as e:
            if e.args[0] in _EAGAIN:
                continue
            raise
        if not data:
            await chan.eof()
            await chan.close()
            return
        await chan.write(data)


async def relay(chan, local, log=print):
    """Moves bytes both ways between a forwarded channel and a TCP
    connection to local (host, port), until either side ends."""
    sock = socket.socket()
    back = None
    try:
        sock.connect(socket.getaddrinfo(local[0], local[1])[0][-1])
        sock.setblocking(False)
        back = asyncio.create_task(_to_chan(sock, chan))
        await _to_sock(chan, sock)
        # the client is gone. Where sockets can half-close, the server sees the
        # end of its input and finishes what it was sending; elsewhere (the
        # MicroPython ports have no shutdown) the connection just ends
        if hasattr(sock, "shutdown") and not chan.ch.closed_in:
            sock.shutdown(1)
            await back
    except (OSError, client.ClientError, SSHError) as e:
        log("ussh: callhome: relay ended: %s" % e)
    finally:
        if back is not None and not back.done():
            back.cancel()
        sock.close()
        try:
            await chan.close()
        except (OSError, client.ClientError, SSHError):
            pass


async def _keepalive(c, every):
    # a bastion gone without a word (NAT timeout, Wi-Fi lost) is found here
    while not c.closed:
        await asyncio.sleep(every)
        try:
            await asyncio.wait_for(c.global_request(b"keepalive@openssh.com"), every)
        except asyncio.TimeoutError:
            c.conn.lost("no answer to keepalive for %d s" % every)
            await c.close()
            return
        except (client.ClientError, SSHError, OSError):
            return


async def run(host, port=22, user="board", key="ssh_host_ed25519_key", known_hosts="known_hosts",
              remote_port=2222, remote_bind="localhost", local_port=22, local_host="127.0.0.1",
              log=print, min_delay=1, max_delay=60, keepalive=60, timeout=30):
    """Keeps calling home, forever (cancel the task to stop): connect to
    host:port as user with key (checked against known_hosts), ask the bastion
    to listen on remote_bind:remote_port, serve what it forwards through
    local_host:local_port (the board's ussh server). After a failure or a
    lost connection it tries again after min_delay seconds, doubling up to
    max_delay; a connection that logged in starts the count again."""
    delay = min_delay
    where = "%s:%d" % (host, port)
    local = (local_host, local_port)
    while True:
        c = None
        try:
            c = await client.connect(host, port, user, key, known_hosts, log=log, timeout=timeout)
            bound = await c.forward_remote(remote_port, lambda ch, origin: asyncio.create_task(
                _serve(ch, origin, local, log)), remote_bind)
            log("ussh: callhome: connected to %s as %s; it forwards %s:%d to this board"
                " (ssh -J %s@%s -p %d localhost)" % (where, user, remote_bind, bound, user, where, bound))
            delay = min_delay
            ka = asyncio.create_task(_keepalive(c, keepalive)) if keepalive else None
            await c.wait_closed()
            if ka is not None:
                ka.cancel()
            why = c.conn.reason or "closed"
            log("ussh: callhome: connection to %s lost (%s); again in %d s" % (where, why, delay))
        except (OSError, client.ClientError, SSHError, asyncio.TimeoutError) as e:
            log("ussh: callhome: cannot reach %s (%s); again in %d s" % (where, e or type(e).__name__, delay))
        if c is not None:
            try:
                await c.close()
            except Exception:
                pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


async def _serve(chan, origin, local, log):
    log("ussh: callhome: %s:%d forwarded from %s:%d" % (origin[0], origin[1], origin[2], origin[3]))
    await relay(chan, local, log)
