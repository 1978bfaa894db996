# Where user code runs on a connection's channels (RFC 4254 §6.5: exec,
# shell, subsystem). One piece of code runs at a time, inside the driver's
# call to conn.feed(); while it runs, the connection is pumped from inside it
# (conn.wait, conn.poll) and what arrives for other channels only queues. The
# state of running code lives here: the running channel, the deferred starts
# and the hook of the interrupt watch. One rule, settle(), runs after every
# piece of user code ends and whenever work arrives while none runs:
#   1. deferred starts, in the order they were requested;
#   2. then every channel with pending input, EOF or CLOSE.
from ussh.channel import ChannelClosed


class Scheduler:
    def __init__(self, conn):
        self.conn = conn
        self.running = None  # the channel whose code runs
        self.deferred = []  # (channel, kind, arg) starts waiting for their turn
        self.active = False  # settle() is on the stack: a nested call leaves the work to it
        # the interrupt watch (ussh.interrupt), optional: enter(ch) when user
        # code starts on ch, leave() when it ends, guard(f) for each function
        # that user code calls back into ussh through (output, input, poll)
        self.hook = None

    def start(self, ch, kind, arg):
        """Run kind (b"exec", b"shell", b"subsystem") with arg on ch when its
        turn comes: at once when nothing runs."""
        self.deferred.append((ch, kind, arg))
        self.settle()

    def settle(self):
        """The rule: run what is due until nothing is."""
        if self.active:
            return  # the caller below on the stack loops until nothing is due
        self.active = True
        try:
            conn = self.conn
            while not conn.closed:
                if self.deferred:
                    ch, kind, arg = self.deferred.pop(0)
                    if ch.closed_in or ch.closed_out:
                        ch.finish(0)  # closed before its turn: nothing runs
                    else:
                        self._piece(ch, _launch, (self, ch, kind, arg))
                    continue
                ch = self._due()
                if ch is None:
                    break
                if ch.repl is None or ch.closed_in:  # the client closed it: no more code runs there
                    ch.finish(0)
                else:
                    self._piece(ch, _feed, ch)
        finally:
            self.active = False

    def _due(self):
        # a channel with work that no running or deferred code will do
        for ch in list(self.conn.channels.values()):
            if ch.closed_out or not ch.started:
                continue
            waiting = [1 for d in self.deferred if d[0] is ch]
            if waiting:
                continue
            if ch.closed_in or (ch.repl is not None and (ch.inbuf or ch.eof_in or ch.repl.closed)):
                return ch
        return None

    def _piece(self, ch, fn, arg):
        conn = self.conn
        self.running = ch
        try:
            if fn is _launch:
                conn.poll()  # the request's reply goes out before the code runs
            if self.hook is not None:
                self.hook.enter(ch)
            fn(arg)
        except (ChannelClosed, KeyboardInterrupt):
            # a "signal" request that lands in ussh's own output (scp, an
            # error message) ends that channel's program, not the connection
            ch.finish(1)
        finally:
            self.running = None
            if self.hook is not None:
                self.hook.leave()

    def io(self, f):
        # f as user code gets it: guarded by the hook, when there is one
        return f if self.hook is None else self.hook.guard(f)

    def streams(self, ch):
        """(out, err, stdin, poll) of ch for user code."""
        g = self.io
        return g(ch.out), g(ch.err), _Stdin(g, ch), g(ch.poll)


def _launch(a):
    sched, ch, kind, arg = a
    conn = sched.conn
    if conn.forced is not None:  # sshd(8) command="...": runs instead
        from ussh import keyopts

        return keyopts.run_forced(conn, ch, kind, arg)
    out, err, stdin, poll = sched.streams(ch)
    if kind == b"exec":
        try:
            cmd = arg.decode()
        except UnicodeError:
            ch.err(b"ussh: the command is not UTF-8 text\n")
            return ch.finish(1)
        conn.log("exec %r" % cmd)
        for prefix, name in conn.cfg.reg.execs:  # exec handlers (ussh.plugins): scp's
            if cmd.startswith(prefix):
                try:
                    mod = __import__(name, None, None, ("run",))
                except ImportError:  # not installed: the command runs as Python
                    break
                return ch.finish(mod.run(conn, ch, cmd))
        from ussh.pyrun import run_command  # not the shell's editor (ussh.repl)

        ch.finish(run_command(cmd, out, err, stdin))
    elif kind == b"shell":
        repl = __import__(conn.cfg.shell, None, None, ("Repl",))  # ussh.repl or ussh.lineshell
        ch.repl = repl.Repl(out, err, stdin, pty=ch.pty is not None, poll=poll)
        ch.flush()  # its input, EOF or CLOSE: the rule's second step
    else:
        # a subsystem (a module with start(conn, channel) returning an object
        # with feed(data), eof() and `closed`) is fed the channel's data like the shell
        mod = __import__(conn.cfg.reg.subsystems[arg], None, None, ("start",))
        ch.repl = mod.start(conn, ch)
        ch.flush()


class _Stdin:
    # the channel's input as user code reads it (input(), sys.stdin)
    def __init__(self, g, ch):
        self.readline = g(ch.readline)
        self.read = g(ch.read)


def _feed(ch):
    # the channel's queued input, then its EOF or CLOSE, to its program. A
    # "signal" that came while none of its code ran is not kept for the next
    # statement (a shell at its prompt drops it)
    ch.interrupt = False
    r = ch.repl
    while ch.inbuf and not r.closed:  # in take_input()'s pieces
        r.feed(ch.take_input())
    if ch.eof_in and not ch.inbuf:
        r.eof()
    ch.flush()
    if r.closed or ch.eof_in or ch.closed_in:
        ch.finish(0)
