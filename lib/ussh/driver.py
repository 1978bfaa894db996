# What the drivers share (ussh.server, the asyncio server; ussh.stream, the UART boards' and the
# virtual board's): one turn of a connection (pump), the idle work before the first client (warm),
# and letting modules go whose code a small heap cannot keep (unload, in_heap).
import sys


# What a driver lets go, loaded from a file (in_heap): the key exchange's protocol once the session
# id is made, the login's code once a client has logged in, and what only a start uses (making the
# Config, reading the host key's file, parsing authorized_keys) once the Config is made
KEX = ("ussh.kex",)
LOGIN = ("ussh.auth",)
START = ("ussh.startup", "ussh.keyfile", "ussh.authkeys")


def in_heap(names):
    """Those of the modules names that were loaded from files, their code in the heap: what a
    driver may let go. A frozen module's code is in flash: letting it go would free only its few
    objects, and imported again inside a session they would land among its buffers. (MicroPython
    names a frozen module's __file__ by the path it was frozen under, "ussh/kex.py", a loaded
    one by where it was found, "/lib/ussh/kex.mpy"; a .py in the current folder looks frozen
    and is kept; CPython's are absolute paths.)"""
    m = sys.modules
    return [n for n in names if n in m and not _frozen(getattr(m[n], "__file__", ""))]


def _frozen(f):
    return f.startswith("ussh/") and not f.endswith(".mpy")


def unload(names):
    """Lets the modules names go (sys.modules and their package's attribute): their code leaves
    the heap once nothing of theirs is in use, and the next import loads them again. A board
    whose heap cannot hold every module a session may load sets cfg.unload to those (the shell's,
    SFTP's): let go after each connection by its main, and by ussh.stream when a connection ran
    out of memory, before the client is told (on the 110 KB board the DISCONNECT found no room
    beside a shell's half-loaded editor). The drivers let the login's code go once a client has
    logged in, the asyncio server on a board's budget also the key exchange's (ussh.server)."""
    for n in names:
        if sys.modules.pop(n, None) is not None:
            pkg, _, attr = n.rpartition(".")
            try:
                delattr(sys.modules[pkg], attr)
            except (KeyError, AttributeError):
                pass


def warm(cfg):
    """Idle work a driver runs while it waits for its first client (the
    stream driver before the version line, the asyncio server once it
    listens), once per Config: the host key's check (keys.HostKey.check,
    RFC 8032 §5.1.5; it also expands the signing key, cached) and the
    cipher's first use (its tables; a board without the viper code frozen
    compiles it): 4.4 million Cortex-M3 instructions the first client does
    not wait for and the start-up does not take. Raises keys.KeyFileError
    for a host key whose halves disagree."""
    if cfg.warm:
        return
    check = getattr(getattr(cfg.host_key, "key", cfg.host_key), "check", None)
    if check:
        check()
    from ussh.crypto import AESCTR, ed25519

    AESCTR(bytes(16), bytes(16)).apply(bytearray(16))
    if not ed25519._fast:  # the users' keys' tables for the portable verification (ed25519_pre)
        from ussh.crypto.ed25519_pre import prepare_entries

        prepare_entries(cfg.authorized_keys)
    cfg.warm = True


def pump(conn, send, recv, block):
    """One turn of a driver, shared by the asyncio server (its conn.pump
    while a command runs) and the stream driver (its whole loop): handles
    packets already buffered, then sends conn.outq with send() and feeds
    what recv(block) returns: bytes, None when nothing came (at once when
    not block; a blocking recv may also give up after a while: callers of
    conn.wait() loop), b"" at the end of the stream. OSError ends the
    connection."""
    try:
        # packets that arrived with the one being handled come first
        if conn.feed(b"") and block:
            return send()
        send()
        if conn.closed:
            return
        data = recv(block)
        if data is None:
            return
        if not data:
            return conn.lost("closed by client")
        conn.feed(data)
        send()
    except OSError as e:
        conn.lost(str(e))
