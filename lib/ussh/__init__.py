"""ussh: a small SSH server for MicroPython boards, the same code on CPython.

    import ussh
    ussh.run()                      # blocking, for a board's main.py
    await ussh.serve(port=22, ...)  # beside your own asyncio tasks

Keyword arguments: host, port, host_key (path; created when missing),
authorized_keys (path), max_connections, and the settings of
ussh.connection.Config (login_grace, rekey_bytes, window, ...).
"""

VERSION = "0.1.0"


def serve(host="0.0.0.0", port=22, **kw):
    """Coroutine: serve SSH until cancelled (see ussh.server.serve)."""
    from ussh.server import serve

    return serve(host, port, **kw)


def run(host="0.0.0.0", port=22, **kw):
    """Serve SSH forever; does not return (see ussh.server.run)."""
    from ussh.server import run

    run(host, port, **kw)


def start(config="ussh.cfg", log=print):
    """One line for a board's main.py, like webrepl.start(): reads config
    (Wi-Fi, port, key paths, session limit; see ussh.board), joins Wi-Fi,
    starts the server as an asyncio task and prints IP, port and host key
    fingerprint. Returns the task, or None (after printing why) when the
    config is missing or wrong; run your asyncio loop afterwards."""
    from ussh.board import start

    return start(config, log)
