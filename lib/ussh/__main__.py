# Command line: python -m ussh / micropython -m ussh, the same flags on both.
import sys

from ussh import VERSION

_USAGE = """usage: ussh [--bind ADDR] [--port N] [--host-key PATH] [--authorized-keys PATH]
            [--max-connections N] [--login-grace SECONDS] [--rekey-bytes N] [--root DIR]
Serves SSH: exec and shell run Python, sftp and scp reach the files under --root.
Defaults: --bind 127.0.0.1 --port 2222 --host-key ssh_host_ed25519_key (created
when missing) --authorized-keys authorized_keys --root . (the current folder)"""


def main(argv):
    opts = {
        "--bind": "127.0.0.1",
        "--port": "2222",
        "--host-key": "ssh_host_ed25519_key",
        "--authorized-keys": "authorized_keys",
        "--max-connections": "8",
        "--rekey-bytes": None,
        "--login-grace": None,
        "--root": ".",
    }
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(_USAGE)
            return 0
        if a == "--version":
            print("ussh", VERSION)
            return 0
        if a not in opts or i + 1 >= len(argv):
            print("ussh: bad argument %s\n%s" % (a, _USAGE))
            return 2
        opts[a] = argv[i + 1]
        i += 2
    from ussh.server import run

    settings = {}
    for flag in ("--rekey-bytes", "--login-grace"):
        if opts[flag]:
            settings[flag[2:].replace("-", "_")] = int(opts[flag])
    try:
        run(
            opts["--bind"],
            int(opts["--port"]),
            host_key=opts["--host-key"],
            authorized_keys=opts["--authorized-keys"],
            max_connections=int(opts["--max-connections"]),
            root=opts["--root"],
            **settings
        )
    except KeyboardInterrupt:
        pass
    return 0


sys.exit(main(sys.argv[1:]))
