"""A small SSH-2 client for tests, independent of lib/ussh (its crypto is `cryptography`).

Each protocol step is its own call, so a test can stop, skip or corrupt any of them:

    c = RawClient(port)
    c.send_version(); c.read_version()
    c.kexinit(strict=True, ext_info=True)     # send ours, read the server's
    c.kex()                                   # ECDH init/reply (host signature checked), NEWKEYS
    c.service_request()
    t, p = c.userauth_publickey("tester", key)   # t == USERAUTH_SUCCESS
    ch = c.open_session()
    r = c.exec(ch, "print(6*7)")              # r.stdout, r.stderr, r.status, r.events

Faults: send_raw(bytes), send_packet(payload, pad_field=, bad_mac=), userauth_publickey(...,
sig_override=, session_id_override=, algorithm=, blob=, query_only=). recv_packet() returns
(msgtype, payload) for every packet; recv() skips IGNORE/DEBUG/EXT_INFO and raises Disconnected
on DISCONNECT; expect_disconnect() returns (code, reason) or raises ClosedWithoutDisconnect.
Only 127.0.0.1; every socket operation times out (10 s by default).
"""
import base64
import hashlib
import hmac
import os
import socket
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Message numbers, RFC 4250 §4.1
DISCONNECT, IGNORE, UNIMPLEMENTED, DEBUG, SERVICE_REQUEST, SERVICE_ACCEPT, EXT_INFO = 1, 2, 3, 4, 5, 6, 7
KEXINIT, NEWKEYS, KEX_ECDH_INIT, KEX_ECDH_REPLY = 20, 21, 30, 31
USERAUTH_REQUEST, USERAUTH_FAILURE, USERAUTH_SUCCESS, USERAUTH_PK_OK = 50, 51, 52, 60
GLOBAL_REQUEST, REQUEST_SUCCESS, REQUEST_FAILURE = 80, 81, 82
CHANNEL_OPEN, CHANNEL_OPEN_CONFIRMATION, CHANNEL_OPEN_FAILURE, CHANNEL_WINDOW_ADJUST = 90, 91, 92, 93
CHANNEL_DATA, CHANNEL_EXTENDED_DATA, CHANNEL_EOF, CHANNEL_CLOSE = 94, 95, 96, 97
CHANNEL_REQUEST, CHANNEL_SUCCESS, CHANNEL_FAILURE = 98, 99, 100

CIPHER_KEY_LEN = {b"aes128-ctr": 16, b"aes256-ctr": 32}


class Disconnected(Exception):
    """The server sent SSH_MSG_DISCONNECT."""

    def __init__(self, code, reason):
        super().__init__("DISCONNECT %d %r" % (code, reason))
        self.code, self.reason = code, reason


class ClosedWithoutDisconnect(Exception):
    """The connection ended without a DISCONNECT message."""


# -- SSH data types, RFC 4251 §5
def u32(n):
    return struct.pack(">I", n)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def namelist(names):
    return string(b",".join(names))


def mpint_unsigned(b):
    b = b.lstrip(b"\x00")
    return string(b"\x00" + b if b and b[0] & 0x80 else b)


class Reader:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError("short packet")
        self.pos += n
        return self.buf[self.pos - n : self.pos]

    def byte(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def namelist(self):
        s = self.string()
        return s.split(b",") if s else []


def load_private_key(path):
    """An OpenSSH private key file (unencrypted) as a cryptography key object."""
    with open(path, "rb") as f:
        return serialization.load_ssh_private_key(f.read(), password=None)


def key_blob(key):
    """The SSH public key blob (RFC 4253 §6.6, RFC 8709 §4) of a cryptography key."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    line = pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def sign_raw(key, algorithm, data):
    """The bare signature of data: Ed25519 (64 bytes), RSA PKCS#1 v1.5 (RFC 8332) or
    ECDSA P-256 (RFC 5656 §3.1.2: mpint r, mpint s)."""
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return mpint_unsigned(r.to_bytes(33, "big")) + mpint_unsigned(s.to_bytes(33, "big"))
    h = {b"ssh-rsa": hashes.SHA1, b"rsa-sha2-256": hashes.SHA256, b"rsa-sha2-512": hashes.SHA512}
    return key.sign(data, padding.PKCS1v15(), h.get(algorithm, hashes.SHA256)())


class ExecResult:
    def __init__(self):
        self.stdout, self.stderr, self.status, self.events = b"", b"", None, []


class RawClient:
    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.rbuf = b""
        self.seq_in = self.seq_out = 0
        self.enc = self.dec = self.mac_out = self.mac_in = None
        self.version = self.server_version = None
        self.i_c = self.i_s = None
        self.pending_in = None  # the server's keys, armed until its NEWKEYS arrives
        self.session_id = None
        self.service = None
        self.strict = False
        self.server_sig_algs = None  # from EXT_INFO (RFC 8308)
        self.next_channel = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- bytes
    def send_raw(self, data):
        self.sock.sendall(data)

    def _read(self, n):
        """Exactly n more bytes in rbuf, or ClosedWithoutDisconnect."""
        while len(self.rbuf) < n:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                raise ClosedWithoutDisconnect("connection closed (%d bytes pending)" % len(self.rbuf))
            self.rbuf += data

    def _take(self, n):
        self._read(n)
        data, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return data

    def wait_closed(self):
        """Read until the server closes; returns the bytes that came first (timeout raises)."""
        data = self.rbuf
        self.rbuf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return data
            data += chunk

    # -- identification, RFC 4253 §4.2
    def send_version(self, line=b"SSH-2.0-rawtest"):
        self.version = line
        self.send_raw(line + b"\r\n")

    def read_line(self):
        while b"\n" not in self.rbuf:
            if len(self.rbuf) > 1024:
                raise ValueError("no line end in %r" % self.rbuf[:80])
            self._read(len(self.rbuf) + 1)
        line, self.rbuf = self.rbuf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def read_version(self):
        for _ in range(50):
            line = self.read_line()
            if line.startswith(b"SSH-"):
                self.server_version = line
                return line
        raise ValueError("no SSH version line")

    # -- binary packets, RFC 4253 §6 (etm MACs: OpenSSH PROTOCOL §1.5)
    def pack(self, payload, pad_field=None, bad_mac=False):
        """payload as one packet; pad_field overrides the padding_length byte (the
        padding itself stays valid), bad_mac flips a bit of the MAC."""
        bs = 16 if self.enc else 8
        head = 0 if self.enc else 4  # etm: the length is outside the aligned part
        pad = bs - (head + 1 + len(payload)) % bs
        if pad < 4:
            pad += bs
        body = bytes([pad if pad_field is None else pad_field]) + payload + os.urandom(pad)
        length = u32(len(body))
        if self.enc:
            body = self.enc.update(body)
            tag = hmac.new(self.mac_out, u32(self.seq_out) + length + body, hashlib.sha256).digest()
            if bad_mac:
                tag = bytes([tag[0] ^ 1]) + tag[1:]
            body += tag
        self.seq_out = (self.seq_out + 1) & 0xFFFFFFFF
        return length + body

    def send_packet(self, payload, **faults):
        self.send_raw(self.pack(payload, **faults))

    def recv_packet(self):
        """The next packet as (msgtype, payload), DISCONNECT included."""
        n = struct.unpack(">I", self._take(4))[0]
        if n > 256 * 1024:
            raise ValueError("server sent packet length %d" % n)
        if self.dec:
            body = self._take(n)
            tag = self._take(32)
            want = hmac.new(self.mac_in, u32(self.seq_in) + u32(n) + body, hashlib.sha256).digest()
            if not hmac.compare_digest(tag, want):
                raise ValueError("bad MAC from the server")
            body = self.dec.update(body)
        else:
            body = self._take(n)
        self.seq_in = (self.seq_in + 1) & 0xFFFFFFFF
        payload = body[1 : n - body[0]]
        if payload[0] == NEWKEYS and self.pending_in is not None:
            self.dec, self.mac_in = self.pending_in  # RFC 4253 §7.3: keys apply after NEWKEYS
            self.pending_in = None
            if self.strict:
                self.seq_in = 0
        return payload[0], payload

    def recv(self):
        """The next packet that is not IGNORE/DEBUG/EXT_INFO; DISCONNECT raises Disconnected."""
        for _ in range(1000):
            t, p = self.recv_packet()
            if t == DISCONNECT:
                r = Reader(p, 1)
                raise Disconnected(r.u32(), r.string().decode("utf-8", "replace"))
            if t == EXT_INFO:
                r = Reader(p, 1)
                for _ in range(r.u32()):
                    name, value = r.string(), r.string()
                    if name == b"server-sig-algs":
                        self.server_sig_algs = value.split(b",")
            elif t not in (IGNORE, DEBUG):
                return t, p
        raise ValueError("only ignorable messages")

    def expect(self, msgtype):
        t, p = self.recv()
        if t != msgtype:
            raise AssertionError("expected message %d, got %d: %r" % (msgtype, t, p[:64]))
        return p

    def expect_disconnect(self, timeout=None):
        """(code, reason) of the server's DISCONNECT, skipping packets before it;
        ClosedWithoutDisconnect if the connection ends without one, AssertionError
        if nothing more arrives within timeout (default: the socket's)."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        skipped = []
        try:
            for _ in range(1000):
                skipped.append(self.recv()[0])
        except Disconnected as d:
            return d.code, d.reason
        except socket.timeout:
            raise AssertionError("no DISCONNECT within %ss; got messages %r" % (
                self.sock.gettimeout(), skipped))
        raise AssertionError("no DISCONNECT; got messages %r" % skipped)

    # -- key exchange, RFC 4253 §7-§8 with curve25519-sha256 (RFC 8731)
    def kexinit(self, strict=True, ext_info=True, kex=(b"curve25519-sha256",),
                hostkey=(b"ssh-ed25519",), ciphers=(b"aes128-ctr",),
                macs=(b"hmac-sha2-256-etm@openssh.com",), read=True):
        """Send our KEXINIT; with read, return the server's (name-lists parsed)."""
        kex = list(kex) + ([b"ext-info-c"] if ext_info else []) + (
            [b"kex-strict-c-v00@openssh.com"] if strict else [])
        self.kex_names, self.cipher = kex, ciphers[0]
        self.i_c = b"".join([bytes([KEXINIT]), os.urandom(16), namelist(kex), namelist(hostkey),
                             namelist(ciphers), namelist(ciphers), namelist(macs), namelist(macs),
                             namelist([b"none"]), namelist([b"none"]), namelist([]), namelist([]),
                             b"\x00", u32(0)])
        self.send_packet(self.i_c)
        return self.read_kexinit() if read else None

    def read_kexinit(self):
        self.i_s = self.expect(KEXINIT)
        r = Reader(self.i_s, 17)
        lists = [r.namelist() for _ in range(10)]
        if self.session_id is None:  # strict KEX is agreed in the first exchange only
            self.strict = b"kex-strict-c-v00@openssh.com" in self.kex_names and (
                b"kex-strict-s-v00@openssh.com" in lists[0])
        return lists

    def kex_init(self):
        self.eph = X25519PrivateKey.generate()
        self.q_c = self.eph.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
        self.send_packet(bytes([KEX_ECDH_INIT]) + string(self.q_c))

    def kex_reply(self):
        """Read the ECDH reply, check the host signature, compute H and K."""
        r = Reader(self.expect(KEX_ECDH_REPLY), 1)
        self.host_key_blob, q_s, sig = r.string(), r.string(), r.string()
        k = self.eph.exchange(X25519PublicKey.from_public_bytes(q_s))
        self.k = mpint_unsigned(k)
        self.h = hashlib.sha256(b"".join([
            string(self.version), string(self.server_version), string(self.i_c), string(self.i_s),
            string(self.host_key_blob), string(self.q_c), string(q_s), self.k])).digest()
        hk = Reader(self.host_key_blob)
        sr = Reader(sig)
        if hk.string() != b"ssh-ed25519" or sr.string() != b"ssh-ed25519":
            raise ValueError("host key/signature is not ssh-ed25519")
        Ed25519PublicKey.from_public_bytes(hk.string()).verify(sr.string(), self.h)  # raises
        if self.session_id is None:
            self.session_id = self.h

    # -- mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex), ML-KEM-768 from `cryptography`
    def kex_init_payload(self, q_c):
        """Send KEX_ECDH_INIT carrying q_c as is (any length or content)."""
        self.q_c = q_c
        self.send_packet(bytes([KEX_ECDH_INIT]) + string(q_c))

    def kex_init_mlkem(self):
        from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

        self.kem = MLKEM768PrivateKey.generate()
        self.eph = X25519PrivateKey.generate()
        self.kex_init_payload(self.kem.public_key().public_bytes_raw() + self.eph.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def kex_reply_mlkem(self):
        """Read the reply (ciphertext || server X25519 key), K = string(SHA-256(K_PQ || K_CL)),
        check the host signature over H."""
        r = Reader(self.expect(KEX_ECDH_REPLY), 1)
        self.host_key_blob, q_s, sig = r.string(), r.string(), r.string()
        if len(q_s) != 1088 + 32:
            raise ValueError("server key share of %d bytes" % len(q_s))
        k_pq = self.kem.decapsulate(q_s[:1088])
        k_cl = self.eph.exchange(X25519PublicKey.from_public_bytes(q_s[1088:]))
        self.k = string(hashlib.sha256(k_pq + k_cl).digest())
        self.h = hashlib.sha256(b"".join([
            string(self.version), string(self.server_version), string(self.i_c), string(self.i_s),
            string(self.host_key_blob), string(self.q_c), string(q_s), self.k])).digest()
        hk = Reader(self.host_key_blob)
        sr = Reader(sig)
        if hk.string() != b"ssh-ed25519" or sr.string() != b"ssh-ed25519":
            raise ValueError("host key/signature is not ssh-ed25519")
        Ed25519PublicKey.from_public_bytes(hk.string()).verify(sr.string(), self.h)  # raises
        if self.session_id is None:
            self.session_id = self.h

    def kex_mlkem(self):
        self.kex_init_mlkem()
        self.kex_reply_mlkem()
        self.newkeys()

    def _derive(self, letter, n):
        # RFC 4253 §7.2
        out = hashlib.sha256(self.k + self.h + letter + self.session_id).digest()
        while len(out) < n:
            out += hashlib.sha256(self.k + self.h + out).digest()
        return out[:n]

    def _ctr(self, key_letter, iv_letter):
        key = self._derive(key_letter, CIPHER_KEY_LEN[self.cipher])
        return Cipher(algorithms.AES(key), modes.CTR(self._derive(iv_letter, 16)))

    def newkeys(self, send=True):
        """Arm the server's keys for after its NEWKEYS, send ours and switch."""
        self.pending_in = (self._ctr(b"D", b"B").decryptor(), self._derive(b"F", 32))
        if send:
            self.send_packet(bytes([NEWKEYS]))
            self.enc, self.mac_out = self._ctr(b"C", b"A").encryptor(), self._derive(b"E", 32)
            if self.strict:
                self.seq_out = 0
        self.expect(NEWKEYS)

    def kex(self):
        self.kex_init()
        self.kex_reply()
        self.newkeys()

    def handshake(self, strict=True, ext_info=True, **algs):
        self.send_version()
        self.read_version()
        self.kexinit(strict=strict, ext_info=ext_info, **algs)
        self.kex()

    # -- user authentication, RFC 4252
    def service_request(self, name=b"ssh-userauth"):
        self.send_packet(bytes([SERVICE_REQUEST]) + string(name))
        self.service = name
        return self.expect(SERVICE_ACCEPT)

    def userauth_none(self, user="tester"):
        self.send_packet(bytes([USERAUTH_REQUEST]) + string(user) + string(b"ssh-connection")
                         + string(b"none"))
        return self.recv()

    def userauth_request(self, key, user="tester", sig_override=None, session_id_override=None,
                         algorithm=b"ssh-ed25519", blob=None, query_only=False):
        """The publickey USERAUTH_REQUEST payload (RFC 4252 §7), signed with key
        (Ed25519 or RSA private key) unless query_only. sig_override: the bare
        signature bytes to send, or a function of the real ones."""
        blob = key_blob(key) if blob is None else blob
        body = (bytes([USERAUTH_REQUEST]) + string(user) + string(b"ssh-connection")
                + string(b"publickey") + (b"\x00" if query_only else b"\x01")
                + string(algorithm) + string(blob))
        if query_only:
            return body
        sid = self.session_id if session_id_override is None else session_id_override
        sig = sign_raw(key, algorithm, string(sid) + body)
        if callable(sig_override):
            sig = sig_override(sig)
        elif sig_override is not None:
            sig = sig_override
        return body + string(string(algorithm) + string(sig))

    def userauth_publickey(self, user, key, **kw):
        """Send one publickey request; returns the answer (msgtype, payload)."""
        self.send_packet(self.userauth_request(key, user, **kw))
        return self.recv()

    def login(self, key, user="tester"):
        """Authenticate with key (requesting ssh-userauth first if not done yet)."""
        if self.service is None:
            self.service_request()
        t, p = self.userauth_publickey(user, key)
        if t != USERAUTH_SUCCESS:
            raise AssertionError("login failed: %d %r" % (t, p))

    # -- connection protocol, RFC 4254
    def open_session(self, kind=b"session", window=1 << 20, max_packet=32768):
        """Open a channel; returns the server's channel id (CHANNEL_OPEN_FAILURE raises)."""
        ours = self.next_channel
        self.next_channel += 1
        self.send_packet(bytes([CHANNEL_OPEN]) + string(kind) + u32(ours) + u32(window)
                         + u32(max_packet))
        r = Reader(self.expect(CHANNEL_OPEN_CONFIRMATION), 1)
        if r.u32() != ours:
            raise AssertionError("confirmation for another channel")
        return r.u32()

    def channel_request(self, ch, name, data=b"", want_reply=True):
        self.send_packet(bytes([CHANNEL_REQUEST]) + u32(ch) + string(name)
                         + (b"\x01" if want_reply else b"\x00") + data)

    def exec(self, ch, cmd, eof=True):
        """exec cmd on channel ch and collect everything up to the server's CLOSE
        (answered with ours). events: message names in arrival order."""
        self.channel_request(ch, b"exec", string(cmd))
        if eof:
            self.send_packet(bytes([CHANNEL_EOF]) + u32(ch))
        res = ExecResult()
        names = {CHANNEL_SUCCESS: "success", CHANNEL_FAILURE: "failure", CHANNEL_DATA: "data",
                 CHANNEL_EXTENDED_DATA: "stderr", CHANNEL_EOF: "eof", CHANNEL_CLOSE: "close",
                 CHANNEL_WINDOW_ADJUST: "window"}
        for _ in range(10000):
            t, p = self.recv()
            r = Reader(p, 1)
            if t == CHANNEL_REQUEST:
                r.u32()
                name = r.string().decode()
                res.events.append(name)
                r.byte()
                if name == "exit-status":
                    res.status = r.u32()
                continue
            if t not in names:
                raise AssertionError("unexpected message %d during exec" % t)
            res.events.append(names[t])
            r.u32()
            if t == CHANNEL_DATA:
                res.stdout += r.string()
            elif t == CHANNEL_EXTENDED_DATA:
                r.u32()
                res.stderr += r.string()
            elif t == CHANNEL_CLOSE:
                self.send_packet(bytes([CHANNEL_CLOSE]) + u32(ch))
                return res
        raise AssertionError("no CHANNEL_CLOSE")
