# The one plugin mechanism: each server configuration has a Registry with a
# slot per kind of feature (key exchanges, user key types, subsystems, exec
# handlers), filled by registration calls. ussh.startup.registry(cfg) is the one place that
# decides which optional modules a configuration needs: it imports each and
# calls its register(reg). No module adds itself to another's table when
# imported, so what a server offers (KEXINIT, server-sig-algs) follows its own
# configuration, not what the process happened to import before.

# user key type -> the optional module (under ussh) that verifies it
KEY_MODULES = {
    b"ssh-rsa": "key_rsa",
    b"ecdsa-sha2-nistp256": "key_ecdsa",
    b"sk-ssh-ed25519@openssh.com": "key_sk",
    b"sk-ecdsa-sha2-nistp256@openssh.com": "key_sk",
}


class Registry:
    def __init__(self):
        # signature algorithm -> (key type in the blob, verify(att, data, sig)
        # -> None when good, else why not; data None asks about the key
        # alone[, lookup(att) -> why for certificates: sets att.entry])
        self.verifiers = {}
        self.kex = []  # (name, server side of the exchange), preferred first
        self.subsystems = {}  # name -> module (imported when a client asks)
        self.execs = []  # (command prefix, module with run(conn, ch, cmd) -> status)
        self.channel_types = {}  # channel type beyond "session" -> module with request(conn, r, id, window, max)
        # direct-tcpip destination hosts served in the board, not over TCP -> module with
        # start(conn, id, window, max)
        self.services = {}
        self.loaded = []  # the optional modules registered, by name

    # -- the registration calls, one per slot
    def key_type(self, alg, key_type, verify, lookup=None):
        self.verifiers[alg] = (key_type, verify) if lookup is None else (key_type, verify, lookup)

    def kex_method(self, name, fn, first=False):
        if first:
            self.kex.insert(0, (name, fn))
        else:
            self.kex.append((name, fn))

    def subsystem(self, name, module):
        self.subsystems[name] = module

    def exec_handler(self, prefix, module):
        self.execs.append((prefix, module))

    def channel_type(self, name, module):
        self.channel_types[name] = module

    def service(self, host, module):
        self.services[host] = module

    def use(self, name):
        """Imports optional module ussh.<name> and has it register; False
        when it is not installed."""
        if name in self.loaded:
            return True
        try:
            mod = __import__("ussh." + name, None, None, ("register",))
        except ImportError:  # an install without it
            return False
        mod.register(self)
        self.loaded.append(name)
        return True


def _verify_ed25519(att, data, sig):
    # auth.verify_ed25519, ussh.auth imported at the first login (not with the server)
    from ussh.auth import verify_ed25519

    return verify_ed25519(att, data, sig)


def load_key_rows(reg):
    """Every user key type installed (what certificates may carry)."""
    for name in KEY_MODULES.values():
        reg.use(name)


def key_registry():
    """A registry of every user key type installed, ed25519 included: what
    checks a CA's signature outside a server's configuration (the client's
    @cert-authority host certificates)."""
    reg = Registry()
    reg.key_type(b"ssh-ed25519", b"ssh-ed25519", _verify_ed25519)
    load_key_rows(reg)
    return reg
