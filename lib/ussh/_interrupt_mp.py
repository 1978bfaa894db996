# MicroPython's mechanisms behind ussh.interrupt (the CPython ones are in
# _compat_cpython.py); _compat_rare.interrupt_port() hands out this module, so only
# the optional interrupt feature ever loads it.
from ussh import compat
from ussh.compat import ticks_diff, ticks_ms


def main_call(cb):
    """Called in the main thread: returns poke(), which any thread may call
    to have cb(None) run soon in the main thread, between two bytecodes of
    whatever it runs then. main_call(None) ends that (nothing to undo here)."""
    if cb is None:
        return None
    import _thread
    import micropython

    main = _thread.get_ident()

    def run(_):
        if _thread.get_ident() != main:  # a port with a GIL runs it in any thread
            return poke()
        cb(None)

    def poke():
        try:
            micropython.schedule(run, None)
        except RuntimeError:  # queue full: the caller asks again later
            pass

    return poke

def user_code(frame):
    """In a main_call callback: whether the code it interrupted may be the
    user's. MicroPython has no frames to look at: this says whether the
    REPL is running code (between its two redirect calls); the caller
    must know when ussh's own code, called from there, runs."""
    return compat._std is not None

_kbd = 0  # unix port: ticks_ms when a SIGINT was sent for, 0 when none is on its way

def kbd_interrupt():
    """Called last in a main_call callback: KeyboardInterrupt in the code
    the callback interrupted. Ports with os.dupterm_notify (ESP32, rp2)
    take the console's own Ctrl-C path: a dupterm stream that reads 0x03
    makes it pending, and it is raised once the callback has returned.
    The unix port has only SIGINT, which raises where the main thread is
    when it lands, ~10 ms later (kbd_settle waits for it)."""
    global _kbd
    import micropython
    import os

    if hasattr(os, "dupterm_notify"):
        import io

        class Ctrl(io.IOBase):
            def readinto(self, b):
                b[0] = 3
                return 1

            def write(self, b):
                return len(b)

            def ioctl(self, op, arg):
                return 0

        old = os.dupterm(Ctrl())
        os.dupterm_notify(None)
        os.dupterm(old)
        return
    if not _kbd:
        micropython.kbd_intr(3)  # SIGINT raises KeyboardInterrupt (not: ends the process)
        # system() ignores SIGINT until it returns: the signal comes later
        os.system("(sleep 0.01; kill -INT $PPID) >/dev/null 2>&1 &")
        _kbd = ticks_ms() | 1

def kbd_settle():
    """Where ussh's own code starts while a KeyboardInterrupt from
    kbd_interrupt may still be on its way: wait for it (bounded) so that
    it lands here; swallow it when the REPL no longer runs code."""
    global _kbd
    if not _kbd:
        return
    import time

    try:
        while _kbd and ticks_diff(ticks_ms(), _kbd) < 100:
            time.sleep_ms(1)
    except KeyboardInterrupt:
        _kbd = 0
        if compat._std is not None:
            raise
    _kbd = 0
