# The client's check of a server's host key against a known_hosts file, as
# OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it: plain lines
# (host patterns, key type, base64 key) and `@cert-authority` lines (a CA
# whose host certificates are trusted for the hosts matched). Hashed host
# names (|1|...) and @revoked lines are not supported: such lines are skipped.
# An optional module of ussh.client.
from ussh._compat_rare import unix_time
from ussh.keys import b64decode, fingerprint
from ussh.wire import Reader, SSHError

CERT_ALG = b"ssh-ed25519-cert-v01@openssh.com"
_HOST_CERT = 2  # PROTOCOL.certkeys: SSH_CERT_TYPE_HOST
DISCONNECT_HOST_KEY_NOT_VERIFIABLE = 9  # RFC 4253 §11.1


class HostKeyError(SSHError):
    """The server's host key is unknown, changed or not vouched for; the
    message names its fingerprint."""

    def __init__(self, reason):
        super().__init__(reason, DISCONNECT_HOST_KEY_NOT_VERIFIABLE)


class Entry:
    def __init__(self, ca, patterns, key_type, blob, line):
        self.ca = ca
        self.patterns = patterns
        self.key_type = key_type
        self.blob = blob
        self.line = line


def parse(text, log=None):
    """The usable lines of a known_hosts text, as Entry objects."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    out = []
    n = 0
    for line in text.split("\n"):
        n += 1
        f = line.split()
        if not f or f[0][0] == "#":
            continue
        ca = f[0] == "@cert-authority"
        if f[0][0] == "@" and not ca or len(f) < 3 + ca or f[ca][0] == "|":
            if log:
                log("ussh: known_hosts line %d skipped (hashed, @revoked or short)" % n)
            continue
        try:
            blob = b64decode(f[2 + ca])
        except ValueError:
            if log:
                log("ussh: known_hosts line %d skipped: bad base64" % n)
            continue
        out.append(Entry(ca, f[ca].split(","), f[1 + ca].encode(), blob, n))
    return out


def load(path, log=None):
    """parse() of the file at path; a missing file has no entries."""
    try:
        with open(path) as f:
            return parse(f.read(), log)
    except OSError:
        return []


def _glob(pat, s):
    # '*' any run of characters, '?' one character
    if not pat:
        return not s
    if pat[0] == "*":
        for i in range(len(s) + 1):
            if _glob(pat[1:], s[i:]):
                return True
        return False
    return bool(s) and (pat[0] == "?" or pat[0] == s[0]) and _glob(pat[1:], s[1:])


def host_name(host, port):
    """The name known_hosts lists host:port under (OpenSSH's form)."""
    return host if port == 22 else "[%s]:%d" % (host, port)


def matches(entry, name):
    hit = False
    for p in entry.patterns:
        neg = p[:1] == "!"
        if _glob(p[neg:].lower(), name.lower()):
            if neg:
                return False
            hit = True
    return hit


def algorithms(entries, host, port):
    """The host key algorithms to offer: the certificate's first when a
    @cert-authority line covers this host."""
    name = host_name(host, port)
    if [e for e in entries if e.ca and matches(e, name)]:
        return (CERT_ALG, b"ssh-ed25519")
    return (b"ssh-ed25519",)


def _check_cert(entries, host, name, k_s):
    from ussh import cert, plugins

    try:
        c = cert.parse(k_s)
    except SSHError:
        raise HostKeyError("malformed host certificate from %s" % name)
    what = "host certificate of %s (key %s, id %r, CA %s)" % (name, fingerprint(c.key), c.key_id, fingerprint(c.ca))
    cas = [e for e in entries if e.ca and matches(e, name) and e.blob == c.ca]
    if not cas:
        raise HostKeyError("%s: the CA is not trusted by any @cert-authority line for %s" % (what, name))
    if c.kind != _HOST_CERT:
        raise HostKeyError("%s: not a host certificate" % what)
    # PROTOCOL.certkeys: no principals means any host; else the name must be one
    if c.principals and host not in c.principals:
        raise HostKeyError("%s: principals %s do not include %s" % (what, ",".join(c.principals), host))
    now = unix_time()
    if now is not None and not c.after <= now < c.before:
        raise HostKeyError("%s: outside its validity period" % what)
    if c.critical:
        raise HostKeyError("%s: critical options in a host certificate" % what)
    why = cert.ca_signature(plugins.key_registry(), c, k_s)
    if why:
        raise HostKeyError("%s: bad CA signature (%s)" % (what, why))
    return c.key, "certificate signed by CA %s (known_hosts line %d)" % (fingerprint(c.ca), cas[0].line)


def check(entries, host, port, alg, k_s):
    """Whether the host key k_s (a key blob or, for CERT_ALG, a certificate)
    is the one known_hosts has for host:port: returns (the plain key blob
    that signs the exchange, a note for the log); raises HostKeyError naming
    the fingerprint when it is unknown, changed or badly certified."""
    name = host_name(host, port)
    if alg == CERT_ALG:
        return _check_cert(entries, host, name, k_s)
    fp = fingerprint(k_s)
    mine = [e for e in entries if not e.ca and matches(e, name)]
    for e in mine:
        if e.blob == k_s:
            return k_s, "known_hosts line %d" % e.line
    known = [e for e in mine if e.key_type == b"ssh-ed25519"]
    if known:
        raise HostKeyError(
            "HOST KEY CHANGED for %s: the server offers %s, known_hosts line %d has %s;"
            " refusing to connect" % (name, fp, known[0].line, fingerprint(known[0].blob)))
    raise HostKeyError("host key of %s is unknown: ssh-ed25519 %s; add `%s ssh-ed25519 %s` to"
                       " known_hosts if that is the server's" % (name, fp, name, _b64(k_s)))


def _b64(b):
    from ussh.keys import b64encode

    return b64encode(b).decode()
