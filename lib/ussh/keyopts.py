# The authorized_keys options of sshd(8) "AUTHORIZED_KEYS FILE FORMAT" that
# ussh enforces (an optional module: auth imports it for a line that has
# options). from="pattern-list" is matched against the client's IP address
# (no DNS on a board), as sshd does with UseDNS off.


def client_ip(conn):
    """The client's address without its port ("[v6]:port" gives v6), or
    None when the driver could not tell it (every address rule then
    refuses: fail closed)."""
    p = conn.peer
    ip = p[1 : p.find("]")] if p[:1] == "[" else p.rsplit(":", 1)[0]
    a = _ip(ip)
    if a is None:
        return None
    if a[0] == 32 and ":" in ip:  # IPv4-mapped: the IPv4 address it is
        v = a[1]
        return "%d.%d.%d.%d" % (v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)
    return ip


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
        if not x.isdigit() or len(x) > 3 or int(x) > 255:
            return None
        n = n << 8 | int(x)
    return n


def _ip6(s):
    # RFC 4291 §2.2 text (with "::" and a dotted IPv4 tail) as an integer
    halves = s.split("::")
    if len(halves) > 2:
        return None
    groups = []
    for h in halves:
        g = h.split(":") if h else []
        if g and "." in g[-1]:
            v4 = _ip4(g.pop())
            if v4 is None:
                return None
            g += ["%x" % (v4 >> 16), "%x" % (v4 & 0xFFFF)]
        groups.append(g)
    n = len(groups[0]) + (len(groups[1]) if len(groups) > 1 else 0)
    if n > 8 or (len(groups) == 1 and n != 8) or (len(groups) == 2 and n == 8):
        return None
    out = groups[0] + ["0"] * (8 - n) + (groups[1] if len(groups) > 1 else [])
    v = 0
    for x in out:
        if not 0 < len(x) <= 4:
            return None
        try:
            v = v << 16 | int(x, 16)
        except ValueError:
            return None
    return v


def _ip(s):
    # (bits, value) of an IPv4 or IPv6 address, None for anything else;
    # an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address
    if ":" not in s:
        v = _ip4(s)
        return None if v is None else (32, v)
    v = _ip6(s)
    if v is None:
        return None
    if v >> 32 == 0xFFFF:
        return (32, v & 0xFFFFFFFF)
    return (128, v)


def in_cidr(cidr, ip):
    """Whether ip (IPv4 or IPv6 text) is in cidr (an address, or
    address/bits); anything unparsable matches nothing."""
    a = cidr.split("/", 1)
    net, addr = _ip(a[0]), _ip(ip)
    if net is None or addr is None or net[0] != addr[0]:
        return False
    width = net[0]
    bits = a[1] if len(a) > 1 else str(width)
    if not bits.isdigit() or int(bits) > width:
        return False
    shift = width - int(bits)
    return net[1] >> shift == addr[1] >> shift


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
        if name == "from" and client_ip(conn) is None:
            return 'from="%s": the client\'s address is unknown' % value
        if name == "from" and not match_list(value, client_ip(conn)):
            return 'from="%s" does not match %s' % (value, client_ip(conn))
        if name == "cert-authority":
            return "a cert-authority key signs certificates, it does not log in"
    return None


def apply(conn, entry):
    """Sets the session restrictions of a login with entry: the forced
    command, no pty, no forwarding (restrict implies both unless pty or
    port-forwarding follows), the permitopen destinations."""
    for name, value in entry.options:
        if name == "command":
            conn.forced = value
        elif name == "no-pty":
            conn.no_pty = True
        elif name == "restrict":
            conn.no_pty = conn.no_forward = True
        elif name == "pty":
            conn.no_pty = False
        elif name == "no-port-forwarding":
            conn.no_forward = True
        elif name == "port-forwarding":
            conn.no_forward = False
        elif name == "permitopen":  # each one adds a destination, as with sshd
            conn.permitopen = (conn.permitopen or []) + [value]


def run_forced(conn, ch, kind, arg):
    """Runs the forced command (command="..." or a certificate's
    force-command) on channel ch instead of what the client asked for,
    which it finds as SSH_ORIGINAL_COMMAND (None for a shell)."""
    from ussh.pyrun import run_command

    try:
        orig = None if kind == b"shell" else arg.decode()
    except UnicodeError:
        orig = None
    conn.log("forced command %r (client asked for %r)" % (conn.forced, orig))
    out, err, stdin, _ = conn.sched.streams(ch)
    ch.finish(run_command(conn.forced, out, err, stdin, {"SSH_ORIGINAL_COMMAND": orig}))
