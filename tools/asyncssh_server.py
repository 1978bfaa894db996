"""asyncssh peer for ussh's login benchmark: key auth only, ussh's algorithm set, and exec of
`echo ARGS` answered in-process (writes ARGS and a newline, exit 0), so no shell start-up is
counted; for the client tests also `cat` (stdin back to stdout, "err" to stderr), `exit N` and SFTP
(asyncssh's own server, the real filesystem). Any other command exits 127. Shell sessions are refused.

usage: python tools/asyncssh_server.py --port P --host-key FILE --authorized-keys FILE
"""
import argparse
import asyncio
import sys

import asyncssh


async def handle(process):
    cmd = process.command
    if cmd is not None and (cmd == "echo" or cmd.startswith("echo ")):
        process.stdout.write((cmd[5:] + "\n").encode())
        process.exit(0)
    elif cmd == "cat":
        process.stderr.write(b"err")
        async for data in process.stdin:
            process.stdout.write(data)
        process.exit(0)
    elif cmd is not None and cmd.startswith("exit "):
        process.exit(int(cmd[5:]))
    else:
        process.stderr.write(b"asyncssh peer: only `echo ...` is supported\n")
        process.exit(127)


async def serve(a):
    await asyncssh.listen(
        "127.0.0.1",
        a.port,
        server_host_keys=[a.host_key],
        authorized_client_keys=a.authorized_keys,
        password_auth=False,
        kbdint_auth=False,
        kex_algs=["curve25519-sha256"],
        encryption_algs=["aes128-ctr"],
        mac_algs=["hmac-sha2-256-etm@openssh.com"],
        compression_algs=["none"],
        signature_algs=["ssh-ed25519"],
        process_factory=handle,
        encoding=None,
        sftp_factory=True,
        allow_pty=False,
    )
    print("asyncssh %s listening on 127.0.0.1:%d" % (asyncssh.__version__, a.port), flush=True)
    await asyncio.Event().wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host-key", required=True)
    ap.add_argument("--authorized-keys", required=True)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
