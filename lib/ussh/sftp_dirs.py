# The operations of SFTP version 3 (draft-ietf-secsh-filexfer-02) on folders and names:
# OPENDIR, READDIR, REALPATH, REMOVE, MKDIR, RMDIR, RENAME, and OpenSSH's extensions
# (posix-rename, fsync, statvfs); and HANDLERS, every request type's handler (those on files
# are ussh.sftp_ops'), which ussh.sftp looks up.
import os
import struct

from ussh import fs
from ussh.compat import const, fsync
from ussh.sftp_ops import (Status, u32, _attrs, _close, _entry, _fsetstat, _fstat, _handle, _mode, _new_handle,
                           _open, _path, _read, _setstat, _stat, _write)

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
_NAME = const(104)
_EXTENDED_REPLY = const(201)

# status codes, filexfer-02 §7
_OK = const(0)
_EOF = const(1)
_NO_SUCH_FILE = const(2)
_FAILURE = const(4)
_OP_UNSUPPORTED = const(8)

_NAMES_PER_READDIR = const(16)


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


def _opendir(s, r):
    p = _path(s, r)
    r.done()
    if not fs.is_dir(os.stat(p)[0]):
        raise Status(_NO_SUCH_FILE, "not a folder")
    _new_handle(s, (p, fs.listdir_types(p)))


def _readdir(s, r):
    p, it = _handle(s, r, tuple)
    out = []
    for name, t in it:
        if t & 0xF000 == 0xA000:
            continue  # symbolic links are not followed, nor shown
        try:
            st = os.stat(p + "/" + name)
        except OSError:
            continue
        out.append(u32(name.encode()) + u32(_longname(name, st).encode()) + _attrs(st))
        if len(out) >= _NAMES_PER_READDIR:
            break
    if not out:
        raise Status(_EOF, "end of folder")
    s.send(_NAME, s.rid, struct.pack(">I", len(out)) + b"".join(out))


def _realpath(s, r):
    p = "/" + "/".join(s.root.parts(r.string()))
    r.done()
    s.send(_NAME, s.rid, b"\0\0\0\1" + u32(p.encode()) * 2 + b"\0\0\0\0")


def _remove(s, r):
    p = _entry(s, r)
    if fs.is_dir(os.stat(p)[0]):
        raise Status(_FAILURE, "is a folder: use rmdir")
    os.remove(p)
    s.status(s.rid, _OK)


def _mkdir(s, r):
    p = _entry(s, r)
    r.u32()  # attributes: a board's filesystem keeps none
    os.mkdir(p)
    s.status(s.rid, _OK)


def _rmdir(s, r):
    os.rmdir(_entry(s, r))
    s.status(s.rid, _OK)


def _move(s, r, over):
    a = _entry(s, r)
    b = _entry(s, r)
    r.done()
    if not over:
        try:
            os.stat(b)
            raise Status(_FAILURE, "target exists")
        except OSError:
            pass
    os.stat(a)  # a missing source is NO_SUCH_FILE on every filesystem
    fs.replace(a, b) if over else os.rename(a, b)
    s.status(s.rid, _OK)


def _rename(s, r):
    _move(s, r, False)  # filexfer-02 §6.5: the target must not exist


def _extended(s, r):
    name = r.string()
    if name == b"posix-rename@openssh.com":
        return _move(s, r, True)
    if name == b"fsync@openssh.com":
        h = _handle(s, r)
        r.done()
        fsync(h.f)
        return s.status(s.rid, _OK)
    if name == b"statvfs@openssh.com":
        p = _path(s, r)
        r.done()
        v = os.statvfs(p)
        # f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_fsid f_flag f_namemax
        return s.send(_EXTENDED_REPLY, s.rid, struct.pack(">11Q", *(tuple(v[:8]) + (0, v[8], v[9]))))
    raise Status(_OP_UNSUPPORTED, "unsupported extension %s" % name.decode())


HANDLERS = {
    _OPEN: _open,
    _CLOSE: _close,
    _READ: _read,
    _WRITE: _write,
    _LSTAT: _stat,
    _FSTAT: _fstat,
    _SETSTAT: _setstat,
    _FSETSTAT: _fsetstat,
    _OPENDIR: _opendir,
    _READDIR: _readdir,
    _REMOVE: _remove,
    _MKDIR: _mkdir,
    _RMDIR: _rmdir,
    _REALPATH: _realpath,
    _STAT: _stat,
    _RENAME: _rename,
    _EXTENDED: _extended,
}
