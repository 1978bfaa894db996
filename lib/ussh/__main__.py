# Command line: python -m ussh / micropython -m ussh, the same flags on both (ussh.cli).
import gc
import sys

import ussh
from ussh import cli

args = cli.parse(sys.argv[1:])
del sys.modules["ussh.cli"], ussh.cli, cli  # its code leaves the heap
if type(args) is int:
    sys.exit(args)
# A small heap (-X heapsize= under 512 KB, a board's size): garbage is collected every 4 KB
# allocated, from the imports on, as on a board (boards/*/main.py): the short-lived objects
# then go while few instead of spreading over the free heap and leaving the lasting ones
# scattered (the unix port's smallest heap for a login, modules from .mpy, bench/footprint.py:
# 184-188 KB -> 172 KB; the imports alone: 170 KB -> 138 KB)
if hasattr(gc, "mem_free") and gc.mem_free() + gc.mem_alloc() < 524288:
    gc.threshold(4096)
from ussh.crypto import rand  # noqa: E402
from ussh.server import run  # noqa: E402

try:
    run(args[0], args[1], **args[2])
except KeyboardInterrupt:
    pass
except rand.NoEntropy as e:
    print("ussh: not started: %s" % e)
    sys.exit(1)
