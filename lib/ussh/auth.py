# User authentication, RFC 4252: the ssh-userauth service, "none",
# "publickey" against authorized_keys (every key type through the verifiers
# its server's registry holds: ussh.plugins), key options (ussh.keyopts) and
# passwords (ussh.passwd, RFC 4252 §8), both loaded only when used;
# failure counting.
from ussh import wire
from ussh.compat import const
from ussh.crypto import ed25519_verify
from ussh.keys import fingerprint
from ussh.wire import Reader, SSHError, DISCONNECT_NO_MORE_AUTH_METHODS, DISCONNECT_SERVICE_NOT_AVAILABLE

_MSG_SERVICE_REQUEST = const(5)
_MSG_SERVICE_ACCEPT = const(6)
_MSG_USERAUTH_REQUEST = const(50)
_MSG_USERAUTH_FAILURE = const(51)
_MSG_USERAUTH_SUCCESS = const(52)
_MSG_USERAUTH_PK_OK = const(60)


class Attempt:
    """One publickey request, as its verifier sees it: the key blob, the
    authorized_keys entry it matched (a certificate's: a fresh one), and
    notes for the log line. Per login: nothing is written to the config."""

    def __init__(self, conn, user, alg, blob):
        self.conn = conn
        self.user = user
        self.alg = alg
        self.blob = blob
        self.entry = None
        self.notes = ""


def ed25519_signed(blob, data, sig):
    """Whether sig (RFC 8709 §6 signature blob) is the signature of data by
    the key of blob (RFC 8709 §4); also the client's host key check."""
    r = Reader(blob)
    r.string()
    pub = r.string()
    r.done()
    r = Reader(sig)
    if r.string() != b"ssh-ed25519":
        return False
    s = r.string()
    r.done()
    return ed25519_verify(pub, data, s)


def verify_ed25519(att, data, sig):
    # the registry's verifier: None when good, else why not; data None is a
    # query (the key blob was checked when it was loaded)
    if data is None or ed25519_signed(att.blob, data, sig):
        return None
    return "bad signature"


def publickey_request(r, verifiers):
    # RFC 4252 §7: the rest of a "publickey" request, r positioned after
    # the method name: (algorithm, key blob, signature or None for a query,
    # the verifiers' row for the algorithm, the blob's key type or None)
    has_sig = r.boolean()
    alg = r.string()
    blob = r.string()
    sig = r.string() if has_sig else None
    r.done()
    try:
        key_type = Reader(blob).string()
    except SSHError:
        key_type = None
    return alg, blob, sig, verifiers.get(alg), key_type


def service_request(conn, p):
    r = Reader(p, 1)
    name = r.string()
    r.done()
    if name != b"ssh-userauth" or conn.service:
        raise SSHError("service not available", DISCONNECT_SERVICE_NOT_AVAILABLE)
    conn.service = name
    conn.send(wire.byte(_MSG_SERVICE_ACCEPT) + wire.string(name))


def _fail(conn, counted=True):
    # RFC 4252 §5.1: the methods that can continue
    if counted:
        conn.auth_failures += 1
        if conn.auth_failures >= conn.cfg.max_auth_tries:
            raise SSHError("too many authentication failures", DISCONNECT_NO_MORE_AUTH_METHODS)
    methods = [b"publickey", b"password"] if conn.cfg.password_hash else [b"publickey"]
    conn.send(wire.byte(_MSG_USERAUTH_FAILURE) + wire.namelist(methods) + wire.boolean(False))


def success(conn, user, how):
    """Logs user in (RFC 4252 §5.1); how is for the log line."""
    conn.user = user
    conn.log("auth accepted for %s with %s" % (user, how))
    conn.send(wire.byte(_MSG_USERAUTH_SUCCESS))


def userauth_request(conn, p):
    if not conn.service:
        raise SSHError("userauth before service request")
    if conn.user is not None:
        return  # RFC 4252 §5.1: requests after success are ignored
    r = Reader(p, 1)
    user = r.text()
    service = r.string()
    method = r.string()
    if service != b"ssh-connection":
        raise SSHError("service not available", DISCONNECT_SERVICE_NOT_AVAILABLE)
    if method == b"none":
        # the first "none" asks which methods exist; later ones count
        r.done()
        conn.none_seen, counted = True, conn.none_seen
        return _fail(conn, counted)
    if method == b"password" and conn.cfg.password_hash:
        from ussh import passwd

        if passwd.userauth(conn, user, r):
            return success(conn, user, "password")
        return _fail(conn)
    if method != b"publickey":
        return _fail(conn)
    alg, blob, sig, row, key_type = publickey_request(r, conn.cfg.reg.verifiers)
    att = Attempt(conn, user, alg, blob)
    why = None
    if row is None:  # RFC 8332 §3 / OpenSSH 8.8: no SHA-1 signatures
        why = "ssh-rsa (SHA-1) signatures are refused" if alg == b"ssh-rsa" else "signature algorithm not accepted"
    elif key_type == row[0]:
        if len(row) > 2:  # a certificate: its CA is looked up (ussh.cert)
            why = row[2](att)
        else:
            att.entry = conn.cfg.find_key(key_type, blob)
        if att.entry is not None and not why:
            if att.entry.options:
                from ussh import keyopts

                why = keyopts.refusal(conn, user, att.entry)
            why = why or row[1](att, None, None)
    entry = att.entry
    fp = fingerprint(blob if entry is None else entry.blob)  # a certificate's: its key's
    if entry is None or why:
        conn.log("auth refused for %s: key %s %s %s" % (user, wire.printable(alg), fp, why or "not authorized"))
        return _fail(conn)
    if sig is None:  # a query: would this key be accepted?
        conn.send(wire.byte(_MSG_USERAUTH_PK_OK) + wire.string(alg) + wire.string(blob))
        return
    signed = b"".join(
        (
            wire.string(conn.session_id),
            p[: r.pos - 4 - len(sig)],
        )
    )
    why = row[1](att, signed, sig)
    if why:
        conn.log("auth refused for %s: %s from %s %s" % (user, why, alg.decode(), fp))
        return _fail(conn)
    if entry.options:
        from ussh import keyopts

        keyopts.apply(conn, entry)
    success(conn, user, "%s %s%s" % (alg.decode(), fp, att.notes))
