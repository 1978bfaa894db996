# authorized_keys files, in the format of OpenSSH sshd(8) "AUTHORIZED_KEYS
# FILE FORMAT": one key a line, `[options] keytype base64-blob [comment]`.
# A line that cannot be parsed, or whose options this release does not
# enforce, is skipped with a warning: it never grants access.
from ussh.compat import const
from ussh.keys import AuthorizedKey, b64decode  # noqa: F401 (AuthorizedKey: this module's API)
from ussh.wire import Reader, SSHError

# Key types OpenSSH writes into authorized_keys, blank-separated (one string
# costs less RAM than a tuple of them). All are parsed and kept; the auth
# layer decides which ones it can verify.
_KEY_TYPES = (
    " ssh-ed25519"
    " ssh-rsa"
    " ecdsa-sha2-nistp256"
    " ecdsa-sha2-nistp384"
    " ecdsa-sha2-nistp521"
    " sk-ssh-ed25519@openssh.com"
    " sk-ecdsa-sha2-nistp256@openssh.com"
    " ssh-dss"
    " ssh-ed25519-cert-v01@openssh.com"
    " ssh-rsa-cert-v01@openssh.com"
    " ecdsa-sha2-nistp256-cert-v01@openssh.com"
    " ecdsa-sha2-nistp384-cert-v01@openssh.com"
    " ecdsa-sha2-nistp521-cert-v01@openssh.com"
    " sk-ssh-ed25519-cert-v01@openssh.com"
    " sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
    " ssh-dss-cert-v01@openssh.com"
    " "
)

_VALUE = const(1)  # the option is written name="value"
_ENFORCED = const(2)  # this release implements the option's restriction

# Key options of sshd(8) and their flags. A line is used only when every one
# of its options has _ENFORCED (ussh.keyopts enforces them at login; the
# no-... ones refuse features ussh does not have at all).
_E = _ENFORCED
OPTIONS = {
    "agent-forwarding": _E,
    "cert-authority": _E,
    "command": _VALUE | _E,
    "environment": _VALUE,
    "expiry-time": _VALUE,
    "from": _VALUE | _E,
    "no-agent-forwarding": _E,
    "no-port-forwarding": _E,
    "no-pty": _E,
    "no-touch-required": _E,
    "no-user-rc": _E,
    "no-x11-forwarding": _E,
    "permitlisten": _VALUE,
    "permitopen": _VALUE | _E,
    "port-forwarding": _E,
    "principals": _VALUE | _E,
    "pty": _E,
    "restrict": _E,
    "tunnel": _VALUE,
    "user-rc": _E,
    "verify-required": _E,
    "x11-forwarding": _E,
}


def _known(kind):
    return " " + kind + " " in _KEY_TYPES


class BadLine(Exception):
    """Why an authorized_keys line cannot be used."""


def _options(s):
    # name[="value"][,name[="value"]]... up to the first unquoted blank;
    # inside quotes only \" is an escape. Returns (options, rest of line).
    opts = []
    i = 0
    n = len(s)
    while True:
        j = i
        while j < n and s[j] not in ' \t,="':
            j += 1
        name = s[i:j].lower()
        if not name:
            raise BadLine("bad option syntax")
        value = None
        if j < n and s[j] == "=":
            j += 1
            if j >= n or s[j] != '"':
                raise BadLine("option '%s' value is not quoted" % name)
            j += 1
            value = ""
            while True:
                k = s.find('"', j)
                if k < 0:
                    raise BadLine("option '%s' has no closing quote" % name)
                if s[k - 1] != "\\":
                    value += s[j:k]
                    break
                value += s[j : k - 1] + '"'
                j = k + 1
            j = k + 1
        opts.append((name, value))
        if j >= n or s[j] in " \t":
            return opts, s[j:]
        if s[j] != ",":
            raise BadLine("bad option syntax")
        i = j + 1


def check_option(name, value):
    """Why this option makes its line unusable, or None when it is enforced."""
    flags = OPTIONS.get(name)
    if flags is None:
        return "unknown %s '%s'" % ("key type or option" if value is None else "option", name)
    if (value is None) == bool(flags & _VALUE):
        return "option '%s' %s" % (name, "needs a value" if value is None else "takes no value")
    if not flags & _ENFORCED:
        return "option '%s' not supported" % name
    return None


def parse_line(s, number):
    """One stripped, non-blank, non-comment line -> AuthorizedKey with its
    options parsed but not checked; raises BadLine."""
    first = s.split(None, 1)[0]
    opts = []
    if not _known(first):
        opts, s = _options(s)
    parts = s.split(None, 2)
    if not parts or not _known(parts[0]):
        if len(opts) == 1 and opts[0][1] is None and opts[0][0] not in OPTIONS:
            raise BadLine("unknown key type '%s'" % first)  # not options after all
        if not parts:
            raise BadLine("no key after the options")
        raise BadLine("unknown key type '%s'" % parts[0])
    kind = parts[0]
    if len(parts) < 2:
        raise BadLine("no key data")
    try:
        blob = b64decode(parts[1])
    except ValueError:
        raise BadLine("bad base64")
    r = Reader(blob)
    try:
        inner = r.string()
        if inner == b"ssh-ed25519":
            # RFC 8709 §4: string "ssh-ed25519", string key (32 bytes)
            if len(r.string()) != 32:
                raise SSHError("")
            r.done()
    except SSHError:
        raise BadLine("malformed %s key" % kind)
    if inner != kind.encode():
        raise BadLine("key data is not a %s key" % kind)
    return AuthorizedKey(inner, blob, parts[2].strip() if len(parts) > 2 else "", opts, number)


def parse(text, log, source="authorized_keys"):
    """Parses authorized_keys text (str or bytes) into a list of
    AuthorizedKey; each line that cannot be used is skipped with a warning
    log("<source> line N: <reason>; line skipped")."""
    entries = []
    number = 0
    for s in text.split(b"\n" if isinstance(text, bytes) else "\n"):
        number += 1
        try:
            if isinstance(s, bytes):
                try:
                    s = s.decode()
                except UnicodeError:
                    raise BadLine("not UTF-8 text")
            s = s.strip()
            if not s or s[0] == "#":
                continue
            key = parse_line(s, number)
            for name, value in key.options:
                why = check_option(name, value)
                if why:
                    raise BadLine(why)
            entries.append(key)
        except BadLine as e:
            log("%s line %d: %s; line skipped" % (source, number, e.args[0]))
    return entries


def load(path, log):
    """Reads the authorized_keys file at path (OSError when unreadable) and
    parses it; warnings name the path and line."""
    with open(path, "rb") as f:
        return parse(f.read(), log, path)


def find(entries, algorithm, blob):
    """The entry for this key, or None."""
    for e in entries:
        if e.algorithm == algorithm and e.blob == blob:
            return e
    return None
