# FIDO security-key user keys, OpenSSH PROTOCOL.u2f (an optional module:
# ussh.plugins loads it when an authorized key or CA needs it): sk-ssh-ed25519@openssh.com
# and sk-ecdsa-sha2-nistp256@openssh.com. The authenticator signs
# SHA256(application) || flags || counter || SHA256(message); user presence
# (flag 0x01) is required unless the key's line says no-touch-required, user
# verification (0x04) when it says verify-required.
from ussh.compat import const, sha256
from ussh.wire import Reader, SSHError, printable

ED = b"sk-ssh-ed25519@openssh.com"
EC = b"sk-ecdsa-sha2-nistp256@openssh.com"
_UP = const(0x01)  # user present
_UV = const(0x04)  # user verified


def _key(blob):
    # (public key, application) of a key blob, or why it cannot be used
    try:
        r = Reader(blob)
        kind = r.string()
        if kind == ED:
            pub = r.string()
            if len(pub) != 32:
                return "malformed %s key" % ED.decode()
        else:
            from ussh.key_ecdsa import point

            pub = point(blob, r)
            if isinstance(pub, str):
                return pub
        app = r.string()
        r.done()
    except SSHError:
        return "malformed security key"
    return pub, app


def _verify(att, data, sig):
    blob, entry = att.blob, att.entry
    k = _key(blob)
    if isinstance(k, str) or data is None:
        return k if isinstance(k, str) else None
    pub, app = k
    try:
        r = Reader(sig)
        kind = r.string()
        inner = r.string()
        flags = r.byte()
        counter = r.u32()
        r.done()
    except SSHError:
        return "malformed signature"
    if kind != Reader(blob).string():
        return "signature is %s" % printable(kind)
    opts = entry.options if entry is not None else ()
    if not flags & _UP and ("no-touch-required", None) not in opts:
        return "security key not touched (user presence flag missing)"
    if not flags & _UV and ("verify-required", None) in opts:
        return "security key did not verify the user (verify-required)"
    # PROTOCOL.u2f: what the authenticator signed
    signed = sha256(app).digest() + bytes((flags,)) + counter.to_bytes(4, "big") + sha256(data).digest()
    if kind == ED:
        from ussh.crypto import ed25519_verify

        why = None if ed25519_verify(pub, signed, inner) else "bad signature"
    else:
        from ussh.key_ecdsa import check

        why = check(pub, sha256(signed).digest(), inner)
    if why is None:  # for the log line: this login's, never the shared entry's
        att.notes += ", security key flags 0x%02x counter %d" % (flags, counter)
    return why


def register(reg):
    """ussh.plugins: the two security key rows."""
    reg.key_type(ED, ED, _verify)
    reg.key_type(EC, EC, _verify)
