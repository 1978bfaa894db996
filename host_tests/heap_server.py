"""ussh for the fault tests, run by the MicroPython unix port (or CPython): the command line's
server, plus a test hook that prints `heap-free N` (free heap after gc.collect(), MicroPython only)
when each connection has ended. Nothing of this is in lib/ussh: the hook costs a collection per
connection.

    micropython host_tests/heap_server.py PORT HOST_KEY AUTHORIZED_KEYS ROOT MAX_CONNECTIONS [NAME=INT ...]
"""
import gc
import sys

from ussh import server, startup
from ussh.compat import asyncio


def main(argv):
    port, host_key, authorized_keys, root, maxc = argv[:5]
    settings = {}
    for a in argv[5:]:
        k, v = a.split("=")
        settings[k] = int(v)
    cfg = startup.make_config(host_key=host_key, authorized_keys=authorized_keys, root=root, **settings)
    srv = server.Server(cfg, int(maxc))
    inner = srv.connection

    async def connection(sock, addr):
        await inner(sock, addr)
        gc.collect()
        if hasattr(gc, "mem_free"):
            print("heap-free %d" % gc.mem_free())

    srv.connection = connection
    asyncio.run(srv.serve("127.0.0.1", int(port)))


main(sys.argv[1:])
