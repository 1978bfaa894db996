"""mpremote over SSH against mpremote over a plain socket, on the virtual board (the MicroPython
unix port, the same .venv/bin/micropython in both):

- SSH: ussh on the unix port; the stock OpenSSH client's `ssh -N -L PORT:repl:1` tunnel (set up
  once, its login not timed); `mpremote connect socket://127.0.0.1:PORT resume fs cp ...`, served
  by ussh.rawrepl (Python) through SSH (AES-CTR, HMAC: ussh's own pure-Python crypto).
- plain socket: tools/vboard.py (socat TCP-LISTEN ... EXEC:"micropython -i",pty), the unix
  port's own raw REPL (C) on a pty, no encryption; `mpremote connect socket://127.0.0.1:PORT
  resume fs cp ...` (resume: the unix port has no soft reset).
- one-liner: tools/ussh-mpremote HOST fs cp ... (the tunnel's login and ssh's start included;
  mpremote soft-resets first, as it does by default).

Each: the wall time of the whole mpremote process, median of --runs (at least 5), a 64 KiB file
of random bytes up (host -> board) and back, each copy checked by SHA-256. Used by bench/run.py
(section "mpremote"); also runnable alone: python bench/mpremote_ssh.py
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
import peers  # noqa: E402
import ussh_mpremote  # noqa: E402
import vboard  # noqa: E402

SIZE = 65536
MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")


def _timed(argv, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    dt = time.monotonic() - t0
    if p.returncode:
        raise RuntimeError("%s: %d %s %s" % (" ".join(argv[-4:]), p.returncode, p.stdout[-500:], p.stderr[-500:]))
    return dt


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def measure(prefix, work, on_board, runs, resume=True):
    """(median seconds up, median seconds back) for mpremote argv prefix."""
    src = os.path.join(work, "src.bin")
    want = _sha(src)
    up, down = [], []
    extra = ["resume"] if resume else []
    for i in range(runs):
        dest = on_board + ".%d" % i
        up.append(_timed(prefix + extra + ["fs", "cp", src, ":" + dest]))
        if _sha(dest) != want:
            raise RuntimeError("the board's copy differs")
        back = os.path.join(work, "back.%d" % i)
        down.append(_timed(prefix + extra + ["fs", "cp", ":" + dest, back]))
        if _sha(back) != want:
            raise RuntimeError("the copy back differs")
    return _median(up), _median(down)


def section(args):
    runs = max(5, min(getattr(args, "runs", 5), 9))
    rows, notes = {}, []
    work = tempfile.mkdtemp(prefix="ussh-bench-mpremote-")
    try:
        with open(os.path.join(work, "src.bin"), "wb") as f:
            f.write(os.urandom(SIZE))
        with peers.Lab() as lab:
            srv = lab.start("ussh", runtime="unix")
            opts = srv.ssh_argv("")[1:-2]
            p, port = ussh_mpremote.tunnel(opts, "127.0.0.1")
            try:
                rows["SSH tunnel (ussh.rawrepl)"] = measure([MPREMOTE, "connect", "socket://127.0.0.1:%d" % port],
                                                            work, os.path.join(lab.dir, "ssh.bin"), runs)
            finally:
                ussh_mpremote.stop(p)
            helper = [os.path.join(ROOT, "tools", "ussh-mpremote")] + opts + ["127.0.0.1"]
            rows["tools/ussh-mpremote (login included)"] = measure(helper, work, os.path.join(lab.dir, "helper.bin"),
                                                                   runs, resume=False)
        vb = os.path.join(work, "vboard")
        pid, vport = vboard.start(vb)
        try:
            rows["plain socket (vboard, C raw REPL)"] = measure([MPREMOTE, "connect", "socket://127.0.0.1:%d" % vport],
                                                                work, os.path.join(vb, "plain.bin"), runs)
        finally:
            vboard.stop(vb)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, peers.ServerFailed) as e:
        notes.append("failed: %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = {k: {"up s": round(u, 2), "back s": round(d, 2), "up KiB/s": round(SIZE / 1024 / u, 1),
                 "back KiB/s": round(SIZE / 1024 / d, 1)} for k, (u, d) in rows.items()}
    notes.append("mpremote fs cp of 64 KiB, the whole mpremote process, median of %d; see bench/mpremote_ssh.py" % runs)
    notes.append("mpremote writes each piece of code and its end (0x04) in two writes on a socket without "
                 "TCP_NODELAY: the second waits for the first's ACK. ussh.rawrepl answers every piece (0x01, "
                 "raw-paste flow control), and its reply carries that ACK; the unix port's raw REPL does not, "
                 "so each of its 512 round trips of the copy back waits for a delayed ACK")
    return {"title": "mpremote over SSH vs a plain socket (virtual board)", "rows": table,
            "columns": ["up s", "back s", "up KiB/s", "back KiB/s"], "notes": notes}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    sec = section(ap.parse_args())
    for k, v in sec["rows"].items():
        print("%-40s %s" % (k, v))
    for n in sec["notes"]:
        print(n)
