# The authorized_keys options of sshd(8) "AUTHORIZED_KEYS FILE FORMAT" that
# ussh enforces (an optional module: auth imports it for a line that has
# options). from="pattern-list" is matched against the client's IP address
# (no DNS on a board), as sshd does with UseDNS off.


def client_ip(conn):
    """The client's address without its port."""
    return conn.peer.rsplit(":", 1)[0]


def _glob(p, s):
    # sshd's match_pattern: * any run of characters, ? any one
    i = j = 0
    star = -1
    mark = 0
    while j < len(s):
        if i < len(p) and (p[i] == "?" or p[i] == s[j]):
            i += 1
            j += 1
        elif i < len(p) and p[i] == "*":
            star, mark = i, j
            i += 1
        elif star >= 0:
            i = star + 1
            mark += 1
            j = mark
        else:
            return False
    while i < len(p) and p[i] == "*":
        i += 1
    return i == len(p)


def _ip4(s):
    b = s.split(".")
    if len(b) != 4:
        return None
    n = 0
    for x in b:
        if not x.isdigit() or int(x) > 255:
            return None
        n = n << 8 | int(x)
    return n


def in_cidr(cidr, ip):
    """Whether ip (IPv4 text) is in cidr (a.b.c.d/n, or one address)."""
    a = cidr.split("/", 1)
    bits = a[1] if len(a) > 1 else "32"
    a = a[0]
    net, addr = _ip4(a), _ip4(ip)
    if net is None or addr is None:
        return a == ip  # IPv6 and others: the same text only
    bits = int(bits) if bits.isdigit() and int(bits) <= 32 else 32
    mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
    return net & mask == addr & mask


def match_list(patterns, ip):
    """sshd's from= rule: a matching !pattern refuses at once; otherwise a
    matching pattern (glob with * and ?, or an address/bits) admits."""
    ok = False
    for p in patterns.split(","):
        neg = p[:1] == "!"
        if neg:
            p = p[1:]
        if ("/" in p and in_cidr(p, ip)) or _glob(p, ip):
            if neg:
                return False
            ok = True
    return ok


def refusal(conn, user, entry):
    """Why entry's options refuse this login, or None."""
    for name, value in entry.options:
        if name == "from" and not match_list(value, client_ip(conn)):
            return 'from="%s" does not match %s' % (value, client_ip(conn))
        if name == "cert-authority":
            return "a cert-authority key signs certificates, it does not log in"
    return None


def apply(conn, entry):
    """Sets the session restrictions of a login with entry: the forced
    command, no pty (restrict implies no-pty unless pty follows)."""
    for name, value in entry.options:
        if name == "command":
            conn.forced = value
        elif name == "no-pty" or name == "restrict":
            conn.no_pty = True
        elif name == "pty":
            conn.no_pty = False


def run_forced(conn, ch, kind, arg):
    """Runs the forced command (command="..." or a certificate's
    force-command) on channel ch instead of what the client asked for,
    which it finds as SSH_ORIGINAL_COMMAND (None for a shell)."""
    from ussh import repl

    try:
        orig = None if kind == b"shell" else arg.decode()
    except UnicodeError:
        orig = None
    conn.log("forced command %r (client asked for %r)" % (conn.forced, orig))
    out, err, stdin, _ = conn.sched.streams(ch)
    ch.finish(repl.run_command(conn.forced, out, err, stdin, {"SSH_ORIGINAL_COMMAND": orig}))
