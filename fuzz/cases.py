"""Fuzz inputs: seeds per state (recorded OpenSSH payloads from fuzz/corpus/ and the scripted
client's own packets), byte-level mutations of them, and random SSH structure. A seeded
random.Random drives everything, so a run is reproducible from its seed (inserted random bytes
come from os.urandom: a finding is kept as the JSON of its exact input).

The mutator is our own plain one (bit flips, interesting bytes and u32s, lengths that lie, cut,
duplicated and spliced ranges, other message numbers, SSH strings from a dictionary), not
atheris or hypothesis: no compiled dependency, and about 1,000 cases a second per core on
CPython because each case starts from a copy of a prepared connection rather than a
handshake."""
import os
import struct

from harness import CORPUS, s, u32

INTERESTING32 = (0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 33, 255, 256, 4095, 32768, 34999, 35000, 65535,
                 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
INTERESTING8 = (0, 1, 0x7F, 0x80, 0xFE, 0xFF)
# message numbers worth sending anywhere (RFC 4250 §4.1.2) and a few unassigned ones
MSGS = (1, 2, 3, 4, 5, 6, 7, 20, 21, 30, 31, 50, 51, 52, 60, 80, 81, 82, 90, 91, 92, 93, 94, 95,
        96, 97, 98, 99, 100, 0, 8, 19, 22, 49, 53, 79, 101, 127, 192, 255)
NAMES = (b"session", b"exec", b"shell", b"subsystem", b"pty-req", b"env", b"window-change",
         b"signal", b"x11-req", b"auth-agent-req@openssh.com", b"keepalive@openssh.com",
         b"tcpip-forward", b"direct-tcpip", b"sftp", b"ssh-userauth", b"ssh-connection",
         b"publickey", b"none", b"password", b"ssh-ed25519", b"rsa-sha2-256", b"INT", b"TERM",
         b"curve25519-sha256", b"mlkem768x25519-sha256", b"aes128-ctr", b"aes256-ctr",
         b"hmac-sha2-256-etm@openssh.com", b"kex-strict-c-v00@openssh.com", b"ext-info-c", b"",
         b"\xff\xfe", b"scp -t /", b"scp -f /hello.txt", b"../../etc/passwd", b"/", b".",
         b"hello.txt", b"sub", b"sub/x")

# SFTP request types (filexfer-02) for random structure
SFTP_TYPES = (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 200, 0, 2, 101, 255)


def load_corpus(path=CORPUS):
    """{kind: [payload, ...]} from the recorded sessions: client packets by message number
    ("msg"), SFTP packets ("sftp") and scp protocol data ("scp")."""
    out = {"msg": [], "sftp": [], "scp": [], "keys": []}
    if not os.path.isdir(path):
        return out
    for name in sorted(os.listdir(path)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(path, name)) as f:
            for line in f:
                line = line.strip()
                if not line or line[0] == "#":
                    continue
                kind, _, hexdata = line.partition(" ")
                out.setdefault(kind, []).append(bytes.fromhex(hexdata))
    return out


def corpus_size(corpus):
    return sum(len(v) for v in corpus.values()), sum(len(x) for v in corpus.values() for x in v)


class Mutator:
    def __init__(self, rng):
        self.rng = rng

    def mutate(self, data, pool=(), n=None):
        """1-4 byte-level mutations of data (bytes); pool: other inputs to splice from."""
        r = self.rng
        b = bytearray(data)
        for _ in range(n or r.choice((1, 1, 1, 2, 2, 3, 4))):
            op = r.randrange(11)
            i = r.randrange(len(b) + 1)
            if op == 0 and b:  # flip a bit
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
            elif op == 1 and b:  # an interesting byte
                b[r.randrange(len(b))] = r.choice(INTERESTING8)
            elif op == 2 and b:  # a random byte
                b[r.randrange(len(b))] = r.randrange(256)
            elif op == 3:  # an interesting u32 (lengths, counts, ids)
                v = r.choice(INTERESTING32)
                if r.random() < 0.3:
                    v = (len(b) - i + r.randrange(-5, 6)) & 0xFFFFFFFF
                b[i:i + 4] = u32(v)
            elif op == 4 and b:  # delete a range
                j = min(len(b), i + r.choice((1, 1, 2, 4, 8, r.randrange(1, 64))))
                b[i:j] = b""
            elif op == 5:  # insert random bytes
                b[i:i] = os.urandom(r.choice((1, 2, 4, 8, r.randrange(1, 40))))
            elif op == 6 and b:  # duplicate a range
                j = min(len(b), i + r.randrange(1, 64))
                b[i:i] = b[i:j] * r.choice((1, 2, 8))
            elif op == 7:  # truncate
                del b[i:]
            elif op == 8 and pool:  # splice with another input
                o = r.choice(pool)
                j = r.randrange(len(o) + 1)
                b = b[:i] + bytearray(o[j:])
            elif op == 9 and b:  # another message number
                b[0] = r.choice(MSGS)
            elif op == 10:  # a string field
                b[i:i] = s(r.choice(NAMES))
        return bytes(b)

    def field(self):
        r = self.rng
        k = r.randrange(8)
        if k == 0:
            return u32(r.choice(INTERESTING32))
        if k == 1:
            return u32(r.randrange(1 << 32))
        if k == 2:
            return bytes([r.choice((0, 1, 2, 255))])
        if k == 3:
            return s(os.urandom(r.choice((0, 1, 32, 64, 100, r.randrange(300)))))
        if k == 4:  # a string whose length lies
            body = os.urandom(r.randrange(16))
            return u32(len(body) + r.choice((1, 2, 100, 0xFFFFFFFF))) + body
        if k == 5:  # name-list
            return s(b",".join(r.choice(NAMES) for _ in range(r.randrange(4))))
        return s(r.choice(NAMES))

    def structure(self, msgs=MSGS):
        """A random payload: a message number and a few SSH fields."""
        r = self.rng
        return bytes([r.choice(msgs)]) + b"".join(self.field() for _ in range(r.randrange(7)))

    def sftp_structure(self):
        r = self.rng
        body = bytes([r.choice(SFTP_TYPES)]) + u32(r.randrange(100)) + b"".join(
            self.field() for _ in range(r.randrange(6)))
        return u32(len(body)) + body


def channel_data(data, ch=0):
    return b"\x5e" + u32(ch) + s(data)


def chreq(name, data=b"", reply=True, ch=0):
    return b"\x62" + u32(ch) + s(name) + (b"\x01" if reply else b"\x00") + data


def seeds(lab, corpus):
    """{state: [item, ...]} valid inputs for each state (items as harness.run_case takes)."""
    msg = corpus.get("msg", [])
    by = {}
    for p in msg:
        by.setdefault(p[0], []).append(p)
    P = lambda p: ("pkt", p, None)  # noqa: E731
    pty = chreq(b"pty-req", s(b"xterm-256color") + u32(80) + u32(24) + u32(640) + u32(480)
                + s(b"\x81" + u32(38400) + b"\x80" + u32(38400) + b"\x00"))
    out = {
        "banner": [("raw", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), ("raw", b"SSH-2.0-x\n"),
                   ("raw", b"SSH-1.99-old\r\n"), ("raw", b"GET / HTTP/1.1\r\n"), ("raw", b"SSH-2.0-" + b"a" * 240 + b"\r\n")],
        "kexinit": [P(lab.kexinit()), P(lab.kexinit(True))] + [P(p) for p in by.get(20, [])],
        "kex_ecdh": [P(b"\x1e" + s(os.urandom(32))), P(b"\x1e" + s(bytes(32)))] + [
            P(p) for p in by.get(30, []) if len(p) < 100],
        "kex_pq": [P(b"\x1e" + s(_mlkem_share())), P(b"\x1e" + s(bytes(1216)))] + [
            P(p) for p in by.get(30, []) if len(p) > 100],
        "newkeys": [P(b"\x15"), P(b"\x02" + s(b"x")), P(b"\x14")],
        "service": [P(b"\x05" + s(b"ssh-userauth"))] + [P(p) for p in by.get(5, [])],
        "userauth": [P(b"\x32" + s(b"fuzz") + s(b"ssh-connection") + s(b"none")),
                     P(lab.userauth_body(query=True)), ("signed", lab.userauth_body(), None, "ours"),
                     ("signed", lab.userauth_body(key=lab.other), None, "other")] + [
                         P(p) for p in by.get(50, [])],
        "authed": [P(b"\x5a" + s(b"session") + u32(0) + u32(1 << 20) + u32(32768)),
                   P(b"\x50" + s(b"keepalive@openssh.com") + b"\x01"),
                   P(b"\x50" + s(b"no-more-sessions@openssh.com") + b"\x00"),
                   P(b"\x5a" + s(b"direct-tcpip") + u32(1) + u32(1 << 20) + u32(32768) + s(b"a") + u32(1) + s(b"b") + u32(2)),
                   P(lab.kexinit())] + [P(p) for p in by.get(90, []) + by.get(80, [])],
        "channel": [P(chreq(b"exec", s(b"print(6*7)"))), P(pty), P(chreq(b"env", s(b"LANG") + s(b"C.UTF-8"))),
                    P(chreq(b"window-change", u32(100) + u32(40) + u32(0) + u32(0), False)),
                    P(chreq(b"subsystem", s(b"sftp"))), P(chreq(b"shell")), P(chreq(b"signal", s(b"INT"), False)),
                    P(chreq(b"x11-req", b"\x00" + s(b"MIT-MAGIC-COOKIE-1") + s(b"00") + u32(0))),
                    P(b"\x5d" + u32(0) + u32(1000)), P(b"\x60" + u32(0)), P(b"\x61" + u32(0)),
                    P(channel_data(b"abc"))] + [P(p) for p in by.get(98, [])],
        "shell": [P(channel_data(b"print(1)\r")), P(channel_data(b"\x1b[A\x1b[D\x7f\r")), P(channel_data(b"\x05x=1\r\x04")),
                  P(channel_data(b"\x03")), P(channel_data(b"for i in range(3):\r  pass\r\r")), P(b"\x60" + u32(0)),
                  P(b"\x61" + u32(0)), P(b"\x5d" + u32(0) + u32(65536)),
                  P(chreq(b"window-change", u32(100) + u32(40) + u32(0) + u32(0), False))] + [
                      P(p) for p in by.get(94, []) if len(p) < 200],
        "sftp": [P(channel_data(p)) for p in _sftp_seeds() + corpus.get("sftp", [])],
        "scp": [P(chreq(b"exec", s(b"scp -t /"))), P(chreq(b"exec", s(b"scp -f /hello.txt"))),
                P(chreq(b"exec", s(b"scp -r -t /sub"))), P(channel_data(b"C0644 5 a.txt\n")),
                P(channel_data(b"hello\x00")), P(channel_data(b"D0755 0 d\n")), P(channel_data(b"E\n")),
                P(channel_data(b"\x00")), P(channel_data(b"T1 0 1 0\n")), P(b"\x60" + u32(0))] + [
                    P(channel_data(p)) for p in corpus.get("scp", [])],
    }
    # the other key types, certificates and the password (fuzz/userkeys.py)
    out["userauth"] += [P(b) if who is None else ("signed", b, None, who) for b, who in lab.uk.requests()]
    out["rekey"] = [P(lab.kexinit()), P(lab.kexinit(True))] + [P(p) for p in by.get(20, [])]
    # encrypt-and-MAC packets: the service state's inputs and the user auth ones
    out["eam"] = out["service"] + out["userauth"][:3]
    return out


def _mlkem_share():
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

    return MLKEM768PrivateKey.generate().public_key().public_bytes_raw() + os.urandom(32)


def _sftp(t, rid, body):
    b = bytes([t]) + u32(rid) + body
    return u32(len(b)) + b


def _sftp_seeds():
    h = s(b"\x00\x00\x00\x00")
    attrs = u32(0xC) + u32(0o644) + u32(1) + u32(2)
    return [
        _sftp(16, 1, s(b".")), _sftp(17, 2, s(b"/hello.txt")), _sftp(7, 3, s(b"sub")),
        _sftp(3, 4, s(b"/hello.txt") + u32(1) + u32(0)), _sftp(3, 5, s(b"new.txt") + u32(0x1A) + attrs),
        _sftp(5, 6, h + struct.pack(">Q", 0) + u32(100)), _sftp(6, 7, h + struct.pack(">Q", 0) + s(b"data")),
        _sftp(4, 8, h), _sftp(11, 9, s(b"/")), _sftp(12, 10, h), _sftp(13, 11, s(b"gone.txt")),
        _sftp(14, 12, s(b"d2") + u32(0)), _sftp(15, 13, s(b"d2")), _sftp(18, 14, s(b"a") + s(b"b")),
        _sftp(9, 15, s(b"hello.txt") + attrs), _sftp(8, 16, h), _sftp(10, 17, h + u32(0)),
        _sftp(200, 18, s(b"posix-rename@openssh.com") + s(b"a") + s(b"b")),
        _sftp(200, 19, s(b"statvfs@openssh.com") + s(b"/")), _sftp(200, 20, s(b"fsync@openssh.com") + h),
        _sftp(3, 21, s(b"../../x") + u32(0x1A) + u32(0)),
    ]


# states whose seeds are channel data: the mutation goes inside, the framing stays valid
_INNER = {"sftp", "shell", "scp"}


class Generator:
    """Cases for each state: generate(state) -> (items, cuts)."""

    def __init__(self, lab, corpus, rng):
        self.rng = rng
        self.m = Mutator(rng)
        self.seeds = seeds(lab, corpus)
        self.pool = [it[1] for v in self.seeds.values() for it in v]

    def _one(self, state):
        r, m = self.rng, self.m
        sd = self.seeds[state] or self.seeds["authed"]
        it = r.choice(sd)
        x = r.random()
        if x < 0.12:  # a valid seed as is (sequences of them confuse the state machine)
            return it
        if x < 0.3 and it[0] != "raw":  # random structure
            if state == "sftp" and r.random() < 0.7:
                return ("pkt", channel_data(m.sftp_structure()), None)
            return ("pkt", m.structure(), None)
        if state in _INNER and it[0] == "pkt" and it[1][:1] == b"\x5e" and r.random() < 0.7:
            inner = it[1][9:]
            if state == "sftp" and r.random() < 0.2:
                inner = inner + r.choice(self.seeds[state])[1][9:]  # two requests in one message
            return ("pkt", channel_data(m.mutate(inner, self.pool)), None)
        data = m.mutate(it[1], self.pool)
        if it[0] == "signed":
            return ("signed", data, None, it[3])
        return (it[0], data, None)

    def generate(self, state):
        r = self.rng
        n = 1 if r.random() < 0.6 else r.randrange(2, 5)
        items = [self._one(state) for _ in range(n)]
        if state == "scp" and r.random() < 0.8:  # scp reads its data while running: one feed
            head = ("pkt", chreq(b"exec", s(r.choice((b"scp -t /", b"scp -t /sub", b"scp -r -t /",
                                                       b"scp -f /hello.txt", b"scp -v -t /new")))), None)
            items = [head] + items + ([("pkt", b"\x60" + u32(0), None)] if r.random() < 0.5 else [])
        if state not in ("banner",) and r.random() < 0.05:
            i = r.randrange(len(items))
            if items[i][0] in ("pkt", "signed"):
                opts = r.choice(({"pad": r.randrange(256)}, {"dlen": r.choice((-16, -8, -1, 1, 8, 16, 1 << 20))},
                                 {"mac": 1}))
                items[i] = items[i][:2] + (opts,) + items[i][3:]
        cuts = ()
        if r.random() < 0.1:
            cuts = sorted(r.randrange(1, 2000) for _ in range(r.randrange(1, 6)))
        return items, cuts


def to_json(state, items, cuts):
    return {"state": state, "cuts": list(cuts),
            "items": [[it[0], it[1].hex(), it[2] if len(it) > 2 else None, it[3] if len(it) > 3 else None]
                      for it in items]}


def from_json(d):
    items = []
    for kind, hexdata, opts, key in d["items"]:
        it = (kind, bytes.fromhex(hexdata), opts)
        items.append(it + (key,) if kind == "signed" else it)
    return d["state"], items, d["cuts"]
