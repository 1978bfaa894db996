# A small filesystem in RAM for a board without one (the emulated Cortex-M3 has no flash
# filesystem): an object with MicroPython's VFS methods, for os.mount, so that SFTP and scp
# have somewhere to put files. Sent by the host before main.py's serve() (tools/qemu.py's
# ssh_target), or imported where it is on the path:
#     mount_ram(48 * 1024, "/")     # at most 48 KB of file data and entries, then ENOSPC
# A file is a list of 512-byte bytearrays (no reallocation as it grows: a 138 KB heap soon
# has few long free runs); each entry counts _ENTRY bytes against the cap too. Everything is
# lost at reset.
import os

_CHUNK = 512
_ENTRY = 64  # what a name and its node cost, roughly, counted against the cap
_ENOENT, _EEXIST, _ENOTDIR, _EISDIR, _EINVAL, _ENOSPC, _ENOTEMPTY = 2, 17, 20, 21, 22, 28, 39
_S_IFDIR, _S_IFREG = 0x4000, 0x8000


class _Node:
    # a file: chunks (a list of bytearrays) and size; a folder: entries (name -> _Node)
    def __init__(self, folder):
        self.entries = {} if folder else None
        self.chunks = []
        self.size = 0


class RamFS:
    def __init__(self, cap):
        self.cap = cap
        self.used = _ENTRY
        self.top = _Node(True)
        self.cwd = "/"

    # ---- the VFS protocol (os.mount calls these with paths inside the mount point)
    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def _parts(self, path):
        if not path.startswith("/"):
            path = self.cwd + "/" + path
        out = []
        for p in path.split("/"):
            if p == "..":
                if out:
                    out.pop()
            elif p and p != ".":
                out.append(p)
        return out

    def _find(self, path):
        n = self.top
        for p in self._parts(path):
            if n.entries is None:
                raise OSError(_ENOTDIR)
            n = n.entries.get(p)
            if n is None:
                raise OSError(_ENOENT)
        return n

    def _parent(self, path):
        # (the folder node, the last name) of a path that names an entry
        parts = self._parts(path)
        if not parts:
            raise OSError(_EINVAL)
        d = self._find("/" + "/".join(parts[:-1]))
        if d.entries is None:
            raise OSError(_ENOTDIR)
        return d, parts[-1]

    def _charge(self, n):
        if self.used + n > self.cap:
            raise OSError(_ENOSPC)
        self.used += n

    def _resize(self, node, size):
        # frees the chunks past size (and zeroes the tail of the last one)
        keep = (size + _CHUNK - 1) // _CHUNK
        drop = len(node.chunks) - keep
        if drop > 0:
            node.chunks[keep:] = []
            self.used -= drop * _CHUNK
        if size % _CHUNK and keep <= len(node.chunks):
            c = node.chunks[keep - 1]
            c[size % _CHUNK :] = bytes(_CHUNK - size % _CHUNK)
        node.size = min(node.size, size)

    def _new(self, path, folder):
        d, name = self._parent(path)
        if name in d.entries:
            raise OSError(_EEXIST)
        self._charge(_ENTRY)
        n = _Node(folder)
        d.entries[name] = n
        return n

    def open(self, path, mode="r"):
        try:
            n = self._find(path)
        except OSError as e:
            if e.args[0] != _ENOENT or mode[0] not in "wax":
                raise
            n = self._new(path, False)
        else:
            if n.entries is not None:
                raise OSError(_EISDIR)
            if mode[0] == "x":
                raise OSError(_EEXIST)
            if mode[0] == "w":
                self._resize(n, 0)
        return _File(self, n, mode)

    def ilistdir(self, path):
        n = self._find(path)
        if n.entries is None:
            raise OSError(_ENOTDIR)
        for name, c in list(n.entries.items()):
            yield (name, _S_IFREG if c.entries is None else _S_IFDIR, 0, c.size)

    def stat(self, path):
        n = self._find(path)
        if n.entries is None:
            return (_S_IFREG | 0o644, 0, 0, 1, 0, 0, n.size, 0, 0, 0)
        return (_S_IFDIR | 0o755, 0, 0, 1, 0, 0, 0, 0, 0, 0)

    def mkdir(self, path):
        self._new(path, True)

    def _remove(self, path, folder):
        d, name = self._parent(path)
        n = d.entries.get(name)
        if n is None:
            raise OSError(_ENOENT)
        if folder != (n.entries is not None):
            raise OSError(_ENOTDIR if folder else _EISDIR)
        if folder and n.entries:
            raise OSError(_ENOTEMPTY)
        del d.entries[name]
        self.used -= _ENTRY + len(n.chunks) * _CHUNK

    def rmdir(self, path):
        self._remove(path, True)

    def remove(self, path):
        self._remove(path, False)

    def rename(self, old, new):
        d, name = self._parent(old)
        n = d.entries.get(name)
        if n is None:
            raise OSError(_ENOENT)
        d2, name2 = self._parent(new)
        if n.entries is not None and self._parts(new)[: len(self._parts(old))] == self._parts(old):
            raise OSError(_EINVAL)  # a folder into itself
        o = d2.entries.get(name2)
        if o is not None and o is not n:
            if o.entries is not None:
                raise OSError(_EISDIR if n.entries is None else _EEXIST)
            if n.entries is not None:
                raise OSError(_ENOTDIR)
            self.used -= _ENTRY + len(o.chunks) * _CHUNK  # POSIX: a file is replaced
        del d.entries[name]
        d2.entries[name2] = n

    def statvfs(self, path):
        free = max(self.cap - self.used, 0) // _CHUNK
        return (_CHUNK, _CHUNK, self.cap // _CHUNK, free, free, 0, 0, 0, 0, 255)

    def chdir(self, path):
        n = self._find(path)
        if n.entries is None:
            raise OSError(_ENOTDIR)
        self.cwd = "/" + "/".join(self._parts(path))

    def getcwd(self):
        return self.cwd


class _File:
    # an open file: binary ("rb", "wb", "ab", "r+b") or text (str in and out, UTF-8)
    def __init__(self, fs, node, mode):
        self.fs, self.node = fs, node
        self.text = "b" not in mode
        self.rd = mode[0] == "r" or "+" in mode
        self.wr = mode[0] != "r" or "+" in mode
        self.append = mode[0] == "a"
        self.pos = 0
        self.closed = False

    def _check(self, ok):
        if self.closed or not ok:
            raise OSError(_EINVAL)

    def readinto(self, buf, n=-1):
        self._check(self.rd)
        nd = self.node
        mv = memoryview(buf)
        n = len(mv) if n < 0 else min(n, len(mv))
        n = max(min(n, nd.size - self.pos), 0)
        i = 0
        while i < n:
            c, off = divmod(self.pos + i, _CHUNK)
            k = min(_CHUNK - off, n - i)
            mv[i : i + k] = memoryview(nd.chunks[c])[off : off + k]
            i += k
        self.pos += n
        return n

    def read(self, n=-1):
        left = max(self.node.size - self.pos, 0)
        b = bytearray(left if n is None or n < 0 else min(n, left))
        self.readinto(b)
        return b.decode() if self.text else b  # a bytearray: no second copy on a small heap

    def readline(self):
        out = bytearray()
        b = bytearray(1)
        while self.readinto(b):
            out += b
            if b[0] == 10:
                break
        return out.decode() if self.text else bytes(out)

    def __iter__(self):
        return self

    def __next__(self):
        ln = self.readline()
        if not ln:
            raise StopIteration
        return ln

    def write(self, data):
        self._check(self.wr)
        if isinstance(data, str):
            data = data.encode()
        nd, fs = self.node, self.fs
        if self.append:
            self.pos = nd.size
        mv = memoryview(data)
        n = len(mv)
        i = 0
        while i < n:
            c, off = divmod(self.pos + i, _CHUNK)
            while c >= len(nd.chunks):
                fs._charge(_CHUNK)  # OSError(ENOSPC) when the cap is reached
                nd.chunks.append(bytearray(_CHUNK))
            k = min(_CHUNK - off, n - i)
            nd.chunks[c][off : off + k] = mv[i : i + k]
            i += k
            if self.pos + i > nd.size:
                nd.size = self.pos + i
        self.pos += n
        return n

    def seek(self, off, whence=0):
        self._check(True)
        base = (0, self.pos, self.node.size)[whence]
        self.pos = max(base + off, 0)
        return self.pos

    def tell(self):
        return self.pos

    def truncate(self, size=None):
        self._check(self.wr)
        self.fs._resize(self.node, self.pos if size is None else size)

    def flush(self):
        pass

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mount_ram(cap=48 * 1024, where="/"):
    """Mounts an empty RamFS of at most cap bytes at where; returns it."""
    fs = RamFS(cap)
    os.mount(fs, where)
    return fs
