# SFTP version 3 (draft-ietf-secsh-filexfer-02) as the "sftp" subsystem,
# with OpenSSH's posix-rename, statvfs and fsync extensions. Packets are
# handled as they complete; WRITE data goes straight to the file and READ
# replies are at most _MAX_READ bytes, so a session holds a few packets.
import os
import struct

from ussh import fs
from ussh.compat import ENOENT, const, fsync
from ussh.wire import Reader, SSHError

_INIT = const(1)
_OPEN = const(3)
_CLOSE = const(4)
_READ = const(5)
_WRITE = const(6)
_LSTAT = const(7)
_FSTAT = const(8)
_SETSTAT = const(9)
_FSETSTAT = const(10)
_OPENDIR = const(11)
_READDIR = const(12)
_REMOVE = const(13)
_MKDIR = const(14)
_RMDIR = const(15)
_REALPATH = const(16)
_STAT = const(17)
_RENAME = const(18)
_EXTENDED = const(200)
_STATUS = const(101)
_HANDLE = const(102)
_DATA = const(103)
_NAME = const(104)
_ATTRS = const(105)
_EXTENDED_REPLY = const(201)

# status codes, filexfer-02 §7
_OK = const(0)
_EOF = const(1)
_NO_SUCH_FILE = const(2)
_PERMISSION_DENIED = const(3)
_FAILURE = const(4)
_BAD_MESSAGE = const(5)
_OP_UNSUPPORTED = const(8)

# open flags, filexfer-02 §6.3
_F_READ = const(1)
_F_WRITE = const(2)
_F_APPEND = const(4)
_F_CREAT = const(8)
_F_TRUNC = const(16)
_F_EXCL = const(32)

# attribute flags, filexfer-02 §5
_A_SIZE = const(1)
_A_UIDGID = const(2)
_A_PERMISSIONS = const(4)
_A_ACMODTIME = const(8)
_A_EXTENDED = const(0x80000000)

_MAX_PACKET = const(34816)  # the largest request held whole (WRITE data is not held)
_MAX_READ = const(32768)
_MAX_HANDLES = const(8)
_NAMES_PER_READDIR = const(16)

_EXTENSIONS = (b"posix-rename@openssh.com", b"1", b"statvfs@openssh.com", b"2", b"fsync@openssh.com", b"1")


class _File:
    def __init__(self, f, host, tmp=None, old=False):
        self.f = f
        self.host = host
        self.tmp = tmp  # an upload goes here until CLOSE
        self.failed = False
        # An upload without TRUNC (OpenSSH's scp writes in place, then sets
        # the size) ends as the old file with the writes applied: `pos` is
        # how far the writes have replaced it in order; the rest is copied
        # at CLOSE (or at the first write elsewhere), up to `size` if set.
        self.old = old
        self.pos = 0
        self.size = None

    def merge(self, end=None):
        # copies the old file from pos to end (default: its end) into tmp
        if self.old and (end is None or end > self.pos):
            f = self.f
            f.seek(self.pos)
            with open(self.host, "rb") as g:
                g.seek(self.pos)
                n = -1 if end is None else end - self.pos
                while n:
                    b = g.read(8192 if n < 0 else min(n, 8192))
                    if not b:
                        break
                    f.write(b)
                    n -= len(b)
        self.old = False


class _Status(Exception):
    def __init__(self, code, msg):
        self.code = code
        self.msg = msg


def _u32(b):
    return struct.pack(">I", len(b)) + b


def _mode(st):
    m = st[0]
    if not m & 0o777:  # FAT and littlefs keep no permissions
        m |= 0o755 if fs.is_dir(m) else 0o644
    return m


def _attrs(st):
    return struct.pack(">IQIIIII", _A_SIZE | _A_UIDGID | _A_PERMISSIONS | _A_ACMODTIME, st[6], st[4], st[5], _mode(st),
                       st[7] & 0xFFFFFFFF, st[8] & 0xFFFFFFFF)


def _longname(name, st):
    # what `ls -l` shows, filexfer-02 §7 (SSH_FXP_NAME)
    mode = _mode(st)
    s = "d" if fs.is_dir(mode) else "-"
    for i in range(9):
        s += "rwx"[i % 3] if mode & (0o400 >> i) else "-"
    try:
        import time  # a port without a clock (qemu) has no time module: no date

        t = time.localtime(st[8])
        when = "%s %2d %02d:%02d" % ("JanFebMarAprMayJunJulAugSepOctNovDec"[3 * t[1] - 3 : 3 * t[1]], t[2], t[3], t[4])
    except (ImportError, OverflowError, OSError, ValueError):
        when = "?"
    return "%s    1 %-8d %-8d %8d %s %s" % (s, st[4], st[5], st[6], when, name)


class Session:
    """One SFTP session on a channel: fed the channel's data, answers with
    ch.out."""

    def __init__(self, conn, ch):
        self.ch = ch
        self.root = fs.Root(conn.cfg.root)
        fs.cleanup(conn.cfg.root)
        # a READ's reply is held whole (its data, then the channel's buffer): a board that takes
        # small packets (channel_max_packet) gets short reads, which clients ask again for
        self.max_read = min(_MAX_READ, 2 * conn.cfg.channel_max_packet)
        self.log = conn.log
        self.buf = bytearray()
        self.wleft = 0  # data of the current WRITE still to come
        self.wh = self.werr = None
        self.wrid = self.wend = 0
        self.handles = {}
        self.next_handle = 0
        self.closed = False

    # -- framing
    def feed(self, data):
        mv = memoryview(data)
        pos = 0
        end = len(data)
        buf = self.buf
        while not self.closed:
            if self.wleft:
                # the data of a WRITE goes straight to the file
                k = min(self.wleft, end - pos)
                if not k:
                    return
                if self.werr is None:
                    try:
                        self.wh.f.write(mv[pos : pos + k])
                    except OSError as e:
                        self.werr = e
                pos += k
                self.wleft -= k
                if not self.wleft:
                    self._run(self.wrid, self._write_end, None)
                continue
            need = self._need()
            if need < 0:
                self.log("sftp: malformed or oversized packet: ending the session")
                return self.eof()
            if len(buf) < need:
                k = min(need - len(buf), end - pos)
                if not k:
                    return
                buf += mv[pos : pos + k]
                pos += k
                continue
            n = 4 + struct.unpack_from(">I", buf)[0]
            t = buf[4]
            if t == _INIT:
                # filexfer-02 §4: answer with version 3 and our extensions
                self._send(2, 3, b"".join([_u32(x) for x in _EXTENSIONS]))
            else:
                r = Reader(buf, 5, need)
                rid = r.u32() if need >= 9 else 0
                if need < n:  # a WRITE's header: its data follows
                    self.wleft = n - need
                    self.wrid = rid
                    self._write_head(r)
                else:
                    self._run(rid, self._request, (t, r))
                r = None
            buf[:] = b""

    def _need(self):
        # how many bytes to collect: a whole packet, but of a WRITE only its
        # header; -1 for a packet that is too large to hold
        b = self.buf
        if len(b) < 5:
            return 5
        n = 4 + struct.unpack_from(">I", b)[0]
        if b[4] == _WRITE and n > 13:
            n = min(n, 25 + struct.unpack_from(">I", b, 9)[0] if len(b) >= 13 else 13)
        return n if 5 <= n <= _MAX_PACKET else -1

    def _run(self, rid, fn, arg):
        # every failure answers a STATUS
        self._rid = rid
        try:
            fn(arg)
        except _Status as e:
            self._status(rid, e.code, e.msg)
        except fs.Refused as e:
            self._status(rid, _PERMISSION_DENIED, e.args[0])
        except OSError as e:
            self._status(rid, *self._oserror(e))
        except SSHError:
            self._status(rid, _BAD_MESSAGE, "malformed request")
        except MemoryError:
            self._status(rid, _FAILURE, "out of memory")
        except ValueError as e:  # a name that is not UTF-8, a bad number...
            self._status(rid, _FAILURE, str(e) or "invalid value")

    def _write_head(self, r):
        self.werr = _Status(_BAD_MESSAGE, "malformed request")  # until the header checks out
        try:
            k = r.string()
            off = r.u64()
            n = r.u32()
            r.done()
        except SSHError:
            return
        if n != self.wleft:
            return
        h = self.wh = self.handles.get(k)
        if not isinstance(h, _File):
            self.werr = _Status(_FAILURE, "invalid handle")
            return
        if off >> 62:  # as READ: no file here is that large
            self.werr = _Status(_FAILURE, "offset too large")
            return
        self.werr = None
        self.wend = off + n
        try:
            if off != h.pos:
                h.merge()  # writes out of order: the old file first
                h.f.seek(off)
        except OSError as e:
            self.werr = e

    def _write_end(self, _):
        e = self.werr
        if e is not None:
            if isinstance(e, OSError):
                self.wh.failed = True  # an upload no longer replaces its target
            raise e
        self.wh.pos = self.wend
        self._status(self._rid, _OK)

    def eof(self):
        # the client left: uploads never closed are dropped, their targets kept
        for h in self.handles.values():
            if isinstance(h, _File):
                try:
                    self.root.finish(h.f, h.tmp) if h.tmp else h.f.close()
                except OSError:
                    pass
        self.handles = {}
        self.closed = True

    # -- replies
    def _send(self, t, rid, payload):
        self.ch.out(struct.pack(">IBI", len(payload) + 5, t, rid))
        self.ch.out(payload)

    def _status(self, rid, code, msg="ok"):
        self._send(_STATUS, rid, struct.pack(">I", code) + _u32(msg.encode()) + b"\0\0\0\0")

    def _oserror(self, e):
        n = e.args[0] if e.args else 0
        if n in ENOENT or n == 20:  # ENOTDIR
            return _NO_SUCH_FILE, fs.text(e)
        return _PERMISSION_DENIED if n in (1, 13, 30) else _FAILURE, fs.text(e)

    def _handle(self, r, kind=_File):
        h = self.handles.get(r.string())
        if not isinstance(h, kind):
            raise _Status(_FAILURE, "invalid handle")
        return h

    def _new_handle(self, h):
        if len(self.handles) >= _MAX_HANDLES:
            raise _Status(_FAILURE, "too many open handles")
        self.next_handle += 1
        k = str(self.next_handle).encode()
        self.handles[k] = h
        return self._send(_HANDLE, self._rid, _u32(k))

    def _path(self, r):
        return self.root.host(r.string())

    # -- requests
    def _request(self, a):
        t, r = a
        rid = self._rid
        if t == _READ:
            h = self._handle(r)
            off = r.u64()
            n = min(r.u32(), self.max_read)
            r.done()
            if off >> 62:  # no file here is that large; seek() would overflow
                raise _Status(_FAILURE, "offset too large")
            h.f.seek(off)
            data = h.f.read(n)
            if not data:
                raise _Status(_EOF, "end of file")
            self.ch.out(struct.pack(">IBII", len(data) + 9, _DATA, rid, len(data)))
            return self.ch.out(data)
        if t == _WRITE:  # without data: its header, then nothing
            self.wleft = 0
            self._write_head(r)
            return self._write_end(None)
        if t == _CLOSE:
            k = r.string()
            r.done()
            h = self.handles.pop(k, None)
            if h is None:
                raise _Status(_FAILURE, "invalid handle")
            if isinstance(h, _File):
                if h.tmp is None:
                    h.f.close()
                elif h.failed:
                    self.root.finish(h.f, h.tmp)
                    raise _Status(_FAILURE, "upload failed: the file is unchanged")
                else:
                    try:
                        h.merge(h.size)
                    except OSError:
                        self.root.finish(h.f, h.tmp)
                        raise
                    self.root.finish(h.f, h.tmp, h.host)
            return self._status(rid, _OK)
        if t == _OPEN:
            return self._open(r)
        if t in (_STAT, _LSTAT, _FSTAT):
            if t == _FSTAT:
                h = self._handle(r)
                h.f.flush()
                p = h.tmp or h.host
            else:
                p = self._path(r)
            r.done()
            return self._send(_ATTRS, rid, _attrs(os.stat(p)))
        if t == _SETSTAT or t == _FSETSTAT:
            h = None
            if t == _FSETSTAT:
                h = self._handle(r)
                h.f.flush()
                p = h.tmp or h.host
            else:
                p = self._path(r)
            self._setstat(p, r, h)
            return self._status(rid, _OK)
        if t == _OPENDIR:
            p = self._path(r)
            r.done()
            if not fs.is_dir(os.stat(p)[0]):
                raise _Status(_NO_SUCH_FILE, "not a folder")
            return self._new_handle((p, fs.listdir_types(p)))
        if t == _READDIR:
            return self._readdir(self._handle(r, tuple))
        if t == _REALPATH:
            p = "/" + "/".join(self.root.parts(r.string()))
            r.done()
            return self._send(_NAME, rid, b"\0\0\0\1" + _u32(p.encode()) * 2 + b"\0\0\0\0")
        if t in (_REMOVE, _MKDIR, _RMDIR):
            p = self.root.entry(r.string())  # never the root folder itself
            if t == _MKDIR:
                r.u32()  # attributes: a board's filesystem keeps none
                os.mkdir(p)
            elif t == _RMDIR:
                os.rmdir(p)
            else:
                if fs.is_dir(os.stat(p)[0]):
                    raise _Status(_FAILURE, "is a folder: use rmdir")
                os.remove(p)
            return self._status(rid, _OK)
        if t == _RENAME:
            # filexfer-02 §6.5: the target must not exist
            return self._rename(r, False)
        if t == _EXTENDED:
            return self._extended(r.string(), r)
        raise _Status(_OP_UNSUPPORTED, "unsupported request %d" % t)

    def _open(self, r):
        p = self._path(r)
        fl = r.u32()
        r.pos = r.end  # attributes: nothing a board's filesystem keeps
        try:
            isdir = fs.is_dir(os.stat(p)[0])
            exists = True
        except OSError:
            isdir = exists = False
        if isdir:
            raise _Status(_FAILURE, "is a folder")
        if exists and fl & _F_EXCL and fl & _F_CREAT:
            raise _Status(_FAILURE, "file exists")
        if not exists and not fl & _F_CREAT:
            raise _Status(_NO_SUCH_FILE, "no such file")
        tmp = None
        if not fl & _F_WRITE:
            f = open(p, "rb")
        elif fl & _F_APPEND:
            f = open(p, "ab")
        elif fl & _F_READ and exists and not fl & _F_TRUNC:
            f = open(p, "r+b")
        else:
            # an upload: the target changes only at CLOSE
            f, tmp = self.root.upload(p)
        try:
            self._new_handle(_File(f, p, tmp, tmp and exists and not fl & _F_TRUNC))
        except _Status:
            self.root.finish(f, tmp) if tmp else f.close()
            raise

    def _setstat(self, p, r, h):
        # apply what the filesystem supports, accept the rest
        fl = r.u32()
        if fl & _A_SIZE:
            n = r.u64()
            if n >> 62:  # no filesystem here holds that; the OS would overflow
                raise _Status(_FAILURE, "size too large")
            if h and h.tmp:
                h.size = n  # for CLOSE: the old file up to there
            if hasattr(os, "truncate") and not (h and h.old and n >= h.pos):
                os.truncate(p, n)
        if fl & _A_UIDGID:
            r.u32()
            r.u32()
        if fl & _A_PERMISSIONS:
            m = r.u32()
            if hasattr(os, "chmod"):
                os.chmod(p, m & 0o7777)
        if fl & _A_ACMODTIME:
            a = r.u32()
            m = r.u32()
            if hasattr(os, "utime"):
                os.utime(p, (a, m))
        r.pos = r.end  # extended attributes: none applied

    def _readdir(self, h):
        p, it = h
        out = []
        for name, t in it:
            if t & 0xF000 == 0xA000:
                continue  # symbolic links are not followed, nor shown
            try:
                st = os.stat(p + "/" + name)
            except OSError:
                continue
            out.append(_u32(name.encode()) + _u32(_longname(name, st).encode()) + _attrs(st))
            if len(out) >= _NAMES_PER_READDIR:
                break
        if not out:
            raise _Status(_EOF, "end of folder")
        self._send(_NAME, self._rid, struct.pack(">I", len(out)) + b"".join(out))

    def _rename(self, r, over):
        a = self.root.entry(r.string())  # never the root folder itself
        b = self.root.entry(r.string())
        r.done()
        if not over:
            try:
                os.stat(b)
                raise _Status(_FAILURE, "target exists")
            except OSError:
                pass
        os.stat(a)  # a missing source is NO_SUCH_FILE on every filesystem
        fs.replace(a, b) if over else os.rename(a, b)
        self._status(self._rid, _OK)

    def _extended(self, name, r):
        if name == b"posix-rename@openssh.com":
            return self._rename(r, True)
        if name == b"fsync@openssh.com":
            h = self._handle(r)
            r.done()
            fsync(h.f)
            return self._status(self._rid, _OK)
        if name == b"statvfs@openssh.com":
            p = self._path(r)
            r.done()
            v = os.statvfs(p)
            # f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_fsid f_flag f_namemax
            return self._send(_EXTENDED_REPLY, self._rid, struct.pack(">11Q", *(tuple(v[:8]) + (0, v[8], v[9]))))
        raise _Status(_OP_UNSUPPORTED, "unsupported extension %s" % name.decode())


def start(conn, ch):
    return Session(conn, ch)
