# The emulated Cortex-M3 (MicroPython's qemu port, MPS2-AN385; `make firmware`): ussh on UART1,
# log lines on the console (UART0). The port has no filesystem, clock, sockets, asyncio or
# os.urandom, so the host hands everything over through the raw REPL on UART0 (tools/qemu.py):
# this file's source, then
#     serve(entropy, host_key, authorized_keys)
# entropy: random bytes from the host (at least 48; 32 more for each reseed of the DRBG, one
# per 4096 requests); host_key: the text of an OpenSSH ed25519 private key file;
# authorized_keys: the text of an authorized_keys file. UART1 is a CMSDK APB UART at
# 0x40005000 (qemu's second -serial; tools/qemu.py maps it to a loopback TCP port): DATA +0,
# STATE +4 (bit 0 TX full, bit 1 RX full), CTRL +8 (bit 0 TX enable, bit 1 RX enable),
# BAUDDIV +0x10. The UART holds one received byte, so reads poll it.
import gc
import micropython

# TIMER0 (CMSDK APB timer, 0x40000000): CTRL +0, VALUE +4 (32-bit down-counter at 25 MHz, one
# tick per 40 guest instructions under qemu -icount shift=0), RELOAD +8. measure=True counts
# the login with it, paused while the UART waits for the host.
_NOCOUNT = bytearray(4)  # a stand-in "timer" when not measuring


@micropython.asm_thumb
def _wfi():
    wfi()


@micropython.asm_thumb
def _irq_mask():
    cpsid(i)


@micropython.asm_thumb
def _scrub(r0):
    # zeroes r0 words of the stack below this call (unused: interrupts stay masked): see after()
    mov(r1, sp)
    mov(r2, 0)
    label(loop)
    sub(r1, r1, 4)
    str(r2, [r1, 0])
    sub(r0, r0, 1)
    bne(loop)


@micropython.viper
def _uart_init():
    u = ptr32(0x40005000)
    u[4] = 16  # BAUDDIV: qemu ignores the rate but wants a valid divider
    # CTRL: TX and RX enabled, and the RX interrupt (UART1 RX is IRQ 2 on the AN385), which is
    # never taken: interrupts stay masked (PRIMASK; the firmware has no handlers for them) and
    # the interrupt only wakes the core from WFI, so that an idle board sleeps instead of
    # spinning on the UART (qemu then gives the host's clients that core)
    _irq_mask()
    u[3] = 2  # INTCLEAR: RX
    u[2] = 11  # TX and RX enabled (bits 0, 1), RX interrupt (bit 3)
    ptr32(0xE000E280)[0] = 4  # NVIC ICPR0: IRQ 2 not pending
    ptr32(0xE000E100)[0] = 4  # NVIC ISER0: IRQ 2 enabled (masked by PRIMASK)


@micropython.viper
def _rx_sleep():
    # WFI until the UART holds a byte: its RX interrupt (pending, never taken) wakes the core
    u = ptr32(0x40005000)
    nvic = ptr32(0xE000E280)
    while (u[1] & 2) == 0:
        u[3] = 2  # the interrupt's status cleared first, then its pending bit: a byte that
        nvic[0] = 4  # comes after this pends it again, and WFI returns at once
        if (u[1] & 2) == 0:
            _wfi()


@micropython.viper
def _rx(buf: ptr8, n: int, t: ptr32, mag: ptr8, m: int, k: ptr32) -> int:
    # n bytes into buf, or fewer when the host's hang-up line (mag, m bytes: ussh.stream.HANGUP)
    # ended among them: the client it stands for has left, and the rest of a packet will never
    # come. k[0]: how much of mag the bytes so far ended with (a hang-up split over two reads).
    # The timer stops while nothing is there.
    u = ptr32(0x40005000)
    i = 0
    while i < n:
        if u[1] & 2:
            c = u[0] & 0xFF
            buf[i] = c
            i += 1
            j = k[0]
            if c == mag[j]:
                j += 1
                if j == m:
                    k[0] = 0
                    return i
            else:
                j = 1 if c == mag[0] else 0
            k[0] = j
        else:
            t[0] = 0
            w = 0
            while (u[1] & 2) == 0:
                w += 1
                if w > 2000:  # the next byte is not on its way: sleep (bytes of a packet
                    _rx_sleep()  # come within a few looks)
            t[0] = 1
    return i


@micropython.viper
def _tx(buf: ptr8, n: int, t: ptr32):
    u = ptr32(0x40005000)
    i = 0
    while i < n:
        if u[1] & 1:
            t[0] = 0
            while u[1] & 1:
                pass
            t[0] = 1
        u[0] = buf[i]
        i += 1


@micropython.viper
def _ready() -> bool:
    return bool(ptr32(0x40005000)[1] & 2)


@micropython.viper
def _timer_start():
    t = ptr32(0x40000000)
    t[0] = 0
    t[2] = -1  # RELOAD
    t[1] = -1  # VALUE
    t[0] = 1


@micropython.viper
def _timer_read() -> uint:
    return uint(ptr32(0x40000000)[1])


_rand = None  # ussh.crypto.rand, once serve() imported it


class _Pool:
    # The DRBG's entropy source: the host's bytes, each used once.
    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def __call__(self, n):
        p = self.pos
        if p + n > len(self.data):
            raise _rand.NoEntropy("the host's entropy is used up: restart the board with more")
        self.pos = p + n
        return self.data[p : p + n]


def configure(entropy, host_key, authorized_keys, drop=None, **settings):
    """A Config made before serve() (its cfg=), as a board's start does it: entropy as serve()'s,
    host_key and authorized_keys paths on the flash (or their text), settings for make_config.
    drop: modules only the start needs, let go afterwards (None: driver.START, making the Config,
    reading the host key's file and parsing the keys file)."""
    from ussh.driver import START, warm
    from ussh.startup import make_config
    from ussh.crypto import rand

    global _rand
    _rand = rand
    if entropy:
        rand.set_source(_Pool(entropy))
    cfg = make_config(host_key, authorized_keys, log=_log, **settings)
    warm(cfg)  # the signing tables (3 KB in one piece) while the heap still has such a run
    _drop(START if drop is None else drop)
    return cfg


def _drop(names):
    # modules let go (ussh.stream.unload): their bytecode leaves the heap once nothing of theirs
    # is in use; the next import loads them again
    from ussh.stream import unload

    unload(names)


def serve(entropy=None, host_key=None, authorized_keys=b"", forever=False, measure=False, heap=False, ballast=0,
          viper=True, root=None, one_session=True, legacy_mac=False, cfg=None, rx=2048, drop=(), heap_log=False,
          shell=None):
    """Serves SSH on UART1: one connection (or forever=True, one after another). measure=True
    prints `ussh-bench instructions N` (guest instructions from the client's first byte to the
    exec output sent, waits for the host left out); heap=True prints `ussh-bench heap N` (the
    lowest gc.mem_free() after a collection at every read, write and log line; slow, so not
    with measure); ballast=N holds N bytes away from ussh meanwhile. viper=False: ussh's
    portable code only (when called before anything imported ussh's crypto). root: the folder
    SFTP and scp reach (a RamFS the host mounted, boards/qemu/ramfs.py), also the commands' cwd.
    one_session: a connection ends once its session closed (False: when the client disconnects
    or a new client starts: a ControlMaster's sessions come one after another). cfg: a Config
    from configure() (entropy, keys and legacy_mac then unused); rx: the read buffer's
    bytes; drop: modules a session loads that are let go after each connection (a heap that
    cannot hold them all at once: the shell's, SFTP's); shell: the module of the shell's Repl
    (cfg.shell: "ussh.lineshell" where ussh.repl's editor does not fit)."""
    if not viper:
        from ussh import compat

        compat.have_viper = lambda: False
    from ussh.startup import make_config
    from ussh.crypto import rand
    from ussh.stream import HANGUP, serve_forever

    global _rand
    _rand = rand
    cfg_given = cfg is not None
    if entropy and cfg is None:
        rand.set_source(_Pool(entropy))
    try:
        # packets and window from the free heap (ussh.budget: 2 KB packets, 8 KB in flight on
        # this 138 KB heap): each packet takes a few buffers of its size, and after a while a
        # heap, though mostly free, has few long free runs between the small objects that stay
        more = {"root": root} if root else {}
        if cfg is None:
            cfg = make_config(host_key, authorized_keys, log=_log, legacy_mac=legacy_mac, **more)  # ussh.budget
    except Exception as e:  # rand.NoEntropy, keys.KeyFileError
        print("ussh: not started: %s" % e)
        return
    t = _NOCOUNT
    if measure:
        _timer_start()
        t = 0x40000000  # _rx/_tx pause the timer (its CTRL) while they wait
    if shell:
        cfg.shell = shell
    if drop:
        cfg.unload = drop  # also when a connection runs out of memory, before its client is told
    st = _State(measure, heap)
    _state[0] = st
    hold = bytearray(ballast) if ballast else None

    buf = bytearray(rx)  # reused: the transport copies what it gets at once

    matched = bytearray(4)  # _rx's k

    def read(n):
        # at most buf's length (serve_stream asks again for the rest of a longer packet): no
        # packet-sized buffer made, and dropped, for each of paramiko's 4 KB packets
        st.point()
        return memoryview(buf)[: _rx(buf, min(n, len(buf)), t, HANGUP, len(HANGUP), matched)]

    def write(b):
        st.point()
        _tx(b, len(b), t)
        st.wrote()

    if root:
        import os

        os.chdir(root)
    _uart_init()
    print("ussh: serving SSH on UART1, host key %s" % cfg.host_key.fingerprint())
    from ussh import budget

    print("ussh: %s" % budget.describe(cfg))
    budget = None
    _drop(drop)  # ussh.budget among them: on the 110 KB board the first login needs its 1.3 KB
    _preload(root)

    def before():  # the measurements between connections
        st.reset()
        if entropy or cfg_given:  # the DRBG has a source (configure() gave it one)
            _settle()
        if heap_log:  # what the connections before left: micropython.mem_info()'s "max free sz"
            micropython.mem_info()
            print("ussh-heap %d" % gc.mem_free())

    def after():
        st.report()
        _drop(drop)
        # The collector scans the stack conservatively: a word a connection's calls left in the
        # stack below here (a pointer to one of its buffers) is read again as a live pointer when
        # the calls between connections (the collection, before()) build their frames there
        # without writing every word of them, and keeps that object, wherever it lay, through
        # the collection (the largest free block between sessions 15,024 B instead of 21,632 B
        # once in 270 prints, a 4 KB buffer once in a short run). Zeroed first (16 KB; the
        # deepest session takes about 10 KB: mp_stack_set_limit's 10,240 B and the C frames).
        _scrub(4096)

    # ussh.stream's loop: the bridge's hang-ups (Link), a connection that runs out of memory
    # outside its guard turned away
    serve_forever(read, write, cfg, _ready, "uart1", one_session, not forever, before, after)
    del hold
    _state[0] = None


def _settle():
    # Right after the collection: the DRBG's state (ussh.crypto.drbg: K and V, new objects at every
    # request, the last ones made for the connection's last packet, wherever that left them: now
    # often in the middle of the freed heap) made anew at the bottom of it, the old ones collected.
    # Then nothing a connection made lives on in the heap, and the longest free run before each
    # connection is the same.
    _rand.random_bytes(1)
    gc.collect()


def _preload(root):
    # The modules a session imports on first use, imported now, at the bottom of a heap nothing
    # else holds yet: imported inside a session they stay for good between its buffers, and the
    # longest free run after it is shorter than before, by where they happened to land (a soak's
    # largest free block wandered by over 2 KB). Those a session may need: file transfers when
    # there is a root, and ML-KEM when the key exchange offers it. Only with ussh frozen into the
    # firmware (its code in flash; its modules' names end in .py): loaded from .mpy files, each
    # module's code takes heap, and a small board loads them as sessions want them
    # (host_tests/test_small_board.py).
    import sys
    import ussh

    if getattr(ussh, "__file__", ".mpy").endswith(".mpy"):
        return
    # ussh.channel and ussh.scheduler: ussh.connection imports them at a connection's first channel
    mods = ["ussh.channel", "ussh.scheduler", "ussh.pyrun", "ussh.repl"]
    if root:
        mods += ["ussh.fs", "ussh.sftp", "ussh.sftp_ops", "ussh.sftp_dirs", "ussh.scp"]
    if "ussh.pqkex" in sys.modules:  # the hybrid exchange is offered (ussh.plugins)
        mods.append("ussh.crypto.mlkem")
    try:
        for m in mods:
            __import__(m)
    except (ImportError, MemoryError):  # a build without one, or no room: a session imports it
        pass
    gc.collect()


def run_app(config="/ussh.cfg"):
    """The app `make push` put on the board's flash (ussh.app), before serve(): this port has no
    asyncio, so the app's main.py is imported first, guarded (an exception there rolls the
    version back), and the server runs after it. config: app_dir, app_healthy_after (> 0: a
    version is healthy once its import returned; there is no clock) and root, as in ussh.cfg."""
    from ussh import app, board

    try:
        cfg = board.current = board.load(config)
    except board.ConfigError as e:
        print("ussh: app not started: %s" % e)
        return None
    mod = app.run_blocking(cfg)
    # the push's board half, loaded now rather than inside the first push's connection: its
    # objects then sit below the session buffers instead of between them (a 140 KB heap)
    from ussh import apppush  # noqa: F401

    return mod


_state = [None]  # the _State of the running serve(), for _log


class _State:
    # the login's instruction count (measure) or lowest free heap (heap) at the I/O points
    def __init__(self, measure, heap):
        self.measure, self.heap = measure, heap
        self.reset()

    def reset(self):
        self.t0 = None
        self.n = None
        self.exec_seen = False
        self.low = None
        self.block = None

    def point(self):
        if self.heap:
            gc.collect()
            f = gc.mem_free()
            if self.low is None or f < self.low:
                self.low = f
                self.block = _largest(f)  # what a buffer can get at that point

    def started(self):
        if self.measure:
            self.t0 = _timer_read()

    def wrote(self):
        if self.exec_seen and self.n is None and self.t0 is not None:
            self.n = ((self.t0 - _timer_read()) & 0xFFFFFFFF) * 40

    def report(self):
        if self.n is not None:
            print("ussh-bench instructions %d" % self.n)
        if self.low is not None:
            print("ussh-bench heap %d" % self.low)
            print("ussh-bench block %d" % self.block)


def _largest(free):
    # the largest free block (bytes, within 16), by trying: the GC has no figure for it
    lo, hi = 0, free
    while hi - lo > 16:
        m = (lo + hi) // 2
        try:
            b = bytearray(m)
            b = None
            lo = m
        except MemoryError:
            hi = m
    return lo


def _log(msg):
    st = _state[0]
    if st is not None:
        st.point()
        if msg.endswith(" connected"):
            st.started()
        elif " exec " in msg:
            st.exec_seen = True
    print(msg)
