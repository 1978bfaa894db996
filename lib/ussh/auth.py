# User authentication, RFC 4252: the ssh-userauth service, "none" and
# "publickey" against authorized_keys, failure counting. Key types beyond
# ssh-ed25519, certificates, key options and passwords are ussh.keytypes,
# loaded by prepare() only for a config that has one of them.
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


def _verify_ed25519(blob, data, sig):
    # RFC 8709 §4 key blob, §6 signature blob
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


# Signature algorithm -> (key type in the blob, verifier). The other key
# types are rows of ussh.keytypes.VERIFIERS.
VERIFIERS = {
    b"ssh-ed25519": (b"ssh-ed25519", _verify_ed25519),
}
EXT = None  # ussh.keytypes, once a config needed it


def prepare(cfg):
    # more than plain ssh-ed25519 keys: the optional modules (ussh.keytypes)
    global EXT
    more = [e for e in cfg.authorized_keys if e.options or e.algorithm != b"ssh-ed25519"]
    if more or cfg.trusted_cas or cfg.password_hash:
        from ussh import keytypes

        EXT = keytypes
        keytypes.prepare(cfg)


def sig_algs():
    return list(EXT.VERIFIERS if EXT else VERIFIERS)


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
    if EXT:  # key types, certificates, options, passwords
        return EXT.userauth(conn, user, method, r, p)
    if method != b"publickey":
        return _fail(conn)
    alg, blob, sig, row, key_type = publickey_request(r, VERIFIERS)
    entry = None
    if row is not None and key_type == row[0]:
        entry = conn.cfg.find_key(key_type, blob)
    fp = fingerprint(blob)
    if entry is None:
        conn.log("auth refused for %s: key %s %s not authorized" % (user, wire.printable(alg), fp))
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
    if not row[1](blob, signed, sig):
        conn.log("auth refused for %s: bad signature from %s %s" % (user, alg.decode(), fp))
        return _fail(conn)
    conn.user = user
    conn.log("auth accepted for %s with %s %s" % (user, alg.decode(), fp))
    conn.send(wire.byte(_MSG_USERAUTH_SUCCESS))
