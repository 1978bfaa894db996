"""Login benchmark: wall time of one `ssh HOST CMD` (connect, key exchange, public-key auth,
exec, close) against ussh and its peers, all on 127.0.0.1 with throwaway keys.

Servers (tools/peers.py): ussh on the MicroPython unix port (`print(1)`), Dropbear and OpenSSH
sshd (`echo 1` through /bin/sh of a login user without rc files), asyncssh (`echo 1` answered
in-process). sshd and asyncssh are held to ussh's algorithms (curve25519-sha256, ssh-ed25519,
aes128-ctr, hmac-sha2-256-etm). Runs are interleaved round-robin across the servers.
The client is the stock `ssh` with no algorithm options.

usage: python bench/login.py [--runs N] [--servers ussh-unix,dropbear,sshd,asyncssh]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import peers  # noqa: E402

DEFAULT_SERVERS = ("ussh-unix", "dropbear", "sshd", "asyncssh")
RATIOS = (("ussh-unix", "dropbear"), ("ussh-unix", "asyncssh"), ("ussh-unix", "sshd"))


def _make(lab, name):
    if name.startswith("ussh-"):
        return lab.make("ussh", runtime=name[5:], name=name)
    return lab.make(name)


def measure(runs=20, servers=DEFAULT_SERVERS, time_limit=900, timeout=60):
    """{"servers": {name: {"ms": [...], "error": str|None}}, "runs": runs}; bounded by
    `runs` rounds and `time_limit` seconds overall."""
    out = {name: {"ms": [], "error": None} for name in servers}
    with peers.Lab(prefix="ussh-bench-") as lab:
        live = []
        for name in servers:
            try:
                s = _make(lab, name).start()
                p = s.ssh(s.command, timeout=timeout)  # warm-up; also records the host key
                if p.returncode != 0 or p.stdout.strip() != "1":
                    raise peers.ServerFailed("warm-up login gave rc=%d out=%r err=%r\n%s" % (
                        p.returncode, p.stdout, p.stderr[-500:], s.log()[-1000:]))
                live.append((name, s))
            except (peers.ServerFailed, subprocess.SubprocessError, OSError) as e:
                out[name]["error"] = str(e).splitlines()[0][:200] if str(e) else repr(e)
        deadline = time.monotonic() + time_limit
        for _ in range(runs):
            if time.monotonic() > deadline:
                break
            for name, s in live:
                if out[name]["error"]:
                    continue
                argv = s.ssh_argv(s.command)
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                       stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    out[name]["error"] = "login timed out after %ss" % timeout
                    continue
                dt = (time.perf_counter() - t0) * 1000.0
                if p.returncode != 0 or p.stdout.strip() != "1":
                    out[name]["error"] = "rc=%d out=%r err=%r" % (p.returncode, p.stdout[:80],
                                                                  p.stderr[-200:])
                else:
                    out[name]["ms"].append(dt)
    return {"runs": runs, "servers": out}


def section(runs=20, servers=DEFAULT_SERVERS, **kw):
    """The bench/run.py section: rows are statistics, columns are servers."""
    m = measure(runs, servers, **kw)
    rows = {"median ms": {}, "min ms": {}, "max ms": {}, "logins": {}}
    notes = []
    med = {}
    for name, r in m["servers"].items():
        ms = r["ms"]
        if ms:
            med[name] = statistics.median(ms)
            rows.setdefault("median ms", {})[name] = round(med[name], 1)
            rows.setdefault("min ms", {})[name] = round(min(ms), 1)
            rows.setdefault("max ms", {})[name] = round(max(ms), 1)
        rows.setdefault("logins", {})[name] = len(ms)
        if r["error"]:
            label = "not available" if "not available" in r["error"] else "FAIL"
            rows.setdefault("median ms", {})[name] = label
            notes.append("%s: %s" % (name, r["error"]))
    for a, b in RATIOS:
        if a in servers and b in servers:
            key = "%s / %s" % (a, b)
            if a in med and b in med and not m["servers"][a]["error"] and not m["servers"][b]["error"]:
                notes.append("ratio %s (median): %.2f" % (key, med[a] / med[b]))
            else:
                notes.append("ratio %s (median): n/a" % key)
    return {"title": "login: ssh 127.0.0.1 CMD, wall time (%d runs, round-robin)" % runs,
            "columns": list(servers), "rows": rows, "notes": notes, "raw": m}


def main(argv=None):
    ap = argparse.ArgumentParser(description="login benchmark")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--servers", default=",".join(DEFAULT_SERVERS))
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from run import format_section

    print(format_section(section(a.runs, tuple(a.servers.split(",")))))


if __name__ == "__main__":
    main()
