# Ctrl-C for running code that never prints. While user code runs (between
# the scheduler's hook.enter(ch) and hook.leave()) one thread, shared by the whole
# server, polls the connection's socket; it never reads it. When bytes wait
# it has the main thread look (compat.main_call): if the main thread is in
# the user's code, not in ussh's own, it reads them as ch.poll() would, and a
# Ctrl-C (0x03 typed into a shell, or an exec's ch.interrupt: 0x03 with a pty
# or a "signal" request) or a lost connection raises KeyboardInterrupt in
# that code (compat.kbd_interrupt). Optional: the server imports it only when
# _compat_rare.can_interrupt(), and plugs it in as the connection's scheduler hook.
import select
import time
import _thread

from ussh import _compat_rare
from ussh.compat import const, ticks_ms, ticks_diff

_POLL_MS = const(100)  # how soon the idle-going thread sees watch(False)
_NAP = 0.05  # seconds between two requests while bytes stay unread
_RETRY_MS = const(500)  # ask again when a request went unanswered this long

_w = None  # the watcher
_port = _compat_rare.interrupt_port()  # main_call, user_code, kbd_interrupt, kbd_settle


class _Watcher:
    def __init__(self):
        self.lock = _thread.allocate_lock()  # orders a request against watch(False)
        self.go = _thread.allocate_lock()  # locked while there is nothing to watch
        self.go.acquire()
        self.sock = self.conn = self.ch = self.poke = None
        self.asked = 0  # ticks of the request the main thread has not answered, 0: none
        self.inside = 0  # main thread: >0 while ussh's own code runs (called from user code, or here)
        self.started = False

    def guard(self, f):
        # f is ussh's own code, called from the user's (print, input): the
        # main thread's callback leaves it alone
        def g(*a):
            if not self.inside:
                _port.kbd_settle()
            self.inside += 1
            try:
                return f(*a)
            finally:
                self.inside -= 1

        return g

    def watch(self, sock, conn, on):
        if not on:
            self.lock.acquire()
            self.sock = self.conn = self.ch = None
            self.lock.release()
            _port.main_call(None)
            return _port.kbd_settle()
        self.poke = _port.main_call(self.look)
        if self.poke is None:  # CPython outside the main thread: no signals
            return
        self.ch = None if on is True else on  # the channel, when the caller says
        self.asked = 0
        conn.pump(False)  # replies queued so far (exec's success) go out first
        self.conn = conn
        self.sock = sock  # last: the thread starts polling it
        if not self.started:
            self.started = True
            _thread.start_new_thread(self.run, ())
        if self.go.locked():
            self.go.release()

    def run(self):
        # the watcher thread
        p = s = None
        while True:
            try:
                if self.sock is None:
                    p = s = None
                    self.go.acquire()  # sleeps until watch(True)
                    continue
                if self.sock is not s:
                    s = self.sock
                    p = select.poll()
                    p.register(s, select.POLLIN)
                if not p.poll(_POLL_MS):
                    continue
                self.lock.acquire()
                try:
                    if self.sock is s and (not self.asked or ticks_diff(ticks_ms(), self.asked) > _RETRY_MS):
                        self.asked = ticks_ms() | 1
                        self.poke()
                finally:
                    self.lock.release()
                time.sleep(_NAP)
            except BaseException:  # noqa: B036 -- a socket closed under us, a stray SIGINT: go on
                time.sleep(_NAP)

    def look(self, frame):
        # the main thread, between two bytecodes of whatever it runs
        conn = self.conn
        if conn is None or self.inside or not _port.user_code(frame):
            self.asked = 0
            return
        self.inside += 1
        try:
            conn.pump(False)
        finally:
            self.inside -= 1
        hit = conn.closed
        for ch in (self.ch,) if self.ch else list(conn.channels.values()):
            if ch.interrupt or ch.closed_in:
                ch.interrupt = False
                hit = True
            elif ch.repl is not None and getattr(ch.repl, "intr", True) and ch.inbuf.find(b"\x03") >= 0:
                # (ussh.rawrepl's intr: False while 0x03 is data, as in mpremote's mount)
                # as the REPL's own poll: the 0x03 goes, typed-ahead bytes stay
                n = len(ch.inbuf)
                ch.inbuf = bytearray(bytes(ch.inbuf).replace(b"\x03", b""))
                ch.consumed(n - len(ch.inbuf))
                hit = True
        if not hit:
            self.asked = 0
            return
        self.asked = ticks_ms() | 1  # no new request while the interrupt lands
        _port.kbd_interrupt()  # last: on some ports it raises once this returns


class _Hook:
    # one connection's side of the watcher: the scheduler's hook
    def __init__(self, w, sock, conn):
        self.w, self.sock, self.conn = w, sock, conn
        self.guard = w.guard

    def enter(self, ch):
        self.w.watch(self.sock, self.conn, ch)

    def leave(self):
        self.w.watch(self.sock, self.conn, None)


def attach(sock, conn):
    """Let Ctrl-C interrupt the code that conn runs; sock is its socket."""
    global _w
    if _w is None:
        _w = _Watcher()
    conn.sched.hook = _Hook(_w, sock, conn)
