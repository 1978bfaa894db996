# python -m ussh's command line (ussh.__main__), the same flags on CPython and MicroPython:
# parsed in a module of its own that the entry lets go before it serves (this module held
# 5 KB of a small heap for as long as the server ran)
from ussh import VERSION

_USAGE = """usage: ussh [--bind ADDR] [--port N] [--host-key PATH] [--authorized-keys PATH]
            [--max-connections N] [--login-grace SECONDS] [--rekey-bytes N] [--root DIR]
            [--idle-timeout SECONDS] [--send-timeout SECONDS] [--kex-timeout SECONDS]
            [--max-channels N] [--max-packet N]
            [--trusted-ca FILE] [--cert-ignore-clock] [--password-hash HASH] [--legacy-mac]
            [--host-cert FILE] [--permit-open "HOST:PORT ..."|any|none]
Serves SSH: exec and shell run Python, sftp and scp reach the files under --root.
Defaults: --bind 127.0.0.1 --port 2222 --host-key ssh_host_ed25519_key (created
when missing) --authorized-keys authorized_keys --root: the folder "files" beside
the host key (made when missing; never the folder of the server's own files)
--max-connections 8 --login-grace 60 --idle-timeout 0 (none) --send-timeout 30 --kex-timeout 30
--max-channels 4 --max-packet 35000 (the README's Limits table says what each does)
--trusted-ca: a file of CA public keys whose user certificates log in;
--cert-ignore-clock: accept certificates when the clock is not set;
--password-hash: enables passwords (python -m ussh.passwd makes the hash);
--legacy-mac: also offer hmac-sha2-256 (encrypt-and-MAC) for clients without
encrypt-then-MAC (Dropbear 2022's dbclient); off: hmac-sha2-256-etm@openssh.com only;
--host-cert: a host certificate of the host key (ssh-keygen -s CA -h), offered to clients;
--permit-open: where ssh -L may reach, as sshd's PermitOpen (default: this machine,
"localhost:* 127.0.0.1:* [::1]:*"; "none": no forwarding)"""


def parse(argv):
    """(address, port, keyword arguments for ussh.server.run) from argv, or the exit status
    when there is nothing to serve (help, version, a bad argument: printed)."""
    opts = {
        "--bind": "127.0.0.1",
        "--port": "2222",
        "--host-key": "ssh_host_ed25519_key",
        "--authorized-keys": "authorized_keys",
        "--max-connections": "8",
        "--rekey-bytes": None,
        "--login-grace": None,
        "--idle-timeout": None,
        "--send-timeout": None,
        "--kex-timeout": None,
        "--max-channels": None,
        "--max-packet": None,
        "--root": None,
        "--trusted-ca": None,
        "--password-hash": None,
        "--host-cert": None,
        "--permit-open": None,
    }
    settings = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(_USAGE)
            return 0
        if a == "--version":
            print("ussh", VERSION)
            return 0
        if a in ("--cert-ignore-clock", "--legacy-mac"):
            settings[a[2:].replace("-", "_")] = True
            i += 1
            continue
        if a not in opts or i + 1 >= len(argv):
            print("ussh: bad argument %s\n%s" % (a, _USAGE))
            return 2
        opts[a] = argv[i + 1]
        i += 2
    root = opts["--root"]
    if root is None:  # sftp and scp must not reach the host key or authorized_keys
        hk = opts["--host-key"]
        root = (hk[: hk.rfind("/")] if "/" in hk else ".") + "/files"
        try:
            import os

            os.mkdir(root)
        except OSError:
            pass

    for flag in ("--rekey-bytes", "--login-grace", "--idle-timeout", "--send-timeout", "--kex-timeout", "--max-channels", "--max-packet"):
        if opts[flag]:
            settings[flag[2:].replace("-", "_")] = int(opts[flag])
    if opts["--trusted-ca"]:
        settings["trusted_cas"] = opts["--trusted-ca"]
    if opts["--host-cert"]:
        settings["host_cert"] = opts["--host-cert"]
    if opts["--permit-open"]:
        settings["permit_open"] = opts["--permit-open"]
    if opts["--password-hash"]:
        settings["password_hash"] = opts["--password-hash"]
    return opts["--bind"], int(opts["--port"]), dict(
        host_key=opts["--host-key"],
        authorized_keys=opts["--authorized-keys"],
        max_connections=int(opts["--max-connections"]),
        root=root,
        **settings
    )
