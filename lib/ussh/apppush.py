# The board's half of `make push` (tools/push.py), called through SSH exec:
#     stage(files)            files: {path: sha256 hex} of the new version. Prepares the slot
#                             that is not active: keeps what is there already with the right
#                             hash, copies unchanged files from the active slot, removes the
#                             rest; prints what the host must still send (over SFTP)
#     commit(files, version)  checks every file of that slot against its SHA-256 and makes it
#                             the active version in one step (ussh.appslot.write_state)
# Each prints one line "USSH-PUSH <repr of a dict>" for the host; a refusal is {"error": why}.
import os

from ussh import appslot
from ussh.app import _dir, _settings
from ussh.appslot import AppError


def _out(d):
    appslot.say("USSH-PUSH " + repr(d))


def _abs(p):
    if not p.startswith("/"):
        cwd = os.getcwd()
        p = cwd.rstrip("/") + "/" + p
    out = []
    for part in p.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part and part != ".":
            out.append(part)
    return "/" + "/".join(out)


def sftp_path(path, cfg=None):
    """The path a client of this board's SFTP (rooted at `root`) sees for a board path."""
    root = _abs(_settings(cfg)["root"]).rstrip("/")
    p = _abs(path)
    if p != root and not p.startswith(root + "/"):
        raise AppError("app_dir %s is outside the SFTP root %s" % (p, root or "/"))
    return p[len(root) :] or "/"


def _check(files):
    if not isinstance(files, dict) or not files:
        raise AppError("an empty app")
    for p, h in files.items():
        parts = p.split("/")
        if p.startswith("/") or ".." in parts or "" in parts or "." in parts or len(h) != 64:
            raise AppError("bad path or hash: %r" % p)
    if "main.py" not in files and "main.mpy" not in files:
        raise AppError("the app has no main.py")


def _state(d):
    st = appslot.read_state(d)
    if st is None:
        appslot.makedirs(d)
        st = appslot.blank()
    return st


def stage(files, cfg=None):
    try:
        _out(_stage(files, cfg))
    except (AppError, OSError) as e:
        _out({"error": str(e) if isinstance(e, AppError) else "file system: %r" % (e,)})


def _stage(files, cfg):
    _check(files)
    d = _dir(cfg)
    st = _state(d)
    act = st["active"]
    old = appslot.hashes(d + "/" + act) if act else {}
    res = {"version": st["version"] if act else 0, "old": old}
    if old == files:
        res["same"] = True
        return res
    if act and not st["confirmed"]:
        raise AppError("version %d is on probation (not confirmed yet): wait for it, or roll it back first"
                       % st["version"])
    slot = appslot.other(act) if act else "a"
    top = d + "/" + slot
    # this slot's old content is going: the state stops naming it first
    if slot in (st["previous"], st["failed"]):
        if st["previous"] == slot:
            st["previous"], st["previous_version"] = "", 0
        if st["failed"] == slot:
            st["failed"], st["failed_version"] = "", 0
        appslot.write_state(d, st)
    try:
        os.remove(top + ".manifest")
    except OSError:
        pass
    appslot.makedirs(top)
    have = appslot.hashes(top)
    for p, h in have.items():
        if files.get(p) != h:
            os.remove(top + "/" + p)
    buf = bytearray(1024)
    need = []
    for p in sorted(files):
        h = files[p]
        if have.get(p) == h:
            continue
        i = p.rfind("/")
        if i > 0:
            appslot.makedirs(top + "/" + p[:i])
        if old.get(p) == h:
            appslot.copy(d + "/" + act + "/" + p, top + "/" + p, buf)
        else:
            need.append(p)
    appslot.prune(top)
    res.update(slot=sftp_path(top, cfg), need=need)
    return res


def commit(files, version, cfg=None):
    try:
        _out(_commit(files, version, cfg))
    except (AppError, OSError) as e:
        _out({"error": str(e) if isinstance(e, AppError) else "file system: %r" % (e,)})


def _commit(files, version, cfg):
    _check(files)
    d = _dir(cfg)
    st = _state(d)
    act = st["active"]
    if (st["version"] if act else 0) != version or (act and not st["confirmed"]):
        raise AppError("the board's app changed during the push (now version %d): push again" % st["version"])
    slot = appslot.other(act) if act else "a"
    top = d + "/" + slot
    buf = bytearray(1024)
    bad = []
    sizes = {}
    for p in sorted(files):
        try:
            h, sizes[p] = appslot.sha256_file(top + "/" + p, buf)
        except OSError:
            h = "missing"
        if h != files[p]:
            bad.append(p)
    if bad:
        raise AppError("SHA-256 differs on the board (nothing committed): " + ", ".join(bad))
    for p in list(appslot.walk(top)):
        if p not in files:  # e.g. a temporary file of an upload cut short
            os.remove(top + "/" + p)
    appslot.prune(top)
    appslot.write_manifest(top + ".manifest", files, sizes)
    new = dict(st)
    new["last"] = max(st["last"], st["version"], st["previous_version"], st["failed_version"]) + 1
    new["active"], new["version"], new["confirmed"], new["boots"] = slot, new["last"], 0, 0
    new["previous"], new["previous_version"] = (act, st["version"]) if act else ("", 0)
    if new["failed"] == slot:
        new["failed"], new["failed_version"] = "", 0
    appslot.write_state(d, new)  # the one step: from here on this version boots
    return {"version": new["version"], "checked": len(files), "bytes": sum(sizes.values()),
            "previous": st["version"] if act else 0}
