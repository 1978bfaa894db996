# Every difference between MicroPython and CPython lives here (and in
# _compat_cpython.py, its CPython half, which boards never load, and
# _compat_rare.py, what few sessions need); nothing else in ussh looks at
# sys.implementation.
import errno
import hashlib
import sys

MICROPYTHON = sys.implementation.name == "micropython"

try:
    from os import urandom as _urandom
except ImportError:
    _urandom = None

try:
    import cryptolib  # MicroPython: AES-ECB/CBC (and CTR on some ports)
except ImportError:
    cryptolib = None

sha256 = hashlib.sha256
sha512 = getattr(hashlib, "sha512", None)  # absent on MicroPython ports


_viper = []  # have_viper()'s answer, once asked


def have_viper():
    """Whether @micropython.viper compiles here (the unix port, boards; not
    CPython, not the webassembly port, which has no native emitter). The
    probe is compiled once: its machine code is never freed (32 B a time)."""
    if not _viper:
        ok = False
        if MICROPYTHON:
            try:
                exec("import micropython\n@micropython.viper\ndef _f(x: int) -> int:\n    return x")
                ok = True
            except Exception:
                pass
        _viper.append(ok)
    return _viper[0]


def have_thumb():
    """Whether this port's native code is ARM Thumb (armv6m, armv7m, armv7em:
    sys.implementation._mpy's arch field, 4 to 8), where the Thumb assembler
    modules (crypto/*_thumb.py) can load; elsewhere importing one would only
    parse it to fail."""
    return MICROPYTHON and 4 <= (getattr(sys.implementation, "_mpy", 0) >> 10 & 15) <= 8


# "no such file": the webassembly port raises emscripten's number (44)
# although its errno module says 2
ENOENT = (errno.ENOENT, 44) if sys.platform == "webassembly" else (errno.ENOENT,)

try:
    import asyncio
except ImportError:
    # MICROPYPATH=lib replaces the default path and hides the unix port's
    # frozen modules, asyncio among them
    if MICROPYTHON and ".frozen" not in sys.path:
        sys.path.append(".frozen")
    try:
        import asyncio
    except ImportError:  # a port without asyncio uses a blocking driver
        asyncio = None


def urandom(n):
    """n bytes from the operating system's random source; raises OSError
    when the port has none (callers then need a board entropy source)."""
    if _urandom is None:
        raise OSError("no os.urandom on this port: give ussh an entropy source")
    return _urandom(n)


def version():
    """The running Python, e.g. 'MicroPython 1.29.0 on linux'."""
    v = ".".join([str(x) for x in sys.implementation.version[:3]])
    return "%s %s on %s" % ("MicroPython" if MICROPYTHON else "CPython", v, sys.platform)


if sys.platform == "linux":

    def quickack(sock):
        # Linux delays an ACK up to 40 ms; an SSH client that sent a message
        # needing no reply (NEWKEYS, EOF) holds its next one until then
        # (Nagle). TCP_QUICKACK (12) is not sticky: set after every read.
        try:
            sock.setsockopt(6, 12, 1)
        except OSError:
            pass

else:

    def quickack(sock):
        pass


def peer_name(addr):
    """"ip:port" ("[ip6]:port") of what accept() gave: (host, port, ...)
    on CPython, a raw sockaddr on MicroPython; "?" when unknown."""
    if isinstance(addr, tuple):
        host = addr[0]
        if ":" in host:
            try:
                import socket

                from ussh._compat_rare import ip6_text

                host = ip6_text(socket.inet_pton(socket.AF_INET6, host.split("%")[0]))
            except (AttributeError, OSError, ValueError):
                pass
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, addr[1])
    if len(addr) >= 8 and addr[0] == 2:  # sockaddr_in: family, port, IPv4
        return "%d.%d.%d.%d:%d" % (addr[4], addr[5], addr[6], addr[7], (addr[2] << 8) | addr[3])
    if len(addr) >= 24 and (addr[0] == 10 or addr[:2] in (b"\x1c\x1c", b"\x1c\x1e")):
        # sockaddr_in6: AF_INET6 10 (Linux), or sin6_len 28 then 28/30 (BSDs)
        from ussh._compat_rare import ip6_text

        host = ip6_text(bytes(addr[8:24]))
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, (addr[2] << 8) | addr[3])
    return "?"


if not MICROPYTHON:
    from ussh._compat_cpython import *  # noqa: F401,F403

else:
    from micropython import const  # noqa: F401

    try:
        from time import ticks_ms, ticks_us, ticks_diff  # noqa: F401
    except ImportError:
        # A port without a clock (the qemu port): ticks count calls, so
        # "at least every 50 ms" (channel output) becomes "every 50 writes".
        # Only the asyncio server keeps time (login grace), and such a port
        # has no asyncio either.
        _calls = 0

        def ticks_ms():
            global _calls
            _calls = (_calls + 1) & 0x3FFFFFFF
            return _calls

        ticks_us = ticks_ms

        def ticks_diff(a, b):
            return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000

    if asyncio is not None:
        from asyncio import core as _core

        # asyncio's own streams wait like this (extmod/asyncio/stream.py)
        async def wait_readable(sock):
            yield _core._io_queue.queue_read(sock)

        async def wait_writable(sock):
            yield _core._io_queue.queue_write(sock)

    def collect():
        # a collection where a step of the work ends: MicroPython's heap does not move
        # objects, and garbage left to the next full heap ends up as small holes
        import gc

        gc.collect()

    def recv_into(sock, buf, n):
        # a stream's readinto, n bytes at most: None when a non-blocking socket has nothing
        return sock.readinto(buf, n)

    def print_exception(e, file):
        sys.print_exception(e, file)

    def format_exc(e, hide=None):
        """The traceback of e as the REPL prints it, without the frames of
        files whose name ends with hide (a name, or a tuple of them)."""
        # sys.print_exception writes only to native streams: go through StringIO
        import io

        s = io.StringIO()
        sys.print_exception(e, s)
        t = s.getvalue()
        if hide:
            fs = [h + '"' for h in (hide if isinstance(hide, tuple) else (hide,))]
            t = "\n".join([x for x in t.split("\n") if not (x.startswith('  File "') and [f for f in fs if f in x])])
        return t

    # redirect(d) routes the sys streams of the user code run next to d (a
    # dict of stdin, stdout, stderr, print, input, help) and returns what
    # restores the previous state. sys.stdout cannot be assigned on
    # MicroPython, so `import sys` in that code is served, through
    # sys.modules, a stand-in answering from d and from the real sys for
    # everything else. print, input and help are replaced in builtins while
    # the code runs, so modules it imports print to the client too. help
    # and micropython.mem_info, which print from C, are stood in for by
    # ussh.pyhelp; anything else C prints stays on the board's console.
    # (os.dupterm is not used: on the emulated Pico, whose SSH runs on a UART,
    # C output through it while the stream driver pumped hung the board.)
    _std = None
    _real = None  # builtins' (print, input, help) while ussh's are in place

    class _Sys:
        def __getattr__(self, n):
            d = _std
            if d and n in d:
                return d[n]
            return getattr(sys, n)

        def print_exception(self, e, f=None):
            (f or self.stdout).write(format_exc(e))

    _sys = _Sys()

    def _help(*a):
        from ussh import pyhelp

        pyhelp.help(*a)

    class _Mp:
        # micropython for the running code: mem_info from ussh.pyhelp
        def __init__(self):
            import micropython

            self.real = micropython

        def __getattr__(self, n):
            if n == "mem_info":
                from ussh import pyhelp

                return pyhelp.mem_info
            return getattr(self.real, n)

    _mp = None

    # the unix port's time.sleep(s) waits in select(), which only a signal wakes: a Ctrl-C
    # (ussh.interrupt asks the main thread to look, micropython.schedule) would wait for the
    # whole sleep. The running code's time sleeps with sleep_ms, which runs pending callbacks.
    _UNIX = sys.platform in ("linux", "darwin")
    _tm = None

    class _Time:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, n):
            return getattr(self.real, n)

        def sleep(self, s):
            ms = int(s * 1000)
            if ms > 0:
                self.real.sleep_ms(ms)
            if s * 1000 > ms:
                self.real.sleep((s * 1000 - ms) / 1000)

    def _time():
        global _tm
        try:
            import time
        except ImportError:  # a build without it (the stream driver's tests hide it, as qemu's)
            return None
        _tm = _Time(time)
        return _tm

    def redirect(d):
        """Route the sys streams of code run next to d; see above."""
        global _std, _real, _mp
        import builtins

        old, _std = _std, d
        if _real is None:
            _real = (builtins.print, builtins.input, getattr(builtins, "help", None))
        if d:
            sys.modules["sys"] = _sys
            t = _UNIX and (_tm or _time())
            if t:
                sys.modules["time"] = t
        else:
            sys.modules.pop("sys", None)
            if _UNIX and sys.modules.get("time") is _tm:
                sys.modules.pop("time", None)
        f = d or {}
        try:
            builtins.print = f.get("print", _real[0])
            builtins.input = f.get("input", _real[1])
            if "print" in f:
                _mp = _mp or _Mp()
                builtins.help = _help
                sys.modules["micropython"] = _mp
            elif _real[2]:
                builtins.help = _real[2]
                sys.modules.pop("micropython", None)
        except AttributeError:  # builtins that cannot be overridden: print stays on the console
            pass
        return old


# -- files, for ussh.fs (SFTP and scp): a folder's names with their types
# (S_IFMT bits of st_mode, 0xA000 for a symbolic link), and fsync
if MICROPYTHON:

    def listdir_types(path):
        """(name, type) for each entry of a folder, lazily."""
        import os

        for e in os.ilistdir(path):
            yield e[0], e[1]

    def fsync(f):
        f.flush()  # MicroPython's VFS writes through on flush

else:

    def listdir_types(path):
        """(name, type) for each entry of a folder, lazily."""
        import os

        with os.scandir(path) as it:
            for e in it:
                yield e.name, 0xA000 if e.is_symlink() else 0x4000 if e.is_dir() else 0x8000

    def fsync(f):
        import os

        f.flush()
        os.fsync(f.fileno())
