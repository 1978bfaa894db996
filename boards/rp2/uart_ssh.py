# SSH over a UART on a Raspberry Pi Pico: no Wi-Fi needed (a plain Pico, or a Pico W with its
# radio off). Copied beside main.py by `make deploy BOARD=rp2`; to serve on UART1 instead of
# Wi-Fi, main.py becomes
#     import uart_ssh
#     uart_ssh.serve()
# and the host reaches the board through a USB-serial adapter on GP4 (TX) / GP5 (RX):
#     ssh -o ProxyCommand="socat - /dev/ttyUSB0,rawer,b115200" root@pico
# ussh's blocking stream driver (ussh.stream) serves one connection after another; the host key
# and authorized_keys are the files `make deploy` put on the board (the host key is made on the
# board at the first start), entropy comes from the board's os.urandom (the ring oscillator).
# Log lines go to the console (USB CDC). The emulated Pico (tools/pico.py) runs this file too.
# With an app that `make push` put on the board (ussh.app), main.py becomes
#     import uart_ssh
#     uart_ssh.run_app()
#     uart_ssh.serve()
# the app's main.py imported first (it may start its own timers or interrupts), then the server.
import gc

import machine

# The emulator's count of executed core cycles (tools/pico/run.mjs; no such register on a real
# Pico): measure=True only there.
_CYCLES = 0x40068000


def _cycles():
    return machine.mem32[_CYCLES + 4] << 32 | machine.mem32[_CYCLES]


def serve(uart=1, baudrate=115200, tx=4, rx=5, host_key="ssh_host_ed25519_key", authorized_keys="authorized_keys",
          root=None, forever=True, one_session=True, window=8192, max_packet=1024, measure=False, heap=False,
          legacy_mac=False, send_timeout=None):
    """Serves SSH on machine.UART(uart) (pins tx, rx) until the board resets (forever=False: one
    connection). one_session: a connection ends once its session closed (a UART does not tell
    when the client went away; False: when the client disconnects or a new one starts, as an
    OpenSSH ControlMaster's sessions come one after another). window: the bytes a client may send ahead (the UART's receive buffer holds
    that much and 4 KB more: nothing is lost while ussh computes); max_packet: channel data per
    packet. measure=True (the emulator only) prints `ussh-bench cycles N` (core cycles from the
    client's first byte to the exec output written, sleep left out) and `ussh-bench uart_bytes N`
    (bytes both ways meanwhile); heap=True prints `ussh-bench heap N`, the lowest gc.mem_free()
    after a collection at every read, write and log line (slow: not with measure). send_timeout:
    seconds a write may wait for the UART to take a byte (and a command for the client's window),
    ussh's default when None."""
    import select
    import time

    from ussh.startup import make_config
    from ussh.stream import serve_forever

    st = _State(measure, heap)
    _state[0] = st
    try:
        more = {"root": root} if root else {}
        if send_timeout is not None:
            more["send_timeout"] = send_timeout
        cfg = make_config(host_key, authorized_keys, log=_log, channel_max_packet=max_packet, window=window,
                          legacy_mac=legacy_mac, **more)
    except Exception as e:  # rand.NoEntropy, keys.KeyFileError, OSError
        print("ussh: not started: %s" % e)
        return
    u = machine.UART(uart, baudrate=baudrate, tx=machine.Pin(tx), rx=machine.Pin(rx), rxbuf=window + 4096,
                     txbuf=1024, timeout=0)
    while u.any():  # what came before the server listened
        u.read()
    poller = select.poll()
    poller.register(u, select.POLLIN)
    buf = bytearray(2048)

    def read(n):
        st.point()
        while not u.any():
            poller.poll(1000)
        k = min(n, u.any())
        b = buf if k <= len(buf) else bytearray(k)
        mv = memoryview(b)[:k]
        got = u.readinto(mv)
        st.moved(got)
        return mv[:got]

    wpoll = select.poll()
    wpoll.register(u, select.POLLOUT)

    bound = cfg.send_timeout * 1000

    def write(b):
        # all of b: with timeout=0 the UART takes what its transmit buffer has room for and
        # returns that count (None for nothing); a packet's tail left out would leave the
        # client waiting for it forever. A UART that takes nothing for send_timeout seconds
        # (a transmitter that stopped) ends the connection (OSError: serve_stream's "stream
        # error"), and the board goes on to the next hang-up or client instead of waiting forever.
        st.point()
        mv = memoryview(b)
        t0 = time.ticks_ms()
        while len(mv):
            n = u.write(mv)
            if n:
                mv = mv[n:]
                t0 = time.ticks_ms()
            elif time.ticks_diff(time.ticks_ms(), t0) >= bound:
                raise OSError("UART took no byte for %d s" % cfg.send_timeout)
            else:
                wpoll.poll(100)
        st.moved(len(b))
        st.wrote()

    def ready():
        return u.any() > 0

    if root:
        import os

        os.chdir(root)
    print("ussh: serving SSH on UART%d (%d baud), host key %s" % (uart, baudrate, cfg.host_key.fingerprint()))
    # ussh.stream's loop: the bridge's hang-ups (Link; an adapter sends none: hangups=False), a
    # connection that runs out of memory outside its guard turned away
    serve_forever(read, write, cfg, ready, "uart%d" % uart, one_session, not forever, st.reset, st.report, False)
    _state[0] = None


def run_app(config="ussh.cfg"):
    """The app `make push` put on the board (ussh.app), before serve(): this server blocks
    (ussh.stream, no asyncio), so the app's main.py is imported first, guarded (an exception
    there rolls the version back at once; a reset before it confirmed, at the next boot), and
    the server runs after it whatever the app did. config: app_dir, app_healthy_after (> 0: a
    version is healthy once its import returned) and root, as in ussh.cfg. Returns the app's
    module, or None."""
    from ussh import app, board

    try:
        cfg = board.current = board.load(config)
    except board.ConfigError as e:
        print("ussh: app not started: %s" % e)
        return None
    return app.run_blocking(cfg)


_state = [None]


class _State:
    # the login's cycles and UART bytes (measure) or lowest free heap (heap) at the I/O points
    def __init__(self, measure, heap):
        self.measure, self.heap = measure, heap
        self.reset()

    def reset(self):
        self.c0 = None
        self.n = None
        self.bytes = 0
        self.exec_seen = False
        self.low = None

    def point(self):
        if self.heap:
            gc.collect()
            f = gc.mem_free()
            if self.low is None or f < self.low:
                self.low = f

    def moved(self, n):
        if self.c0 is not None and self.n is None:
            self.bytes += n

    def started(self):
        if self.measure:
            self.c0 = _cycles()

    def wrote(self):
        if self.exec_seen and self.n is None and self.c0 is not None:
            self.n = _cycles() - self.c0

    def report(self):
        if self.n is not None:
            print("ussh-bench cycles %d" % self.n)
            print("ussh-bench uart_bytes %d" % self.bytes)
        if self.low is not None:
            print("ussh-bench heap %d" % self.low)


def _log(msg):
    st = _state[0]
    if st is not None:
        st.point()
        if msg.endswith(" connected"):
            st.started()
            st.bytes = 4  # "SSH-", read before the log line
        elif " exec " in msg:
            st.exec_seen = True
    print(msg)
