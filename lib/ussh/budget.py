# The memory one connection holds, as a bound from its Config (README "Limits"):
#   receive buffer   one packet as the client sends it, and the copy of its channel
#                    data: up to the window each (paramiko sends 4 KB packets whatever
#                    channel_max_packet we announce; a KEXINIT or an RSA login is about
#                    2 KB; max_packet is the transport's hard limit, RFC 4253 §6.1)
#   channel input    the window we grant (the client may have that much in flight),
#                    and the copy a program takes of it
#   channel output   the channel's buffer and its spare (output written while the other
#                    waits for the client's window), the message (header + data) and
#                    the encrypted packet: four of channel_max_packet (our packets are no
#                    larger than those we take, whatever the client accepts)
#   cipher and MAC   AES-CTR key schedules and HMAC states, both directions
#   SFTP / scp       a request held whole (small but for WRITE, whose data streams
#                    to the file), a READ reply of at most 2 packets; scp moves one
#                    packet at a time
# A board's default (make_config without channel_max_packet/window) comes from
# the free heap at start: the largest packet size whose bound fits a share of it.
import gc

from ussh.compat import const

_FRAMING = const(64)  # packet length, padding, MAC, channel header
_CRYPTO = const(2048)  # two AES-CTR contexts and two HMAC-SHA256 states, about
_FIXED = const(6144)  # Connection, Transport, Channel objects, dicts, names: measured order
_SMALL_HEAP = const(524288)
_MAX_PACKET = const(35000)  # Config.max_packet's default  # a heap under this is a board's: budget it


def table(cfg):
    """[(what, bytes)] one connection holds at most, from cfg; the last row is the total."""
    p = cfg.channel_max_packet + _FRAMING
    rows = [
        ("receive buffer + data copy", 2 * (max(cfg.channel_max_packet, min(cfg.window, cfg.max_packet)) + _FRAMING)),
        ("channel input (window + copy)", 2 * cfg.window),
        ("channel output (buffers + packet copies)", 4 * p),
        ("cipher and MAC state", _CRYPTO),
        ("SFTP or scp (request + reply)", 3 * cfg.channel_max_packet),
        ("objects", _FIXED),
    ]
    rows.append(("total", sum(r[1] for r in rows)))
    return rows


def per_connection(cfg):
    return table(cfg)[-1][1]


def describe(cfg, free=None):
    """One line for the log: the budget a connection ran out of, and free, the
    free heap (bytes) where the runtime reports it."""
    line = "budget %d B a connection (packets of %d B, window %d B)" % (
        per_connection(cfg), cfg.channel_max_packet, cfg.window)
    return line if free is None else line + "; %d B of heap free" % free


def defaults(free, connections=2):
    """channel_max_packet and window for a heap with `free` bytes free and that many
    connections at once (a dict for make_config; {} when the heap is not a board's)."""
    if free >= _SMALL_HEAP:
        return {}
    share = free // (connections + 1)  # one share stays for user code and the compiler
    c = _Sizes()
    c.max_packet = _MAX_PACKET
    c.channel_max_packet = 16384
    while True:
        c.window = 4 * c.channel_max_packet  # a window of four packets
        if c.channel_max_packet <= 512 or per_connection(c) <= share:
            return {"channel_max_packet": c.channel_max_packet, "window": c.window}
        c.channel_max_packet //= 2


class _Sizes:
    pass


def free_heap():
    """gc.mem_free() after a collection, or None where the runtime has no such figure."""
    f = getattr(gc, "mem_free", None)
    if f is None:
        return None
    gc.collect()
    return f()
