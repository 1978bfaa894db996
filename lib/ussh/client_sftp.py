# SFTP version 3 (draft-ietf-secsh-filexfer-02), the client's side, an
# optional module of ussh.client: put, get, listdir, stat, remove, mkdir
# over a "sftp" subsystem channel. Writes and reads keep several requests
# in flight (as OpenSSH's sftp does), files move in 16 KB pieces.
import struct

from ussh import wire
from ussh.compat import const
from ussh.wire import Reader

_INIT = const(1)
_VERSION = const(2)
_OPEN = const(3)
_CLOSE = const(4)
_READ = const(5)
_WRITE = const(6)
_STAT = const(17)
_OPENDIR = const(11)
_READDIR = const(12)
_REMOVE = const(13)
_MKDIR = const(14)
_STATUS = const(101)
_HANDLE = const(102)
_DATA = const(103)
_NAME = const(104)
_ATTRS = const(105)
_EOF = const(1)
_READ_FLAG = const(1)
_WRITE_FLAGS = const(0x1A)  # WRITE | CREAT | TRUNC
_CHUNK = const(16384)
_IN_FLIGHT = const(4)


class SFTPError(Exception):
    """A request the server refused: `code` is its SSH_FX_* status."""

    def __init__(self, code, msg):
        super().__init__("sftp: %s (status %d)" % (msg, code))
        self.code = code


def _attrs(r):
    # section 5: flags, then the fields they announce; size and permissions kept
    flags = r.u32()
    size = r.u64() if flags & 1 else None
    if flags & 2:
        r.u32()
        r.u32()
    perm = r.u32() if flags & 4 else None
    if flags & 8:
        r.u32()
        r.u32()
    if flags & 0x80000000:
        for _ in range(r.u32()):
            r.string()
            r.string()
    return size, perm


class SFTP:
    """An SFTP session on a client Channel; made by Client.sftp()."""

    def __init__(self, chan):
        self.chan = chan
        self._id = 0
        self._buf = b""

    async def _packet(self):
        while len(self._buf) < 4 or len(self._buf) < 4 + struct.unpack(">I", self._buf[:4])[0]:
            b = await self.chan.read()
            if not b:
                raise SFTPError(-1, "session ended")
            self._buf += b
        n = struct.unpack(">I", self._buf[:4])[0]
        p, self._buf = self._buf[4 : 4 + n], self._buf[4 + n :]
        return p

    def _send(self, kind, body):
        self._id = (self._id + 1) & 0xFFFFFFFF
        return self._id, struct.pack(">IBI", 5 + len(body), kind, self._id) + body

    async def _call(self, kind, body):
        rid, pkt = self._send(kind, body)
        await self.chan.write(pkt)
        return await self._reply(rid)

    async def _reply(self, rid):
        p = await self._packet()
        r = Reader(p, 1)
        if r.u32() != rid:
            raise SFTPError(-1, "reply out of order")
        if p[0] == _STATUS:
            code = r.u32()
            msg = r.text() if r.pos < r.end else ""
            return p[0], code, msg
        return p[0], r, None

    def _check(self, rep, want, what):
        if rep[0] == want:
            return rep[1]
        if rep[0] == _STATUS:
            raise SFTPError(rep[1], "%s: %s" % (what, rep[2]))
        raise SFTPError(-1, "%s: unexpected reply %d" % (what, rep[0]))

    async def init(self):
        await self.chan.write(struct.pack(">IBI", 5, _INIT, 3))
        p = await self._packet()
        if p[0] != _VERSION:
            raise SFTPError(-1, "no VERSION reply")

    async def _open(self, path, flags):
        rep = await self._call(_OPEN, wire.string(path) + struct.pack(">II", flags, 0))
        return self._check(rep, _HANDLE, path).string()

    async def _close(self, h):
        await self._ok(await self._call(_CLOSE, wire.string(h)), "close")

    async def _ok(self, rep, what):
        if rep[0] != _STATUS or rep[1]:
            self._check(rep, -1, what)

    async def write_file(self, path, data):
        """Writes bytes data to path (created or truncated)."""
        h = await self._open(path, _WRITE_FLAGS)
        pending = []
        pos = 0
        mv = memoryview(data)
        while pos < len(data) or pending:
            while pos < len(data) and len(pending) < _IN_FLIGHT:
                n = min(_CHUNK, len(data) - pos)
                rid, pkt = self._send(_WRITE, wire.string(h) + struct.pack(">Q", pos) + wire.string(bytes(mv[pos : pos + n])))
                await self.chan.write(pkt)
                pending.append(rid)
                pos += n
            await self._ok(await self._reply(pending.pop(0)), path)
        await self._close(h)

    async def read_file(self, path):
        """The bytes of path."""
        h = await self._open(path, _READ_FLAG)
        out = bytearray()
        pending = []
        ask = 0
        eof = False
        while not eof or pending:
            while not eof and len(pending) < _IN_FLIGHT:
                rid, pkt = self._send(_READ, wire.string(h) + struct.pack(">QI", ask, _CHUNK))
                await self.chan.write(pkt)
                pending.append((rid, ask))
                ask += _CHUNK
            rid, off = pending.pop(0)
            rep = await self._reply(rid)
            if rep[0] == _STATUS and rep[1] == _EOF:
                eof = True
                continue
            data = self._check(rep, _DATA, path).string()
            if off != len(out):
                raise SFTPError(-1, "%s: short read at %d" % (path, off))
            out += data
            if len(data) < _CHUNK:  # a short read: the end is near; ask no more
                eof = True
        await self._close(h)
        return bytes(out)

    async def put(self, local, remote):
        with open(local, "rb") as f:
            await self.write_file(remote, f.read())

    async def get(self, remote, local):
        data = await self.read_file(remote)
        with open(local, "wb") as f:
            f.write(data)

    async def listdir(self, path="."):
        """Names in the folder path (without . and ..), sorted."""
        rep = await self._call(_OPENDIR, wire.string(path))
        h = self._check(rep, _HANDLE, path).string()
        names = []
        while True:
            rep = await self._call(_READDIR, wire.string(h))
            if rep[0] == _STATUS and rep[1] == _EOF:
                break
            r = self._check(rep, _NAME, path)
            for _ in range(r.u32()):
                name = r.text()
                r.string()  # longname
                _attrs(r)
                if name not in (".", ".."):
                    names.append(name)
        await self._close(h)
        return sorted(names)

    async def stat(self, path):
        """(size, permissions) of path."""
        return _attrs(self._check(await self._call(_STAT, wire.string(path)), _ATTRS, path))

    async def remove(self, path):
        await self._ok(await self._call(_REMOVE, wire.string(path)), path)

    async def mkdir(self, path):
        await self._ok(await self._call(_MKDIR, wire.string(path) + struct.pack(">I", 0)), path)

    async def close(self):
        await self.chan.close()
