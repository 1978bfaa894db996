# SSH transport layer, RFC 4253 §4.2 (identification) and §6 (binary packet
# protocol): framing, sequence numbers, encryption and MAC. Sans-IO: bytes
# come in through feed(), packets leave as bytes from pack().
import struct

from ussh.compat import const
from ussh.wire import SSHError, DISCONNECT_MAC_ERROR, DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED
from ussh.crypto import random_into

_MAX_VERSION_LINE = const(255)  # RFC 4253 §4.2: at most 255 characters
_MIN_PADDING = const(4)  # RFC 4253 §6
_MSG_KEXINIT = const(20)
_MSG_CHANNEL_DATA = const(94)
# random padding drawn this many bytes at a time: a DRBG call for each packet's few bytes was
# 180,000 Cortex-M3 instructions, 2.5 M of a portable login's 14 packets (ussh.crypto.rand)
_PAD_POOL = const(256)


def ct_equal(a, b):
    # Compares every byte: the time does not depend on where they differ.
    if len(a) != len(b):
        return False
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")) == 0


def _wipe(*objs):
    for o in objs:
        if o is not None:
            o.wipe()


class Transport:
    """Framing of one SSH connection: version line, then binary packets."""

    def __init__(self, max_packet=35000, reserve=0, copy_data=False):
        """copy_data: CHANNEL_DATA payloads come as views of one buffer (pbuf), reused, for a
        reader that copies each at once (Connection); else each payload is its own bytes.
        reserve: the receive buffer (and that copy) made this many bytes long now, for a
        board's budget (ussh.budget): made later, at a packet that long, on a heap that earlier
        connections cut into small pieces, they found no free run that long (paramiko sends
        4 KB packets whatever a board announces). Where even now there is none, they grow as
        the packets come."""
        self.max_packet = max_packet  # RFC 4253 §6.1: 35000 must be accepted
        self.rbuf = bytearray()
        self.rroom = 0  # what rbuf was made to hold without growing (a board's budget), 0: no bound
        self.pbuf = bytearray() if copy_data else None
        if reserve:
            try:
                self.rbuf = bytearray(reserve)
                self.rbuf[:] = b""  # emptied: it keeps its room
                self.rroom = reserve  # the driver reads no more than that at a time (ussh.server)
                if copy_data:
                    self.pbuf = bytearray(reserve)
            except MemoryError:
                self.rbuf = bytearray()
                self.rroom = 0
        self.peer_version = None
        self.seq_in = 0
        self.seq_out = 0
        # Incoming and outgoing directions are keyed separately (NEWKEYS).
        self.dec = self.mac_in = None
        self.enc = self.mac_out = None
        self.mac_len_in = self.mac_len_out = 0
        # encrypt-then-MAC (the default) or encrypt-and-MAC (RFC 4253 §6.4:
        # hmac-sha2-256, which e.g. Dropbear 2022 needs): then the length is
        # encrypted too, and _head keeps it once the first block is decrypted.
        self.etm_in = self.etm_out = True
        self._head = None
        self.bytes_in = self.bytes_out = 0  # since the last key exchange
        # random bytes for the packets' padding, drawn _PAD_POOL at a time, used from _pad_at
        self._pad = b""
        self._pad_at = 0

    def feed(self, data):
        self.rbuf += data

    def wanted(self):
        # Bytes still missing from the version line (1 at a time: its length
        # is unknown) or from the next packet, at least 1: a driver on a byte
        # stream reads exactly that much and never blocks on bytes that the
        # client will send only after our reply.
        buf = self.rbuf
        if self.mac_len_in and not self.etm_in:
            if self._head is None:  # the first block holds the length
                return max(1, 16 - len(buf))
            return max(1, 4 + self._head + self.mac_len_in - len(buf))
        if self.peer_version is None or len(buf) < 4:
            return 1 if self.peer_version is None else 4 - len(buf)
        n = (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]
        if n > self.max_packet:
            return 1  # read_packet refuses it
        return max(1, 4 + n + self.mac_len_in - len(buf))

    def read_version(self):
        # RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments CR LF".
        # Only a server may send other lines first; a client's first line
        # must be its version (as OpenSSH's sshd requires).
        buf = self.rbuf
        i = buf.find(b"\n")
        if i < 0:
            if len(buf) > _MAX_VERSION_LINE or (len(buf) >= 4 and buf[:4] != b"SSH-"):
                raise SSHError("not an SSH client", DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED)
            return None
        line = bytes(buf[:i])
        buf[: i + 1] = b""
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.startswith(b"SSH-") or len(line) > _MAX_VERSION_LINE - 2:
            raise SSHError("not an SSH client", DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED)
        if not (line.startswith(b"SSH-2.0-") or line.startswith(b"SSH-1.99-")):
            raise SSHError("protocol version not supported", DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED)
        self.peer_version = line
        return line

    def set_in(self, dec, mac, mac_len, etm=True):
        _wipe(self.dec, self.mac_in)  # the previous keys are done with
        self.dec, self.mac_in, self.mac_len_in, self.etm_in = dec, mac, mac_len, etm

    def set_out(self, enc, mac, mac_len, etm=True):
        _wipe(self.enc, self.mac_out)
        self.enc, self.mac_out, self.mac_len_out, self.etm_out = enc, mac, mac_len, etm

    def wipe(self):
        """Overwrites the keys held (the connection is over)."""
        _wipe(self.dec, self.mac_in, self.enc, self.mac_out)

    def read_packet(self):
        """The next payload as bytes, or None until more input arrives."""
        buf = self.rbuf
        mac_len = self.mac_len_in
        if mac_len and not self.etm_in:
            return self._read_eam(buf, mac_len)
        if len(buf) < 4:
            return None
        n = (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]
        if n > self.max_packet:
            raise SSHError("packet length %d over the limit %d" % (n, self.max_packet))
        # The encrypted part (etm: everything after the length) or the whole
        # packet (no keys yet) is a multiple of the block size, §6.
        if (n if mac_len else n + 4) % (16 if mac_len else 8) or n < 8:
            raise SSHError("bad packet length %d" % n)
        total = 4 + n + mac_len
        if len(buf) < total:
            return None
        seq = self.seq_in
        if mac_len:
            # encrypt-then-MAC (OpenSSH PROTOCOL §1.5): the MAC covers
            # seq || length || ciphertext and is checked before decrypting.
            tag = self.mac_in.mac(struct.pack(">I", seq), memoryview(buf)[: 4 + n])
            if not ct_equal(tag, buf[4 + n : total]):
                raise SSHError("message authentication code incorrect", DISCONNECT_MAC_ERROR)
            self.dec.apply(buf, 4, 4 + n)
        return self._payload(buf, n, total)

    def _payload(self, buf, n, total):
        pad = buf[4]
        if pad < _MIN_PADDING or pad > n - 1:
            raise SSHError("bad padding length %d" % pad)
        m = n - pad - 1
        pb = self.pbuf
        if pb is not None and (buf[5] == _MSG_CHANNEL_DATA or buf[5] == _MSG_KEXINIT):
            # channel data is copied into its channel before the next packet is read, and a
            # KEXINIT is parsed and hashed (ussh.kex.exchange): they come as a view of one buffer
            # reused for the connection (a board's heap, cut into packet-sized pieces for every
            # packet, soon had no run of a few KB left; OpenSSH's KEXINIT is 1.5 KB)
            if len(pb) < m:
                pb = self.pbuf = bytearray(m)
            pb[:m] = memoryview(buf)[5 : 5 + m]
            payload = memoryview(pb)[:m]
        else:
            payload = bytes(memoryview(buf)[5 : 5 + m])  # one copy, not two
        buf[:total] = b""
        self.seq_in = (self.seq_in + 1) & 0xFFFFFFFF
        self.bytes_in += total
        return payload

    def _read_eam(self, buf, mac_len):
        # encrypt-and-MAC, RFC 4253 §6.4: the whole packet is encrypted; the
        # MAC covers seq || the plaintext packet and follows it in clear.
        if self._head is None:
            if len(buf) < 16:
                return None
            self.dec.apply(buf, 0, 16)
            n = (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]
            if n > self.max_packet:
                raise SSHError("packet length %d over the limit %d" % (n, self.max_packet))
            if (n + 4) % 16 or n < 12:
                raise SSHError("bad packet length %d" % n)
            self._head = n
        n = self._head
        total = 4 + n + mac_len
        if len(buf) < total:
            return None
        self.dec.apply(buf, 16, 4 + n)
        tag = self.mac_in.mac(struct.pack(">I", self.seq_in), memoryview(buf)[: 4 + n])
        if not ct_equal(tag, buf[4 + n : total]):
            raise SSHError("message authentication code incorrect", DISCONNECT_MAC_ERROR)
        self._head = None
        return self._payload(buf, n, total)

    def _padding(self, n):
        # RFC 4253 §6: n random bytes, each used once
        i = self._pad_at
        if i + n > len(self._pad):
            if not self._pad:
                self._pad = bytearray(_PAD_POOL)
            random_into(self._pad)  # in place: a new pool mid-session found no 256 B run (110 KB board)
            i = 0
        self._pad_at = i + n
        return memoryview(self._pad)[i : i + n]

    def pack(self, payload):
        """payload as one encrypted, MAC'd packet, ready for the wire."""
        enc = self.enc
        bs = 16 if enc else 8
        plen = len(payload)
        etm = enc and self.etm_out
        if etm:  # etm: the length field stays outside the aligned part
            pad = bs - (1 + plen) % bs
        else:
            pad = bs - (5 + plen) % bs
        if pad < _MIN_PADDING:
            pad += bs
        n = 1 + plen + pad
        mac_len = self.mac_len_out
        pkt = bytearray(4 + n + mac_len)
        struct.pack_into(">IB", pkt, 0, n, pad)
        pkt[5 : 5 + plen] = payload
        pkt[5 + plen : 4 + n] = self._padding(pad)
        seq = self.seq_out
        if etm:
            enc.apply(pkt, 4, 4 + n)
            pkt[4 + n :] = self.mac_out.mac(struct.pack(">I", seq), memoryview(pkt)[: 4 + n])
        elif enc:  # encrypt-and-MAC: MAC the plaintext, then encrypt all of it
            pkt[4 + n :] = self.mac_out.mac(struct.pack(">I", seq), memoryview(pkt)[: 4 + n])
            enc.apply(pkt, 0, 4 + n)
        self.seq_out = (seq + 1) & 0xFFFFFFFF
        self.bytes_out += len(pkt)
        return pkt
