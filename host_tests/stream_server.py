# A ProxyCommand for tests: serves one SSH connection on stdin/stdout with
# ussh.stream.serve_stream, log lines on stderr. On MicroPython it first makes
# the imports the qemu Cortex-M3 port lacks fail (time, select, socket,
# asyncio, cryptolib, _thread), so the whole import closure of the stream
# driver is checked. Runs on CPython and the MicroPython unix port:
#     stream_server.py HOST_KEY_FILE AUTHORIZED_KEYS_FILE [--no-urandom] [--heap-floor]
import sys

args = sys.argv[1:]
MP = sys.implementation.name == "micropython"
HIDDEN = ("time", "select", "socket", "asyncio", "cryptolib", "_thread")

if MP:
    import builtins

    _real_import = builtins.__import__

    def _import(name, *a):
        if name.split(".")[0] in HIDDEN:
            raise ImportError("no module named '%s' (hidden: not on the qemu port)" % name)
        return _real_import(name, *a)

    builtins.__import__ = _import

with open(args[0], "rb") as f:
    host_key = f.read()
with open(args[1], "rb") as f:
    authorized = f.read()

from ussh import compat  # noqa: E402

if "--no-urandom" in args:
    compat._urandom = None


def log(msg):
    sys.stderr.write(msg + "\n")


from ussh.startup import make_config  # noqa: E402
from ussh.crypto import rand  # noqa: E402
from ussh.stream import serve_stream  # noqa: E402

try:
    cfg = make_config(host_key, authorized, log=log)
except rand.NoEntropy as e:
    log("ussh: not started: %s" % e)
    sys.exit(3)

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer


def write(b):
    stdout.write(b)
    stdout.flush()


conn = serve_stream(stdin.read, write, cfg, peer="stdio")
if MP:
    for m in HIDDEN:
        if m in sys.modules:
            log("stream_server: %s was imported" % m)
            sys.exit(4)
log("stream_server: done, user %s" % conn.user)
