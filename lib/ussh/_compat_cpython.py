# The CPython half of ussh.compat, imported by compat only on CPython so that
# boards never load it. Same names and meanings as compat's MicroPython half.
import asyncio
import os
import sys
import time as _time
import traceback


def const(x):
    return x


def ticks_ms():
    return int(_time.monotonic() * 1000)


def ticks_us():
    return int(_time.perf_counter() * 1000000)


def ticks_diff(a, b):
    return a - b


def open_private(path):
    # created readable by its owner only; an older file keeps its mode
    # through O_CREAT, hence the chmod
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "wb")


async def _wait(sock, add, remove):
    fut = asyncio.get_running_loop().create_future()

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


def collect():
    # compat.collect: CPython frees by reference count and its allocator is not
    # MicroPython's single heap: nothing to do
    pass


def recv_into(sock, buf, n):
    """What a non-blocking socket has, n bytes at most, read into buf: the count
    (0 at the end), None when nothing is waiting."""
    try:
        return sock.recv_into(buf, n)
    except BlockingIOError:
        return None


def print_exception(e, file):
    traceback.print_exception(type(e), e, e.__traceback__, file=file)


def format_exc(e, hide=None):
    # drop the frames of files whose name ends with hide (a name, or a tuple of them)
    tbs = []
    tb = e.__traceback__
    while tb:
        if not (hide and tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith(hide)):
            tbs.append(tb)
        tb = tb.tb_next
    for i, tb in enumerate(tbs):
        tb.tb_next = tbs[i + 1] if i + 1 < len(tbs) else None
    return "".join(traceback.format_exception(type(e), e, tbs[0] if tbs else None))


_STREAMS = ("stdin", "stdout", "stderr", "displayhook")


def redirect(d):
    # CPython's sys streams can be reassigned; print, input, help and
    # 'single' mode echo follow them, in every module
    old = {}
    for k in d:
        if k in _STREAMS:
            old[k] = getattr(sys, k)
            setattr(sys, k, d[k])
    return old


# -- interrupting running code, for ussh.interrupt
# A signal sent to the main thread runs its Python handler there between two
# bytecodes (or breaks a blocking call such as time.sleep); what the handler
# raises is raised in the code it interrupted.
import signal  # noqa: E402
import threading  # noqa: E402

_usr1 = None  # (SIGUSR1's handler before main_call installed ours,)


def can_interrupt():
    return hasattr(signal, "pthread_kill")


def main_call(cb):
    global _usr1
    if cb is None:
        if _usr1 is not None:
            signal.signal(signal.SIGUSR1, _usr1[0])
            _usr1 = None
        return None
    try:
        old = signal.signal(signal.SIGUSR1, lambda n, frame: cb(frame))
    except ValueError:  # not the main thread: it cannot have signal handlers
        return None
    if _usr1 is None:
        _usr1 = (signal.SIG_DFL if old is None else old,)
    main = threading.get_ident()
    return lambda: signal.pthread_kill(main, signal.SIGUSR1)


def user_code(frame):
    # frame is the user's code (or a library it called) when the first of
    # ussh's frames around it is pyrun.Runner._run, which called eval
    f = frame
    while f is not None:
        n = f.f_globals.get("__name__", "")
        if n == "ussh" or n.startswith("ussh."):
            return f is not frame and n == "ussh.pyrun" and f.f_code.co_name == "_run"
        f = f.f_back
    return False


def kbd_interrupt():
    raise KeyboardInterrupt


def kbd_settle():
    pass  # kbd_interrupt raises at once


def interrupt_port():
    # the mechanisms behind ussh.interrupt: this module's functions above
    return sys.modules[__name__]
