# OpenSSH user certificates (PROTOCOL.certkeys), an optional module:
# ussh.plugins loads it when an authorized_keys line says cert-authority or the config
# names trusted CAs. A certificate logs in when a trusted CA signed it, it
# is a user certificate naming the login (or a principals= name), the clock
# is inside its validity window and every critical option is one ussh
# enforces.
from ussh.auth import Attempt
from ussh._compat_rare import unix_time
from ussh.keys import fingerprint
from ussh.wire import Reader, SSHError, printable, string

_SUFFIX = b"-cert-v01@openssh.com"
_USER_CERT = 1  # PROTOCOL.certkeys: SSH_CERT_TYPE_USER

# plain key type -> number of key fields between the nonce and the serial
_FIELDS = {
    b"ssh-ed25519": 1,
    b"ssh-rsa": 2,
    b"ecdsa-sha2-nistp256": 2,
    b"sk-ssh-ed25519@openssh.com": 2,
    b"sk-ecdsa-sha2-nistp256@openssh.com": 3,
}


class _Cert:
    pass


def _pairs(b):
    # critical options and extensions: (string name, string data)...; each
    # name at most once (PROTOCOL.certkeys), as OpenSSH refuses repeats
    r = Reader(b)
    out = {}
    while r.pos < r.end:
        name = r.text()
        if name in out:
            raise SSHError("option %s repeated" % printable(name))
        out[name] = r.string()
    return out


def parse(blob):
    """The fields of a certificate blob (PROTOCOL.certkeys) as attributes of
    an object; raises SSHError when malformed."""
    r = Reader(blob)
    c = _Cert()
    ctype = r.string()
    c.base = ctype[: -len(_SUFFIX)] if ctype.endswith(_SUFFIX) else b""
    if c.base.startswith(b"sk-"):
        c.base += b"@openssh.com"
    nf = _FIELDS.get(c.base)
    if nf is None:
        raise SSHError("unsupported certificate type")
    r.string()  # nonce
    start = r.pos
    for _ in range(nf):
        r.string()
    c.key = string(c.base) + blob[start : r.pos]  # the certified public key
    c.serial = r.u64()
    c.kind = r.u32()
    c.key_id = r.text()
    pr = Reader(r.string())
    c.principals = []
    while pr.pos < pr.end:
        c.principals.append(pr.text())
    c.after = r.u64()
    c.before = r.u64()
    c.critical = _pairs(r.string())
    c.extensions = _pairs(r.string())
    r.string()  # reserved
    c.ca = r.string()
    c.signed = r.pos  # the CA signs everything before its signature
    c.signature = r.string()
    r.done()
    return c


def ca_signature(reg, c, blob):
    """None when the CA's signature over certificate c (parsed from blob) is
    good under registry reg's verifiers, else why not."""
    # PROTOCOL.certkeys: the CA key is a plain key, signed with one of the
    # accepted algorithms (never ssh-rsa SHA-1)
    try:
        ca_type = Reader(c.ca).string()
        alg = Reader(c.signature).string()
    except SSHError:
        return "malformed CA key or signature"
    row = reg.verifiers.get(alg)  # every key type installed is there when CAs are configured
    if row is None or row[0] != ca_type or len(row) > 2:
        return "CA signature algorithm %s not accepted" % printable(alg)
    return row[1](Attempt(None, None, alg, c.ca), blob[: c.signed], c.signature)


def _lookup(att):
    # auth's lookup for certificate rows: sets att.entry (a fresh one for this
    # login) and returns None, or returns why not
    conn, user, alg, blob = att.conn, att.user, att.alg, att.blob
    try:
        c = parse(blob)
    except SSHError:
        return "malformed certificate"
    ca_fp = fingerprint(c.ca)
    what = "certificate id %s serial %d of %s" % (printable(repr(c.key_id)), c.serial, fingerprint(c.key))
    try:
        why = _check(conn, user, c, blob)
    except SSHError:
        why = "malformed certificate"
    if isinstance(why, str):
        return "%s (CA %s): %s" % (what, ca_fp, why)
    att.entry = why
    att.notes += ", %s, CA %s" % (what, ca_fp)
    return None


def _trusted(cfg, c, blob):
    # The CA lines that may vouch for c (config's list, then cert-authority
    # lines), after the CA's signature over the certificate is verified:
    # nothing the certificate says is used before that. A list, or why not.
    if c.ca.endswith(_SUFFIX) or Reader(c.ca).string().endswith(_SUFFIX):
        return "CA key is a certificate"
    lines = [e for e in cfg.trusted_cas if e.blob == c.ca]
    lines += [e for e in cfg.authorized_keys if e.blob == c.ca and ("cert-authority", None) in e.options]
    if not lines:
        return "signed by an untrusted CA"
    if not [1 for row in cfg.reg.verifiers.values() if row[0] == c.base]:
        return "key type %s not supported" % printable(c.base)
    why = ca_signature(cfg.reg, c, blob)
    if why:
        return "CA signature: " + why
    return lines


def _critical(name, data):
    # PROTOCOL.certkeys, as strict as OpenSSH: force-command and
    # source-address hold exactly one non-empty string, a flag nothing;
    # the value, or None for a flag
    r = Reader(data)
    if name == "verify-required":
        r.done()
        return None
    value = r.text()
    r.done()
    if not value:
        raise SSHError("empty critical option")
    return value


def _check(conn, user, c, blob):
    cfg = conn.cfg
    lines = _trusted(cfg, c, blob)
    if isinstance(lines, str):
        return lines
    if c.kind != _USER_CERT:
        return "not a user certificate"
    if not c.principals:
        return "no principals"
    entry = None
    for e in lines:
        names = [v for n, v in e.options if n == "principals"]
        allowed = names[0].split(",") if names else [user]
        for name in c.principals:
            if name in allowed:
                entry = e
        if entry:
            break
    if entry is None:
        return "principals %s do not include %s" % (printable(",".join(c.principals)), printable(repr(user)))
    now = unix_time()
    if now is None:
        if not cfg.cert_ignore_clock:
            return "the clock is not set, validity cannot be checked (cert_ignore_clock allows it)"
        conn.log("clock not set: certificate validity not checked (cert_ignore_clock)")
    elif now < c.after:
        return "not valid yet"
    elif now >= c.before:
        return "expired"
    # no-touch-required needs both the CA's line and the certificate (as
    # OpenSSH merges them): the line's alone is dropped here
    opts = [o for o in entry.options if o[0] not in ("cert-authority", "principals", "no-touch-required")]
    for name in c.critical:
        try:
            value = _critical(name, c.critical[name])
        except SSHError:
            return "malformed critical option %s" % printable(name)
        if name == "force-command":
            for n, v in opts:
                if n == "command" and v != value:
                    return "force-command differs from the key line's command"
            opts.append(("command", value))
        elif name == "source-address":
            from ussh.keyopts import client_ip, in_cidr

            ip = client_ip(conn)
            if ip is None:
                return "source-address: the client's address is unknown"
            if not [x for x in value.split(",") if in_cidr(x, ip)]:
                return "source-address %s does not include %s" % (printable(value), ip)
        elif name == "verify-required":
            opts.append((name, None))
        else:  # PROTOCOL.certkeys: an unknown critical option refuses
            return "unknown critical option %s" % printable(name)
    if "permit-pty" not in c.extensions:
        opts.append(("no-pty", None))
    if "permit-port-forwarding" not in c.extensions:  # PROTOCOL.certkeys: what ssh -L needs
        opts.append(("no-port-forwarding", None))
    if "no-touch-required" in c.extensions and ("no-touch-required", None) in entry.options:
        opts.append(("no-touch-required", None))
    from ussh.authkeys import AuthorizedKey

    return AuthorizedKey(c.base, c.key, entry.comment, opts, entry.line)


def _verify(att, data, sig):
    # the user's signature is made with the certified key, by its verifier
    if data is None:
        return None
    alg = att.alg[: -len(_SUFFIX)] + (b"@openssh.com" if att.alg.startswith(b"sk-") else b"")
    key = Attempt(att.conn, att.user, alg, att.entry.blob)
    key.entry = att.entry
    why = att.conn.cfg.reg.verifiers[alg][1](key, data, sig)
    att.notes += key.notes
    return why


_ROWS = (
    (b"ssh-ed25519", b"ssh-ed25519"),
    (b"rsa-sha2-512", b"ssh-rsa"),
    (b"rsa-sha2-256", b"ssh-rsa"),
    (b"ecdsa-sha2-nistp256", b"ecdsa-sha2-nistp256"),
    (b"sk-ssh-ed25519", b"sk-ssh-ed25519"),
    (b"sk-ecdsa-sha2-nistp256", b"sk-ecdsa-sha2-nistp256"),
)


def register(reg):
    """ussh.plugins (loaded last): a certificate row for each key type registered."""
    for alg, kind in _ROWS:
        plain = alg + (b"@openssh.com" if alg.startswith(b"sk-") else b"")
        if plain in reg.verifiers:
            reg.key_type(alg + _SUFFIX, kind + _SUFFIX, _verify, _lookup)
