# The app's two slots on the board's filesystem and the small state file that says which one
# boots (ussh.app runs it, ussh.apppush fills the other). Layout, in the folder app_dir:
#     a/  b/            the files of two versions (the app's main.py at the top of each)
#     a.manifest ...    "sha256 size path" a line: what push checked into that slot
#     state             "name value" lines, then "check <sha256 of the lines before>"
# The state is replaced whole: written to state.new, then renamed over state (atomic on
# littlefs and POSIX). FAT cannot rename over a file, so there state goes first: a reader that
# finds no valid state takes a valid state.new, which was complete before state went. A power
# cut at any moment therefore leaves the old state or the new one, never a mix.
import os

from ussh.compat import fsync, listdir_types

SLOTS = ("a", "b")
_FIELDS = ("active", "version", "confirmed", "boots", "previous", "previous_version", "failed", "failed_version",
           "last", "rollback")
_INTS = ("version", "confirmed", "boots", "previous_version", "failed_version", "last")


class AppError(Exception):
    """A push or rollback that cannot be done; the message says why."""


def say(text):
    """A line to whoever runs this: the SSH client in an exec (sys is looked up at each call,
    where ussh's exec routes it), the console otherwise. A module's print() would always go to
    the console."""
    import sys

    sys.stdout.write(text + "\n")


def other(slot):
    return "b" if slot == "a" else "a"


def blank():
    st = {k: "" for k in _FIELDS}
    for k in _INTS:
        st[k] = 0
    return st


def _hex(b):
    return "".join("%02x" % x for x in b)


def sha256_file(path, buf=None):
    """The SHA-256 of a file (hex) and its size."""
    import hashlib

    h = hashlib.sha256()
    buf = buf or bytearray(1024)
    mv = memoryview(buf)
    n = 0
    with open(path, "rb") as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(mv[:k])
            n += k
    return _hex(h.digest()), n


def _text_sum(text):
    import hashlib

    return _hex(hashlib.sha256(text.encode()).digest())


def _parse(text):
    # a state text -> dict, or None when it is cut short or altered
    i = text.rfind("check ")
    if i < 0 or text[i:].strip() != "check " + _text_sum(text[:i]):
        return None
    st = blank()
    for line in text[:i].split("\n"):
        k, v = (line + " ").split(" ", 1)
        v = v[:-1]
        if k in st:
            st[k] = int(v) if k in _INTS else v
    return st


def read_state(d):
    """The state in folder d (a dict), or None when no app was ever committed there."""
    for name in ("state", "state.new"):
        try:
            with open(d + "/" + name) as f:
                st = _parse(f.read())
        except (OSError, ValueError):
            continue
        if st is not None:
            return st
    return None


def write_state(d, st):
    """Replaces the state in folder d in one step (see the top of this file)."""
    text = "".join("%s %s\n" % (k, st[k]) for k in _FIELDS)
    text += "check %s\n" % _text_sum(text)
    new = d + "/state.new"
    with open(new, "w") as f:
        f.write(text)
        fsync(f)
    try:
        os.rename(new, d + "/state")
    except OSError:  # FAT: no rename over a file
        os.remove(d + "/state")
        os.rename(new, d + "/state")


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def makedirs(path):
    p = ""
    for part in path.split("/"):
        p = p + "/" + part if p or path.startswith("/") else part
        if part and not is_dir(p):
            os.mkdir(p)


def walk(top, sub=""):
    """The files below top as paths relative to it ("lib/x.py"), folders left out."""
    d = top + "/" + sub if sub else top
    for name, t in list(listdir_types(d)):
        p = sub + "/" + name if sub else name
        if t & 0xF000 == 0x4000:
            yield from walk(top, p)
        else:
            yield p


def remove_tree(path):
    if is_dir(path):
        for name in list(os.listdir(path)):
            remove_tree(path + "/" + name)
        os.rmdir(path)
    else:
        try:
            os.remove(path)
        except OSError:
            pass


def prune(path):
    """Removes the empty folders below path (path itself stays)."""
    empty = True
    for name in list(os.listdir(path)):
        p = path + "/" + name
        if is_dir(p) and prune(p):
            os.rmdir(p)
        else:
            empty = False
    return empty


def hashes(top):
    """{relative path: sha256 hex} of the files below folder top ({} when it is missing)."""
    out = {}
    if not is_dir(top):
        return out
    buf = bytearray(1024)
    for p in list(walk(top)):
        out[p] = sha256_file(top + "/" + p, buf)[0]
    return out


def read_manifest(path):
    """{relative path: sha256 hex} from a manifest file ({} when missing)."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 2)
                if len(parts) == 3:
                    out[parts[2]] = parts[0]
    except OSError:
        pass
    return out


def write_manifest(path, files, sizes):
    with open(path + ".new", "w") as f:
        for p in sorted(files):
            f.write("%s %d %s\n" % (files[p], sizes.get(p, 0), p))
        fsync(f)
    try:
        os.rename(path + ".new", path)
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        os.rename(path + ".new", path)


def copy(src, dst, buf):
    with open(src, "rb") as f, open(dst, "wb") as g:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            g.write(memoryview(buf)[:k])
        fsync(g)
