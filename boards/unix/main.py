# main.py for the virtual board (MicroPython unix port, tools/vboard.py), copied by `make deploy`.
# ussh serves SSH as an asyncio task beside your own code, set up by ussh.cfg
# (Wi-Fi, port, key files, session limit). It prints the IP, port and host key
# fingerprint; a missing or wrong ussh.cfg is reported here and the board goes on.
import asyncio

import ussh

server = ussh.start("ussh.cfg")

# Your own code goes here; run it as asyncio tasks so SSH keeps answering:
#     asyncio.create_task(my_task())

if server is not None:  # otherwise: back to the REPL, nothing to serve
    asyncio.get_event_loop().run_forever()
