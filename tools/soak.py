"""Soak: the emulated Cortex-M3 (tools/qemu.py, its flash filesystem) through many sessions in a
row, from OpenSSH, paramiko and asyncssh in turn, each a cell of the interop matrix (exec, shell,
stdin streaming, sftp put/get, scp in both modes, a rekey mid-transfer: 64 KiB, SHA-256 checked
both ways; tools/interop.py). Every --every sessions, the board's free heap and its largest free
block after gc.collect() (micropython.mem_info() on the board's console: "max free sz", in
16-byte blocks): between sessions (what the sessions so far left: the board prints them before
each connection, main.serve(heap_log=True)) and inside one more session, an exec that prints them
(its own connection's buffers then take part of the heap, placed as that session's reads fell).

usage: python tools/soak.py [--sessions 1000] [--every 50] [--size 65536] [--json FILE]
       make soak [SOAK_SESSIONS=1000]

Prints one line per checkpoint and a summary: sessions passed/run, failures (each with its reason),
and the heap series; exit status 1 when a session failed or the heap between sessions was not flat
(the free heap and the largest block within 2 KB from the second checkpoint on, session 100 by
default as the issue's bound; the figures inside
the probe's session are reported beside them).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import interop  # noqa: E402
import interop_clients as ic  # noqa: E402

CLIENTS = ("openssh9", "paramiko", "asyncssh")
OPS = ("exec", "shell", "stdin", "sftp", "scp", "scp-O", "rekey")
FLAT = 2048  # bytes: the series may move this much from the second checkpoint on
KEYS = ("free", "largest", "free_in", "largest_in")

# micropython.mem_info() in code run over SSH is ussh.pyhelp's stand-in (free and used only): the
# block figures come from the built-in one (the stand-in's .real), which prints on the board's console.
# qstr_info() first, also on the console: its "qstr pool" line marks where the probe's figures start
# (the board may already have printed the next connection's figures when the console is read)
HEAP = ("import gc, micropython\ngc.collect()\nm = getattr(micropython, 'real', micropython)\n"
        "m.qstr_info()\nm.mem_info()\nprint('soak-heap', gc.mem_free())")
_MARK = "qstr pool:"
_BLOCK = re.compile(r"max free sz: (\d+)\n")
_BETWEEN = re.compile(r"max free sz: (\d+)\n(?:(?!max free sz)[^\n]*\n)*?ussh-heap (\d+)\n")


def plan():
    """The sessions in order: each client in turn, through every operation it has."""
    out = []
    for op in OPS:
        for c in CLIENTS:
            if (c, op) not in ic.NA:
                out.append((c, op))
    return out


def heap(t, h, bound=30):
    """{"free", "largest"}: the board's free heap and largest free block (bytes) after gc.collect()
    with no connection open (what the sessions so far left: main.serve(heap_log=True) prints them
    before each connection starts), and {"free_in", "largest_in"}: the same inside one more
    session, an exec that collects and prints them (its own connection's buffers taken)."""
    argv = ["ssh", "-F", "/dev/null", "-i", t.key, "-o", "IdentitiesOnly=yes", "-o",
            "UserKnownHostsFile=" + t.known_hosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-p", str(t.port), "%s@%s" % (t.user, t.host), HEAP]
    before = h.console_text().count(_MARK)
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    m = re.search(r"soak-heap (\d+)", r.stdout)
    if not m:
        raise RuntimeError("heap probe: exit %s %r %r (%s)" % (r.returncode, r.stdout[-300:], r.stderr[-300:],
                                                               h.health()))
    # the console (UART0) is read in a thread of the target's own: the exec's output came back, so
    # its lines were printed; wait for them to be read, bounded
    end = time.monotonic() + bound
    while True:
        text = h.console_text()
        marks = [x.start() for x in re.finditer(_MARK, text)]
        if len(marks) > before:
            at = marks[before]
            probe = _BLOCK.search(text, at)
            if probe:
                # the board's figures before the probe's connection started: the last before the mark
                acc = list(_BETWEEN.finditer(text[:at]))
                if not acc:
                    raise RuntimeError("heap probe: no 'ussh-heap' line from the board (main.serve(heap_log=True))")
                return {"free": int(acc[-1].group(2)), "largest": int(acc[-1].group(1)) * 16,
                        "free_in": int(m.group(1)), "largest_in": int(probe.group(1)) * 16}
        if time.monotonic() > end:
            raise RuntimeError("heap probe: its figures not on the console in %d s" % bound)
        time.sleep(0.02)


_stop = []  # set by SIGTERM (main): the soak ends after the session that runs, and reports


def soak(sessions=1000, every=50, size=64 * 1024, log=print, keep=None, flat_from=None):
    """keep: a path for the board's console at the end (and keep + '.cells': failed sessions' client
    output). flat_from: the session from which the heap between sessions must be flat (default: the
    second checkpoint, 2 * every; the first sessions of each kind load what stays for good: modules,
    the names user code brings, qstrs)."""
    flat_from = 2 * every if flat_from is None else flat_from
    folder = tempfile.mkdtemp(prefix="ussh-soak-", dir="/tmp")
    os.chmod(folder, 0o755)
    import qemu

    key = interop._client_key(folder)
    h = qemu.ssh_target(folder, key + ".pub", flash=os.path.join(folder, "flash.img"), heap_log=True)
    t = interop.Target("qemu", h.host, h.port, "board", key, folder, size, 1)
    t.known_hosts_line = h.known_hosts_line
    t.stop_fn = h.stop
    series, failures, passed, ran, times = [], [], 0, 0, {}
    steps = plan()
    t0 = time.monotonic()
    try:
        interop.probe(t)
        for i in range(1, sessions + 1):
            if _stop:
                log("stopped (SIGTERM) after %d sessions" % (i - 1))
                break
            client, op = steps[(i - 1) % len(steps)]
            # no pause between sessions: the bridge (tools/qemu.py) lets the next client onto the
            # UART only once the board answered the last one's hang-up, its connection ended
            res = interop._run_cell(t, client, op, os.path.join(folder, "cells"), settle=0)
            ran = i
            times.setdefault("%s/%s" % (client, op), []).append(res["seconds"])
            if res["status"] == "pass":
                passed += 1
            else:
                failures.append((i, client, op, res.get("reason", "")))
                log("session %d %s/%s FAILED: %s (%s)" % (i, client, op, res.get("reason", ""), h.health()))
                if keep:  # the client's side of it
                    with open(keep + ".cells", "a") as f:
                        f.write("=== session %d %s/%s: %s\n%s\n" % (i, client, op, res.get("reason", ""),
                                                                   res.get("output", "")[-20000:]))
            if i % every == 0:
                hp = heap(t, h)
                hp["session"] = i
                series.append(hp)
                log("session %4d: %d/%d passed; between sessions: free heap %d B, largest free block %d B; "
                    "in a session: %d B, %d B (%.0f s)" % (i, passed, i, hp["free"], hp["largest"], hp["free_in"],
                                                          hp["largest_in"], time.monotonic() - t0))
    finally:
        h.stop()
        if keep:  # the board's console (its log lines, a MemoryError's traceback)
            shutil.copy(os.path.join(folder, "qemu.log"), keep)
        shutil.rmtree(folder, ignore_errors=True)
    later = [c for c in series if c["session"] >= flat_from]
    spread = {k: max(s[k] for s in later) - min(s[k] for s in later) for k in KEYS} if later else {}
    flat = bool(later) and all(spread[k] <= FLAT for k in ("free", "largest"))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items() if None not in v}
    return {"sessions": ran, "planned": sessions, "passed": passed, "failures": failures, "series": series,
            "flat": flat, "spread": spread, "flat_from": flat_from, "seconds": round(time.monotonic() - t0), "median_seconds": med}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--size", type=int, default=64 * 1024)
    ap.add_argument("--json")
    ap.add_argument("--console", help="the board's console log goes there at the end (FILE.cells: failed sessions)")
    a = ap.parse_args(argv)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: _stop.append(1))
    r = soak(a.sessions, a.every, a.size, log=lambda m: print(m, flush=True), keep=a.console)
    print("soak: %d/%d sessions passed in %d s; heap %s" % (r["passed"], r["sessions"], r["seconds"],
                                                           "flat" if r["flat"] else "NOT flat"))
    print("bytes after gc.collect(): between sessions (free, largest free block) and inside the probe's session")
    print("session   free largest  free-in largest-in")
    for s in r["series"]:
        print("%7d %6d %7d %8d %10d" % (s["session"], s["free"], s["largest"], s["free_in"], s["largest_in"]))
    if r["spread"]:
        print("spread from session %d on: " % r["flat_from"] + ", ".join("%s %d B" % (k, r["spread"][k]) for k in KEYS))
    print("median seconds per session: " + ", ".join("%s %.1f" % kv for kv in sorted(r["median_seconds"].items())))
    if r["sessions"] < r["planned"]:
        print("stopped early: %d of %d sessions" % (r["sessions"], r["planned"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0 if r["passed"] == r["sessions"] == r["planned"] and r["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
