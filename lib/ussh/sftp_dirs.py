# The operations of SFTP version 3 (draft-ietf-secsh-filexfer-02) that a file's transfer does
# not use: FSTAT, SETSTAT, FSETSTAT, OPENDIR, READDIR, REMOVE, MKDIR, RMDIR, RENAME, and
# OpenSSH's extensions (posix-rename, fsync, statvfs); HANDLERS, their table. ussh.sftp imports
# this module at the first such request (a transfer's are ussh.sftp_ops').
import os
import struct

from ussh import fs
from ussh.compat import const, fsync
from ussh.sftp_ops import Status, u32, _attrs, _handle, _mode, _new_handle, _path

_FSTAT = const(8)
_SETSTAT = const(9)
_FSETSTAT = const(10)
_OPENDIR = const(11)
_READDIR = const(12)
_REMOVE = const(13)
_MKDIR = const(14)
_RMDIR = const(15)
_RENAME = const(18)
_EXTENDED = const(200)
_ATTRS = const(105)
_NAME = const(104)
_EXTENDED_REPLY = const(201)

# status codes, filexfer-02 §7
_OK = const(0)
_EOF = const(1)
_NO_SUCH_FILE = const(2)
_FAILURE = const(4)
_OP_UNSUPPORTED = const(8)

# attribute flags, filexfer-02 §5
_A_SIZE = const(1)
_A_UIDGID = const(2)
_A_PERMISSIONS = const(4)
_A_ACMODTIME = const(8)

_NAMES_PER_READDIR = const(16)


def _fstat(s, r):
    h = _handle(s, r)
    h.f.flush()
    r.done()
    s.send(_ATTRS, s.rid, _attrs(os.stat(h.tmp or h.host)))


def _setstat(s, r, h=None, p=None):
    # apply what the filesystem supports, accept the rest
    if p is None:
        p = _path(s, r)
    fl = r.u32()
    if fl & _A_SIZE:
        n = r.u64()
        if n >> 62:  # no filesystem here holds that; the OS would overflow
            raise Status(_FAILURE, "size too large")
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
    s.status(s.rid, _OK)


def _fsetstat(s, r):
    h = _handle(s, r)
    h.f.flush()
    _setstat(s, r, h, h.tmp or h.host)


def merge(h, end):
    # an upload without TRUNC (ussh.sftp_ops.File, h.old): the old file from h.pos to end (None:
    # its end) copied into its temporary file, once
    h.old = False
    if end is not None and end <= h.pos:
        return
    f = h.f
    f.seek(h.pos)
    with open(h.host, "rb") as g:
        g.seek(h.pos)
        n = -1 if end is None else end - h.pos
        while n:
            b = g.read(8192 if n < 0 else min(n, 8192))
            if not b:
                break
            f.write(b)
            n -= len(b)


def _entry(s, r):
    # a path to change (remove, rename, make): anything inside the root folder, never the root
    # folder itself
    parts = s.root.parts(r.string())
    if not parts:
        raise fs.Refused("the root folder itself cannot be removed or renamed")
    return s.root.host(parts)


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
    _FSTAT: _fstat,
    _SETSTAT: _setstat,
    _FSETSTAT: _fsetstat,
    _OPENDIR: _opendir,
    _READDIR: _readdir,
    _REMOVE: _remove,
    _MKDIR: _mkdir,
    _RMDIR: _rmdir,
    _RENAME: _rename,
    _EXTENDED: _extended,
}
