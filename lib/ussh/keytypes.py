# What a config beyond plain ssh-ed25519 keys needs (an optional module:
# auth.prepare() loads it): the table of key types, each verified by its
# own module (imported only when a key or CA of that type is configured),
# user certificates (ussh.cert), authorized_keys options (ussh.keyopts) and
# passwords (ussh.passwd), RFC 4252 §7 and §8.
from ussh import auth, wire
from ussh.compat import const
from ussh.keys import fingerprint

_MSG_USERAUTH_SUCCESS = const(52)
_MSG_USERAUTH_PK_OK = const(60)


def _ed25519(blob, data, sig, entry):
    if data is None:  # a query: the key blob was checked when it was loaded
        return None
    return None if auth._verify_ed25519(blob, data, sig) else "bad signature"


# Signature algorithm -> (key type in the blob, verifier(blob, data, sig,
# entry) -> None when good, else why not; data None asks about the key
# alone[, lookup(conn, user, alg, blob) -> (entry, why) for certificates]).
# The modules of MODULES add their rows when imported.
VERIFIERS = {
    b"ssh-ed25519": (b"ssh-ed25519", _ed25519),
}

# Key type -> the optional module (under ussh) that verifies it
MODULES = {
    b"ssh-rsa": "key_rsa",
    b"ecdsa-sha2-nistp256": "key_ecdsa",
    b"sk-ssh-ed25519@openssh.com": "key_sk",
    b"sk-ecdsa-sha2-nistp256@openssh.com": "key_sk",
}


def need(key_type):
    """Loads the module that verifies key_type; False when there is none."""
    m = MODULES.get(key_type)
    if m is not None:
        try:
            __import__("ussh." + m)
        except ImportError:  # an install without that module
            return False
        return True
    return key_type == b"ssh-ed25519"


def prepare(cfg):
    """Imports what cfg's authorized keys, CAs and password need, so that
    server-sig-algs (RFC 8308 §3.1) lists exactly what is accepted."""
    cas = cfg.trusted_cas
    for e in cfg.authorized_keys:
        need(e.algorithm)
        for name, _ in e.options:
            if name == "cert-authority":
                cas = True
    for e in cfg.trusted_cas:
        need(e.algorithm)
    if cas:
        __import__("ussh.cert")
    if cfg.password_hash:
        __import__("ussh.passwd")


def success(conn, user, how):
    """Logs user in (RFC 4252 §5.1); how is for the log line."""
    conn.user = user
    conn.log("auth accepted for %s with %s" % (user, how))
    conn.send(wire.byte(_MSG_USERAUTH_SUCCESS))


def userauth(conn, user, method, r, p):
    """A USERAUTH_REQUEST after its method name (r positioned there)."""
    if method == b"password" and conn.cfg.password_hash:
        from ussh import passwd

        if passwd.userauth(conn, user, r):
            return success(conn, user, "password")
        return auth._fail(conn)
    if method != b"publickey":
        return auth._fail(conn)
    alg, blob, sig, row, key_type = auth.publickey_request(r, VERIFIERS)
    entry = why = None
    if row is None:  # RFC 8332 §3 / OpenSSH 8.8: no SHA-1 signatures
        why = "ssh-rsa (SHA-1) signatures are refused" if alg == b"ssh-rsa" else "signature algorithm not accepted"
    if row is not None and key_type == row[0]:
        if len(row) > 2:  # a certificate: its CA is looked up (ussh.cert)
            entry, why = row[2](conn, user, alg, blob)
        else:
            entry = conn.cfg.find_key(key_type, blob)
        if entry is not None and not why:
            if entry.options:
                from ussh import keyopts

                why = keyopts.refusal(conn, user, entry)
            why = why or row[1](blob, None, None, entry)
    fp = fingerprint(blob if entry is None else entry.blob)  # a certificate's: its key's
    if entry is None or why:
        conn.log("auth refused for %s: key %s %s %s" % (user, wire.printable(alg), fp, why or "not authorized"))
        return auth._fail(conn)
    if sig is None:  # a query: would this key be accepted?
        conn.send(wire.byte(_MSG_USERAUTH_PK_OK) + wire.string(alg) + wire.string(blob))
        return
    signed = b"".join(
        (
            wire.string(conn.session_id),
            p[: r.pos - 4 - len(sig)],
        )
    )
    why = row[1](blob, signed, sig, entry)
    if why:
        conn.log("auth refused for %s: %s from %s %s" % (user, why, alg.decode(), fp))
        return auth._fail(conn)
    if entry.options:
        from ussh import keyopts

        keyopts.apply(conn, entry)
    success(conn, user, "%s %s%s%s" % (alg.decode(), fp, getattr(entry, "note", ""), getattr(entry, "sk", "")))
