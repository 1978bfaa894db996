# The files a client may reach (shared by SFTP and scp): paths confined to
# the root folder, and whole-file uploads that replace their target only
# once complete. A client sees the root folder as "/".
import os

from ussh.compat import ENOENT, const, listdir_types

_JOURNAL = ".ussh-uploads"  # in the root folder: temporary names to remove at start
_S_IFMT = const(0xF000)
_S_IFDIR = const(0x4000)
_S_IFLNK = const(0xA000)

_cleaned = False
_count = 0  # uploads begun by this process
_open = 0  # uploads not finished yet: the journal goes once none is left


# errno -> what a client is told (MicroPython's ports use these POSIX numbers too): one
# constant, split at an error, where a table of eight strings held 500 B for every transfer
_TEXTS = ("1 operation not permitted|13 permission denied|17 file exists|20 not a folder|21 is a folder|"
          "28 no space left on device|30 read-only file system|39 folder not empty")


class Refused(Exception):
    """A path the root folder does not allow."""


def text(e):
    """A readable message for an OSError or Refused."""
    n = e.args[0] if e.args else 0
    if isinstance(e, Refused):
        return n
    if n in ENOENT:
        return "no such file or folder"
    for t in _TEXTS.split("|"):
        k, _, msg = t.partition(" ")
        if k == str(n):
            return msg
    return "error %s" % (n,)


def reserved(name):
    """Whether a file name is ussh's own: the upload journal or an upload's
    temporary name (".NAME.usshN~"); no client may reach those."""
    if name == _JOURNAL:
        return True
    if name[:1] == "." and name[-1:] == "~":
        i = name.rfind(".ussh")
        return i > 0 and name[i + 5 : -1].isdigit()
    return False


def is_dir(mode):
    return mode & _S_IFMT == _S_IFDIR


def cleanup(root):
    """Removes the temporary files of uploads cut short (listed in the root
    folder's journal). Runs once per process, before any upload of it."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    j = Root(root).base + "/" + _JOURNAL
    try:
        f = open(j)
    except OSError:
        return
    with f:
        for line in f:
            p = line.strip()
            name = p[p.rfind("/") + 1 :]
            parts = [x for x in p.split("/") if x and x != "."]
            if not reserved(name) or name == _JOURNAL or ".." in parts or "\0" in p:
                continue  # only our temporary names, whatever the journal says
            try:
                os.remove(Root(root).host(parts))  # (parts() refuses reserved names)
            except (OSError, Refused):
                pass
    try:
        os.remove(j)
    except OSError:
        pass


def replace(src, dst):
    # rename over an existing file works on POSIX and littlefs; FAT needs
    # the target gone first
    try:
        os.rename(src, dst)
    except OSError:
        os.remove(dst)
        os.rename(src, dst)


class Root:
    """Maps client paths into the folder `root`; `..` above it and symbolic
    links are refused."""

    def __init__(self, root):
        self.root = root
        self.base = root.rstrip("/")

    def parts(self, path):
        if isinstance(path, bytes):
            try:
                path = path.decode()
            except UnicodeError:
                raise Refused("path is not UTF-8")
        if "\0" in path:  # C would read a shorter name: another file
            raise Refused("NUL in a file name")
        out = []
        for p in path.split("/"):
            if p == "..":
                if not out:
                    raise Refused("path leaves the root folder")
                out.pop()
            elif p and p != ".":
                if reserved(p):
                    raise Refused("name reserved by ussh: " + p)
                out.append(p)
        return out

    def host(self, path):
        """The host path of a client path (str, bytes or parts)."""
        parts = path if isinstance(path, list) else self.parts(path)
        d = self.base
        for p in parts:
            # symbolic links could lead anywhere: none is followed
            try:
                names = list(listdir_types(d or "/"))
            except OSError:  # a missing folder: nothing below it exists, let alone a link
                names = ()
            for name, t in names:
                if name == p:
                    if t & _S_IFMT == _S_IFLNK:
                        raise Refused("symbolic link refused: /" + "/".join(parts))
                    break
            d += "/" + p
        return d or ("/" if self.root.startswith("/") else ".")

    def upload(self, host):
        """Opens a temporary file beside `host` for a whole-file upload;
        returns (file, temporary path); finish() ends it."""
        global _count, _open
        cleanup(self.root)
        _count += 1
        _open += 1
        i = host.rfind("/")
        tmp = "%s/.%s.ussh%d~" % (host[:i], host[i + 1 :], _count)
        with open(self.base + "/" + _JOURNAL, "a") as j:
            j.write(tmp[len(self.base) :] + "\n")
        try:
            return open(tmp, "wb"), tmp
        except OSError:
            self.finish(None, tmp)
            raise

    def finish(self, f, tmp, host=None):
        """Ends an upload: puts tmp in place of host, or (host None, or on
        an error, which is raised) removes it."""
        global _open
        _open -= 1
        try:
            if f:
                f.close()
            if host:
                replace(tmp, host)
                tmp = None
        finally:
            if tmp:
                try:
                    os.remove(tmp)
                except OSError:
                    pass
            if not _open:
                try:
                    os.remove(self.base + "/" + _JOURNAL)
                except OSError:
                    pass
