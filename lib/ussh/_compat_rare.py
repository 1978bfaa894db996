# compat's rarely used half (both pythons): what only optional modules or rare paths need (ssh -L,
# IPv6 peers' names, key files, certificates' clock, Ctrl-C for code that never prints), kept out
# of the heap of a session that does not use it.
# Like compat, the only place besides it that tells MicroPython from CPython.
import sys

from ussh.compat import MICROPYTHON, asyncio


async def open_tcp(host, port):
    """asyncio.open_connection(host, port) that raises OSError when nothing
    accepts: MicroPython's returns its stream either way, the refusal then
    pending on the socket (a send of nothing reports it)."""
    r, w = await asyncio.open_connection(host, port)
    if MICROPYTHON:
        try:
            w.s.send(b"")
        except OSError:
            await w.wait_closed()
            raise
    return r, w


def ip6_text(b):
    # 16 address bytes as RFC 5952 text; an IPv4-mapped address
    # (::ffff:a.b.c.d, an IPv4 client of a socket on "::") as plain IPv4
    if b[:12] == b"\0" * 10 + b"\xff\xff":
        return "%d.%d.%d.%d" % (b[12], b[13], b[14], b[15])
    g = [(b[i] << 8) | b[i + 1] for i in range(0, 16, 2)]
    best, at, i = 1, -1, 0
    while i < 8:  # the longest run of zero groups (at least 2) becomes "::"
        j = i
        while j < 8 and g[j] == 0:
            j += 1
        if j - i > best:
            best, at = j - i, i
        i = j + 1
    h = ["%x" % x for x in g]
    if at < 0:
        return ":".join(h)
    return ":".join(h[:at]) + "::" + ":".join(h[at + best :])


def unix_time():
    """Seconds since 1970-01-01 UTC, or None when the clock is not set
    (before 2020: a board without RTC or NTP) or the port has no time."""
    try:
        import time
    except ImportError:
        return None
    t = time.time()
    if MICROPYTHON and getattr(time, "gmtime", time.localtime)(0)[0] == 2000:  # 2000 epoch
        t += 946684800
    return t if t >= 1577836800 else None


if not MICROPYTHON:
    from ussh._compat_cpython import can_interrupt, interrupt_port, open_private  # noqa: F401

else:

    def open_private(path):
        # MicroPython's os has no chmod: the file is made empty, owner-only
        # by chmod(1) where the port can run it (the unix port), checked,
        # and only then written; boards' filesystems keep no modes
        import os

        open(path, "wb").close()
        run = getattr(os, "system", None)
        if run is not None:
            run("chmod 600 '%s'" % path.replace("'", "'\\''"))
            if os.stat(path)[0] & 0o077:
                os.remove(path)
                raise OSError(1, "cannot make it readable by its owner only (chmod 600 failed)")
        return open(path, "wb")

    # interrupting running code (ussh.interrupt, ports with threads)

    def can_interrupt():
        """Whether ussh.interrupt works here: threads, micropython.schedule,
        and a way to raise KeyboardInterrupt in the main thread."""
        try:
            import _thread  # noqa: F401
            import micropython
            import os
        except ImportError:
            return False
        return hasattr(micropython, "schedule") and (
            hasattr(os, "dupterm_notify") or (sys.platform in ("linux", "darwin") and hasattr(os, "system"))
        )

    def interrupt_port():
        # the mechanisms behind ussh.interrupt, loaded only by it
        from ussh import _interrupt_mp

        return _interrupt_mp
