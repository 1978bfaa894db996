# The operations of SFTP version 3 (draft-ietf-secsh-filexfer-02) that a file's upload or
# download uses: OPEN, CLOSE, WRITE, READ, REALPATH, STAT and LSTAT, and what every handler
# shares (handles, paths, attributes, Status). A handler gets the session (ussh.sftp, the
# framing) and a Reader on the request after its id; it answers with s.send/s.status or raises
# Status. The other requests (FSTAT, SETSTAT, FSETSTAT, the folders and names, the extensions)
# are ussh.sftp_dirs', imported at the first such request: a board's heap that holds a
# transfer's code and little more (110 KB) loads them only when a client asks for them. READ
# stays here: imported mid-transfer, on a heap that the session had cut up, its module found no
# room (test_budget's fragmented heap).
import os
import struct

from ussh import fs
from ussh.channel import ChannelClosed
from ussh.compat import const

_OPEN = const(3)
_CLOSE = const(4)
_READ = const(5)
_WRITE = const(6)
_LSTAT = const(7)
_REALPATH = const(16)
_STAT = const(17)
_HANDLE = const(102)
_DATA = const(103)
_NAME = const(104)
_ATTRS = const(105)

# status codes, filexfer-02 §7
_OK = const(0)
_EOF = const(1)
_NO_SUCH_FILE = const(2)
_FAILURE = const(4)

# open flags, filexfer-02 §6.3
_F_READ = const(1)
_F_WRITE = const(2)
_F_APPEND = const(4)
_F_CREAT = const(8)
_F_TRUNC = const(16)
_F_EXCL = const(32)

# attribute flags, filexfer-02 §5
_A_ALL = const(15)  # SIZE, UIDGID, PERMISSIONS, ACMODTIME

_MAX_HANDLES = const(8)
_MAX_READ = const(32768)  # the largest READ answered (clients ask for at most this)


class File:
    def __init__(self, f, host, tmp=None, old=False):
        self.f = f
        self.host = host
        self.tmp = tmp  # an upload goes here until CLOSE
        self.failed = False
        # An upload without TRUNC (OpenSSH's scp writes in place, then sets
        # the size) ends as the old file with the writes applied: `pos` is
        # how far the writes have replaced it in order; the rest is copied
        # at CLOSE (or at the first write elsewhere), up to `size` if set.
        # ussh.sftp_dirs.merge copies it (an upload with TRUNC, as OpenSSH's sftp sends, has
        # none to copy: that module is not loaded)
        self.old = old
        self.pos = 0
        self.size = None


class Status(Exception):
    """Status(code, msg): answered as an SSH_FXP_STATUS with this code and message."""


def u32(b):
    return struct.pack(">I", len(b)) + b


def _mode(st):
    m = st[0]
    if not m & 0o777:  # FAT and littlefs keep no permissions
        m |= 0o755 if fs.is_dir(m) else 0o644
    return m


def _attrs(st):
    return struct.pack(">IQIIIII", _A_ALL, st[6], st[4], st[5], _mode(st),
                       st[7] & 0xFFFFFFFF, st[8] & 0xFFFFFFFF)


def _handle(s, r, kind=File):
    h = s.handles.get(r.string())
    if not isinstance(h, kind):
        raise Status(_FAILURE, "invalid handle")
    return h


def _new_handle(s, h):
    if len(s.handles) >= _MAX_HANDLES:
        raise Status(_FAILURE, "too many open handles")
    s.next_handle += 1
    k = str(s.next_handle).encode()
    s.handles[k] = h
    return s.send(_HANDLE, s.rid, u32(k))


def _path(s, r):
    return s.root.host(r.string())


def _write(s, r):  # without data: its header, then nothing
    s.wleft = 0
    s.write_head(r)
    s.write_end(None)


def _close(s, r):
    k = r.string()
    r.done()
    h = s.handles.pop(k, None)
    if h is None:
        raise Status(_FAILURE, "invalid handle")
    if isinstance(h, File):
        if h.tmp is None:
            h.f.close()
        elif h.failed:
            s.root.finish(h.f, h.tmp)
            raise Status(_FAILURE, "upload failed: the file is unchanged")
        else:
            try:
                if h.old:
                    from ussh.sftp_dirs import merge

                    merge(h, h.size)
            except OSError:
                s.root.finish(h.f, h.tmp)
                raise
            s.root.finish(h.f, h.tmp, h.host)
    s.status(s.rid, _OK)


def _open(s, r):
    p = _path(s, r)
    fl = r.u32()
    r.pos = r.end  # attributes: nothing a board's filesystem keeps
    try:
        isdir = fs.is_dir(os.stat(p)[0])
        exists = True
    except OSError:
        isdir = exists = False
    if isdir:
        raise Status(_FAILURE, "is a folder")
    if exists and fl & _F_EXCL and fl & _F_CREAT:
        raise Status(_FAILURE, "file exists")
    if not exists and not fl & _F_CREAT:
        raise Status(_NO_SUCH_FILE, "no such file")
    tmp = None
    if not fl & _F_WRITE:
        f = open(p, "rb")
    elif fl & _F_APPEND:
        f = open(p, "ab")
    elif fl & _F_READ and exists and not fl & _F_TRUNC:
        f = open(p, "r+b")
    else:
        # an upload: the target changes only at CLOSE
        f, tmp = s.root.upload(p)
    try:
        _new_handle(s, File(f, p, tmp, tmp and exists and not fl & _F_TRUNC))
    except Status:
        s.root.finish(f, tmp) if tmp else f.close()
        raise


def _stat(s, r):  # STAT and LSTAT: symbolic links are not followed anywhere else either
    p = _path(s, r)
    r.done()
    s.send(_ATTRS, s.rid, _attrs(os.stat(p)))


def _realpath(s, r):
    p = "/" + "/".join(s.root.parts(r.string()))
    r.done()
    s.send(_NAME, s.rid, b"\0\0\0\1" + u32(p.encode()) * 2 + b"\0\0\0\0")


# the requests handled here; ussh.sftp asks ussh.sftp_dirs.HANDLERS for the others
def _read(s, r):
    h = _handle(s, r)
    off = r.u64()
    n = min(r.u32(), _MAX_READ)
    r.done()
    if off >> 62:  # no file here is that large; seek() would overflow
        raise Status(_FAILURE, "offset too large")
    f = h.f
    if s.chunk is None:  # the session's first READ (ussh.sftp): now, or "out of memory"
        s.chunk = bytearray(s.max_read)
    if n > s.max_read:
        # more than the budget holds at once: the reply is streamed in chunks through the
        # channel's flow control. Clients (libssh2) take a short read mid-file for a gap, so
        # the length is what the file has there, announced first
        f.seek(0, 2)
        n = min(n, max(0, f.tell() - off))
    f.seek(off)
    if n <= s.max_read:
        k = f.readinto(memoryview(s.chunk)[:n])  # s.send copies it into the channel's buffer
        if not k:
            raise Status(_EOF, "end of file")
        return s.send(_DATA, s.rid, memoryview(s.chunk)[:k], struct.pack(">I", k))
    ch = s.ch
    ch.out(struct.pack(">IBII", n + 9, _DATA, s.rid, n))
    try:
        buf = memoryview(s.chunk)
        while n:
            m = min(n, len(buf))
            k = f.readinto(buf[:m])  # ch.out copies it into the channel's buffer
            if not k:  # the file shrank since: the length is announced, zeros make it up
                buf[:m] = bytes(m)
                k = m
            ch.out(buf[:k])
            n -= k
    except (OSError, MemoryError) as e:
        # the header is out: no STATUS can follow; the session ends (the client sees it close)
        s.log("sftp: read failed mid-reply (%r): ending the session" % e)
        s.closed = True
        raise ChannelClosed()


HANDLERS = {
    _OPEN: _open,
    _CLOSE: _close,
    _WRITE: _write,
    _READ: _read,
    _LSTAT: _stat,
    _REALPATH: _realpath,
    _STAT: _stat,
}
