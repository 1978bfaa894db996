# A server's start: its Config made from key files and settings (make_config), and the Config's
# plugin registry (registry: ussh.plugins' rows that the Config's keys and settings call for).
# Only the start needs it: the drivers let it go with ussh.authkeys and ussh.budget once the Config is made
# (ussh.server.serve; a board's main: boards/qemu/main.py, tools/qemu_small.py), 0.3 KB of a
# small board's heap for the whole of its life, and 0.45 KB of the unix port's.
from ussh.connection import Config


def make_config(host_key="ssh_host_ed25519_key", authorized_keys="authorized_keys", log=print, **settings):
    """A Config for serve() or serve_stream(). host_key: a keys.HostKey, the
    bytes of an OpenSSH private key file, or a path (the key is created
    when missing); authorized_keys: parsed entries, the bytes of such a
    file, or a path (lines that cannot be used are logged with their
    number). Raises rand.NoEntropy when there is no source of randomness."""
    from ussh import authkeys, keyfile
    from ussh.crypto import rand

    rand.require()  # refuse here, at start, rather than at the first client
    if isinstance(host_key, str):
        host_key = keyfile.load_or_create(host_key, log)
    elif isinstance(host_key, (bytes, bytearray)):
        host_key = keyfile.parse(host_key)
    # the host key's check and the cipher's first use: warm(), idle work
    if isinstance(authorized_keys, str):
        authorized_keys = authkeys.load(authorized_keys, log)
    elif isinstance(authorized_keys, (bytes, bytearray)):
        authorized_keys = authkeys.parse(authorized_keys, log)
    if "channel_max_packet" not in settings and "window" not in settings:
        # a board's heap: packets and window from the free heap (ussh.budget)
        from ussh import budget

        free = budget.free_heap()
        if free is not None:
            settings.update(budget.defaults(free))
    cas = settings.get("trusted_cas")
    if isinstance(cas, str):  # a file of CA keys, in authorized_keys format
        settings["trusted_cas"] = authkeys.load(cas, log) if cas else ()
    return Config(host_key=host_key, authorized_keys=authorized_keys, log=log, **settings)


def registry(cfg):
    """The registry for cfg: the core's rows, then the optional modules its
    keys, CAs and settings need (each only if installed)."""
    from ussh import kex
    from ussh.plugins import KEY_MODULES, Registry, _verify_ed25519, load_key_rows

    reg = Registry()
    reg.key_type(b"ssh-ed25519", b"ssh-ed25519", _verify_ed25519)
    reg.use("pqkex")  # preferred when there: OpenSSH 9.9+ picks it
    for row in kex.KEX_METHODS:
        reg.kex_method(*row)
    reg.subsystem(b"sftp", "ussh.sftp")
    reg.exec_handler("scp ", "ussh.scp")  # legacy scp (rcp protocol): the client runs `scp -t`/`scp -f`
    if cfg.permit_open != "none":
        reg.channel_type(b"direct-tcpip", "ussh.forward")  # ssh -L (imported at the first request)
        reg.service("repl", "ussh.rawrepl")  # ssh -L 7000:repl:1: mpremote's raw REPL
    cas = bool(cfg.trusted_cas)
    for e in cfg.authorized_keys:
        if e.algorithm in KEY_MODULES:
            reg.use(KEY_MODULES[e.algorithm])
        cas = cas or ("cert-authority", None) in e.options
    for e in cfg.trusted_cas:
        if e.algorithm in KEY_MODULES:
            reg.use(KEY_MODULES[e.algorithm])
    if cas:
        # a certificate may certify a key of any type: every verifier installed, then the
        # certificate rows for those (ussh.cert)
        load_key_rows(reg)
        reg.use("cert")
    return reg
