# Every difference between MicroPython and CPython lives here; nothing else in
# ussh looks at sys.implementation.
import sys

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    from micropython import const  # noqa: F401
else:

    def const(x):
        return x


try:
    from os import urandom as _urandom
except ImportError:
    _urandom = None


def urandom(n):
    """n bytes from the operating system's random source; raises OSError
    when the port has none (callers then need a board entropy source)."""
    if _urandom is None:
        raise OSError("no os.urandom on this port: give ussh an entropy source")
    return _urandom(n)


try:
    import cryptolib  # MicroPython: AES-ECB/CBC (and CTR on some ports)
except ImportError:
    cryptolib = None

import hashlib

sha256 = hashlib.sha256
sha512 = getattr(hashlib, "sha512", None)  # absent on MicroPython ports

# The native code emitter: @micropython.viper exists on most boards but not on
# the webassembly port; fast paths test this flag and fall back to portable code.
try:
    import micropython

    exec("@micropython.viper\ndef _v(x:int)->int:\n return x\n")
    HAVE_VIPER = True
except Exception:
    HAVE_VIPER = False

# errno values meaning "no such file": the webassembly port raises emscripten's
# number (44) although its errno module says 2.
import errno

ENOENT = (errno.ENOENT, 44) if sys.platform == "webassembly" else (errno.ENOENT,)


def open_private(path):
    """Opens path for binary writing, created readable by its owner only
    where the OS has file modes (CPython); MicroPython has no modes to set,
    so on the unix port the file gets the process umask's default."""
    if MICROPYTHON:
        return open(path, "wb")
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_CREAT
    return os.fdopen(fd, "wb")


# Millisecond/microsecond clocks for timeouts and benchmarks
if MICROPYTHON:
    from time import ticks_ms, ticks_us, ticks_diff
else:
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_us():
        return int(_time.perf_counter() * 1000000)

    def ticks_diff(a, b):
        return a - b


# asyncio: waiting until a non-blocking socket can be read or written
try:
    import asyncio
except ImportError:
    # MICROPYPATH=lib replaces the default path and hides the frozen
    # modules (asyncio among them) of the unix port
    if MICROPYTHON and ".frozen" not in sys.path:
        sys.path.append(".frozen")
    try:
        import asyncio
    except ImportError:  # a port without asyncio uses the blocking driver
        asyncio = None

if MICROPYTHON and asyncio is not None:
    from asyncio import core as _core

    async def wait_readable(sock):
        yield _core._io_queue.queue_read(sock)

    async def wait_writable(sock):
        yield _core._io_queue.queue_write(sock)

else:

    async def _wait(sock, add, remove):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def ready():
            if not fut.done():
                fut.set_result(None)

        add(sock.fileno(), ready)
        try:
            await fut
        finally:
            remove(sock.fileno())

    async def wait_readable(sock):
        loop = asyncio.get_running_loop()
        await _wait(sock, loop.add_reader, loop.remove_reader)

    async def wait_writable(sock):
        loop = asyncio.get_running_loop()
        await _wait(sock, loop.add_writer, loop.remove_writer)


def print_exception(e, file):
    if MICROPYTHON:
        sys.print_exception(e, file)
    else:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__, file=file)


def version():
    """The running Python, e.g. 'MicroPython 1.29.0 on linux'."""
    v = ".".join([str(x) for x in sys.implementation.version[:3]])
    return "%s %s on %s" % ("MicroPython" if MICROPYTHON else "CPython", v, sys.platform)


# Tracebacks as text, without the frames of files whose name ends with hide
# (ussh's own frames around user code). MicroPython's sys.print_exception only
# writes to native streams (a Python object with write() gets OSError), so it
# goes through StringIO.
if MICROPYTHON:

    def format_exc(e, hide=None):
        """The traceback of e as the REPL prints it, minus hide's frames."""
        import io

        s = io.StringIO()
        sys.print_exception(e, s)
        t = s.getvalue()
        if hide:
            f = hide + '"'
            t = "\n".join([x for x in t.split("\n") if not (x.startswith('  File "') and f in x)])
        return t

else:

    def format_exc(e, hide=None):
        """The traceback of e as the REPL prints it, minus hide's frames."""
        import traceback

        tbs = []
        tb = e.__traceback__
        while tb:
            if not (hide and tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith(hide)):
                tbs.append(tb)
            tb = tb.tb_next
        for i, tb in enumerate(tbs):
            tb.tb_next = tbs[i + 1] if i + 1 < len(tbs) else None
        return "".join(traceback.format_exception(type(e), e, tbs[0] if tbs else None))


# Running user code with its own stdin/stdout/stderr. redirect(d) takes a dict
# {"stdin", "stdout", "stderr", "displayhook"} and returns what restores the
# previous state when passed back to redirect().
# CPython: the sys attributes are reassigned (print, input and 'single' mode
# echo then follow them). MicroPython: sys.stdout cannot be assigned, so
# `import sys` in the running code is served, through sys.modules, a stand-in
# that answers stdin/stdout/stderr/print_exception from d and everything else
# from the real sys; modules that keep it fall back to the real streams once
# the code has finished. print/input/'single' echo of MicroPython are not
# routed by this: the caller puts its own print, input and __repl_print__ in
# the code's globals. C-level output (help(), micropython.mem_info()) still
# goes to the board's console.
if MICROPYTHON:
    _std = None

    class _Sys:
        def __getattr__(self, n):
            d = _std
            if d and n in d:
                return d[n]
            return getattr(sys, n)

        def print_exception(self, e, f=None):
            (f or self.stdout).write(format_exc(e))

    _sys = _Sys()

    def redirect(d):
        """Route the sys streams of code run next to d; see the comment above."""
        global _std
        old, _std = _std, d
        if d:
            sys.modules["sys"] = _sys
        else:
            sys.modules.pop("sys", None)
        return old

else:

    def redirect(d):
        """Route the sys streams of code run next to d; see the comment above."""
        old = {}
        for k in d:
            old[k] = getattr(sys, k)
            setattr(sys, k, d[k])
        return old


def peer_name(addr):
    # accept() gives (host, port) on CPython, a raw sockaddr on MicroPython
    if isinstance(addr, tuple):
        return "%s:%d" % (addr[0], addr[1])
    if len(addr) >= 8 and addr[0] == 2:  # sockaddr_in: family, port, IPv4
        return "%d.%d.%d.%d:%d" % (addr[4], addr[5], addr[6], addr[7], (addr[2] << 8) | addr[3])
    return "?"
