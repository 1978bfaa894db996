"""The app a board runs beside ussh, updated in one step by `make push` (tools/push.py) and
rolled back when a new version fails. ussh.start() runs it when app_dir holds one; from SSH:

    ssh board 'import ussh.app; ussh.app.status()'     # active, previous, last rollback
    ssh board 'import ussh.app; ussh.app.rollback()'   # back to the previous version (next boot)

An app is a folder whose main.py is imported at boot with the folder first on sys.path; an
`async def main()` in it then runs as an asyncio task. A new version is on probation until it
calls ussh.app.confirm(), or (app_healthy_after = N > 0 in ussh.cfg) has run N seconds without
an unhandled exception. Raising at import, crashing, not confirming within app_confirm_timeout
seconds, or a reset before it confirmed: the state goes back to the previous version (which
runs from the next boot), and the failed one stays in its slot for inspection.
"""
import sys

from ussh import appslot
from ussh.appslot import AppError, say

_run = {"dir": None, "slot": None, "version": 0, "ok": False, "done": False, "log": print, "why": ""}


def _settings(cfg=None):
    if cfg is None:
        from ussh import board

        cfg = board.current or board.load()
    return cfg


def _dir(cfg=None):
    d = _settings(cfg)["app_dir"].rstrip("/")
    if not d:
        raise AppError("app_dir is empty in ussh.cfg: no app")
    return d


def _why(e):
    return "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__


def _roll(d, st, reason, log):
    # the active version failed: the previous one becomes active; the failed one is kept
    st["failed"], st["failed_version"] = st["active"], st["version"]
    was = st["version"]
    st["active"], st["version"] = st["previous"], st["previous_version"]
    st["previous"], st["previous_version"] = "", 0
    st["confirmed"], st["boots"] = 1, 0
    to = "version %d" % st["version"] if st["active"] else "no app"
    st["rollback"] = "version %d -> %s: %s" % (was, to, reason)
    appslot.write_state(d, st)
    log("ussh: app %s" % st["rollback"])
    return st


def boot(cfg=None, log=print):
    """Picks the version to run at this boot (rolling back one that never confirmed);
    returns its folder, or None when there is no app to run."""
    d = _dir(cfg)
    st = appslot.read_state(d)
    if st is None or not st["active"]:
        return None
    if not st["confirmed"]:
        if st["boots"]:
            st = _roll(d, st, "reset before it confirmed", log)
            if not st["active"]:
                return None
        else:
            st["boots"] = 1
            appslot.write_state(d, st)
    path = d + "/" + st["active"]
    _run.update(dir=d, slot=st["active"], version=st["version"], ok=bool(st["confirmed"]), done=False, log=log)
    log("ussh: app version %d from %s%s" % (st["version"], path, "" if st["confirmed"] else " (on probation)"))
    return path


def load(path):
    """Imports the app's main.py (or main.mpy) from path; returns the module."""
    if not (appslot.exists(path + "/main.py") or appslot.exists(path + "/main.mpy")):
        raise AppError("no main.py in %s" % path)
    sys.path.insert(0, path)
    sys.modules.pop("main", None)
    return __import__("main")


def fail(reason):
    """The running version failed: before it confirmed, the previous version takes over from the
    next boot; after, the failure is only logged."""
    r = _run
    if r["done"]:
        return
    r["done"] = True
    r["why"] = reason
    if r["ok"]:
        r["log"]("ussh: app version %d: %s (confirmed before: no rollback)" % (r["version"], reason))
        return
    st = appslot.read_state(r["dir"])
    if st is not None and st["active"] == r["slot"] and st["version"] == r["version"] and not st["confirmed"]:
        _roll(r["dir"], st, reason, r["log"])


def confirm():
    """Called by the app once it works: this version stays. True if it was on probation."""
    r = _run
    if r["ok"] or r["done"] or not r["slot"]:
        return False
    st = appslot.read_state(r["dir"])
    if st is None or st["active"] != r["slot"] or st["version"] != r["version"]:
        return False
    st["confirmed"], st["boots"] = 1, 0
    appslot.write_state(r["dir"], st)
    r["ok"] = True
    r["log"]("ussh: app version %d confirmed" % r["version"])
    return True


def start(cfg, log=print):
    """ussh.start()'s part: the app of app_dir as an asyncio task (None when there is none)."""
    from ussh.compat import asyncio

    try:
        path = boot(cfg, log)
    except (OSError, AppError) as e:
        log("ussh: app not started: %s" % e)
        return None
    if path is None:
        return None
    return asyncio.create_task(_task(path, cfg["app_healthy_after"], cfg["app_confirm_timeout"]))


async def _task(path, healthy_after, timeout):
    from ussh.compat import asyncio

    await asyncio.sleep(0)  # the server's task first: SSH listens before any app code runs
    loop = asyncio.get_event_loop()
    loop.set_exception_handler(_crashed)
    try:
        mod = load(path)
    except Exception as e:  # noqa: anything the app raises, SyntaxError included
        _trace(e)
        return fail("raised at import: " + _why(e))
    main = getattr(mod, "main", None)
    if main is not None:
        asyncio.create_task(_guard(main))
    wait = healthy_after or timeout
    while wait > 0 and not (_run["ok"] or _run["done"]):
        await asyncio.sleep(1 if wait >= 1 else wait)
        wait -= 1
    if _run["ok"] or _run["done"]:
        return
    if healthy_after:
        confirm()
    else:
        fail("not confirmed within %d s" % timeout)


def _trace(e):
    # the app's traceback on the console, for whoever looks at it
    from ussh.compat import print_exception

    print_exception(e, sys.stdout)


async def _guard(main):
    try:
        await main()
    except Exception as e:  # noqa: the app's crash, recorded instead of ending the loop
        _trace(e)
        fail("crashed: " + _why(e))


def _crashed(loop, context):
    # an unhandled exception in any task: the app's tasks are the ones that are not ussh's
    e = context.get("exception")
    if e is not None:
        _trace(e)
    fail("crashed: " + (_why(e) if e is not None else str(context.get("message"))))


def run_blocking(cfg, log=print):
    """For a port without asyncio: imports the app before the server is started. Without a
    clock, a version with app_healthy_after > 0 counts as healthy once its import returned."""
    try:
        path = boot(cfg, log)
        if path is None:
            return None
        mod = load(path)
    except Exception as e:  # noqa
        if _run["slot"]:
            _trace(e)
            fail("raised at import: " + _why(e))
        else:
            log("ussh: app not started: %s" % e)
        return None
    if cfg["app_healthy_after"]:
        confirm()
    return mod


def status(cfg=None):
    """Shows the app's state: active and previous version, the failed one, the last rollback."""
    d = _dir(cfg)
    st = appslot.read_state(d)
    if st is None:
        return say("app: none in %s (push one: make push APP=folder TARGET=board)" % d)
    act = "version %d in %s/%s%s" % (st["version"], d, st["active"], "" if st["confirmed"] else ", on probation") \
        if st["active"] else "none"
    say("active:   " + act)
    if _run["slot"]:
        say("running:  version %d%s" % (_run["version"], " (failed: %s)" % _run["why"] if _run["done"] else ""))
    say("previous: " + ("version %d in %s/%s" % (st["previous_version"], d, st["previous"]) if st["previous"] else "none"))
    if st["failed"]:
        say("failed:   version %d kept in %s/%s" % (st["failed_version"], d, st["failed"]))
    say("rollback: " + (st["rollback"] or "none"))


def rollback(cfg=None):
    """Makes the previous version the active one from the next boot; the current one is kept
    as failed. AppError when there is no previous version."""
    d = _dir(cfg)
    st = appslot.read_state(d)
    if st is None or not st["previous"]:
        raise AppError("no previous version to roll back to")
    st = _roll(d, st, "rolled back by hand", say)
    say("reset the board to run %s" % ("version %d" % st["version"] if st["active"] else "no app"))
