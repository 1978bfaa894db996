# Who may hold a connection slot and how fast a client may guess, for the
# asyncio server (ussh.server). Two rules, modelled on sshd's MaxStartups,
# PerSourcePenalties and its failure delay:
#  - slots: when every slot is taken, a new connection makes room by ending
#    an unauthenticated one (never a logged-in one): the newcomer's own
#    source's oldest if it has one, else the oldest of the source holding
#    the most; so idle connections cannot lock a key's owner out of a board
#    that takes 2, and one source reconnecting only ever ends its own.
#  - failures: each failed login attempt (password or key) delays the next
#    one, growing per connection (STEP_MS, doubled each time, up to CAP_MS)
#    and per source address (BURST attempts, then one each REFILL_MS);
#    a login from the address forgets its failures.
#  - silence: a client that connects and closes without sending a byte (a
#    scanner; ssh-audit's DHEat rate test) takes one of SILENT_BURST from
#    its source's bucket, refilled SILENT_PER_S a second; while the bucket
#    is below empty, that source's new connections are closed unanswered.
from ussh.compat import const, ticks_diff

STEP_MS = 100  # after the first failure of a connection; doubled each time
CAP_MS = 5000
BURST = 10  # failures a source may make before it waits REFILL_MS for each
REFILL_MS = 2000
_SOURCES = const(32)  # source addresses remembered
SILENT_BURST = 10
SILENT_PER_S = 5


def source(peer):
    """The address part of a peer name ("ip:port", "[ip6]:port", "?")."""
    if peer[:1] == "[":
        return peer[1 : peer.find("]")]
    return peer.rsplit(":", 1)[0]


class Slot:
    """One connection: its Connection, socket, task, source and start."""

    def __init__(self, conn, sock, task, src, t0):
        self.conn, self.sock, self.task, self.source, self.t0 = conn, sock, task, src, t0
        self.evicted = False


def victim(slots, src):
    """The slot that gives way to a new connection from src, or None when
    every connection has logged in (the newcomer is refused)."""
    pre = [s for s in slots if s.conn.user is None and not s.evicted]
    pool = [s for s in pre if s.source == src]
    if not pool and pre:
        count = {}
        for s in pre:
            count[s.source] = count.get(s.source, 0) + 1
        most = max(count.values())
        pool = [s for s in pre if count[s.source] == most]
    best = None
    for s in pool:  # the oldest
        if best is None or ticks_diff(s.t0, best.t0) < 0:
            best = s
    return best


def conn_delay_ms(failures):
    """The delay after a connection's failures-th failed attempt (1, 2...)."""
    if failures < 1:
        return 0
    return min(CAP_MS, STEP_MS << min(failures - 1, 16))


class Sources:
    """Failed attempts per source address: a bucket of BURST that refills
    one each REFILL_MS; below empty, the wait until it is back at zero."""

    def __init__(self):
        self.table = {}  # source -> [tokens, ticks when counted]
        self.quiet = {}  # source -> [tokens, ticks]: connections closed unspoken

    def _tokens(self, e, now):
        return min(BURST, e[0] + ticks_diff(now, e[1]) / REFILL_MS)

    def failed(self, src, failures, now):
        """Counts a failure of a connection from src (its failures-th);
        the delay in ms before that connection may go on."""
        t = self.table
        e = t.get(src)
        if e is None:
            if len(t) >= _SOURCES:  # forget the source closest to a full bucket
                del t[max(t, key=lambda k: self._tokens(t[k], now))]
            e = t[src] = [BURST, now]
        e[0] = self._tokens(e, now) - 1
        e[1] = now
        wait = int(-e[0] * REFILL_MS) if e[0] < 0 else 0
        return max(wait, conn_delay_ms(failures))

    def succeeded(self, src):
        self.table.pop(src, None)

    def silent(self, src, now):
        """A connection from src closed without sending a byte; True when
        this starts the source's penalty (worth one log line)."""
        q = self.quiet
        e = q.get(src)
        if e is None:
            if len(q) >= _SOURCES:
                del q[max(q, key=lambda k: self._quiet(q[k], now))]
            e = q[src] = [SILENT_BURST, now]
        before = self._quiet(e, now)
        e[0], e[1] = before - 1, now
        return before >= 0 > e[0]

    def _quiet(self, e, now):
        return min(SILENT_BURST, e[0] + ticks_diff(now, e[1]) * SILENT_PER_S / 1000)

    def refuse(self, src, now):
        """Whether a new connection from src is closed unanswered."""
        e = self.quiet.get(src)
        return e is not None and self._quiet(e, now) < 0
