"""`make bench`: every benchmark section, one table each, and bench/results/latest.json.

usage: python bench/run.py [--only NAME,...] [--runs N] [--timeout S]

A section is an entry of SECTIONS: (name, function(args) -> dict with "title", "columns",
"rows" {row: {column: value}}, optional "notes" and "raw"). To add one, write the function and
append it. Script sections run a standalone script on each runtime of host_tests/runtimes.py
with lib/ on its path; the script prints lines `BENCH <name> <value> <unit>`. A runtime on which
a script fails gets FAIL in its column and the reason in the notes; the run goes on.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import runtimes  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results", "latest.json")


def parse_bench(text):
    """{name: (value, unit)} from `BENCH <name> <value> <unit>` lines."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "BENCH":
            try:
                value = float(parts[2])
            except ValueError:
                continue
            out[parts[1]] = (value, " ".join(parts[3:]))
    return out


def script_section(script, title=None):
    """A section that runs bench/<script> on every runtime."""

    def run(args):
        path = os.path.join(ROOT, "bench", script)
        cols = list(runtimes.RUNTIMES)
        rows, notes, raw = {}, [], {}
        if not os.path.exists(path):
            return {"title": title or script, "columns": cols, "rows": {},
                    "notes": ["bench/%s does not exist yet" % script], "raw": {}}
        with open(path) as f:
            code = f.read()
        for rt in cols:
            t0 = time.monotonic()
            try:
                text = runtimes.run(rt, code, timeout=args.timeout)
                err = None
            except (runtimes.RuntimeFailed, subprocess.TimeoutExpired, OSError) as e:
                text, err = getattr(e, "stdout", None) or "", str(e)
                if isinstance(text, bytes):
                    text = text.decode(errors="replace")
            results = parse_bench(text)
            raw[rt] = {"results": results, "error": err, "seconds": round(time.monotonic() - t0, 1)}
            for name, (value, unit) in results.items():
                rows.setdefault("%s (%s)" % (name, unit) if unit else name, {})[rt] = value
            if err:
                last = [l for l in err.splitlines() if l.strip()]
                notes.append("%s: FAIL %s" % (rt, last[-1][:200] if last else ""))
                raw[rt]["failed"] = True
        for rt in cols:
            if raw[rt].get("failed"):
                for r in rows.values():
                    r.setdefault(rt, "FAIL")
                if not rows:
                    rows["(script)"] = {c: ("FAIL" if raw[c].get("failed") else "ok") for c in cols}
        return {"title": title or script, "columns": cols, "rows": rows, "notes": notes, "raw": raw}

    return run


def login_section(args):
    import login

    return login.section(runs=args.runs)


def client_login_section(args):
    import client_login

    return client_login.section(runs=args.runs)


def footprint_section(args):
    import footprint

    return footprint.section(args)


def transfer_section(args):
    import transfer

    return transfer.section(args)


def userkeys_section(args):
    import userkeys

    return userkeys.section(args)


def emcu_section(args):
    import emcu

    return emcu.section(args)


def pico_section(args):
    import pico_board  # bench/pico_board.py (tools/pico.py is the board itself)

    return pico_board.section(args)


def mpremote_section(args):
    import mpremote_ssh  # bench/mpremote_ssh.py

    return mpremote_ssh.section(args)


def soak_section(args):
    # a short soak (tools/soak.py; `make soak` runs 1,000): each client through every operation
    # once, the heap read before and after
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import soak

    n = len(soak.plan())
    r = soak.soak(sessions=2 * n, every=n, log=lambda *a: None)
    rows = {"sessions passed": {"value": "%d/%d" % (r["passed"], r["sessions"]), "unit": "%d s" % r["seconds"]}}
    for s in r["series"]:  # between sessions (the board, before the next connection), then inside the probe's
        rows["free heap after %d" % s["session"]] = {"value": s["free"], "unit": "B"}
        rows["largest free block after %d" % s["session"]] = {"value": s["largest"], "unit": "B"}
        rows["free heap in a session after %d" % s["session"]] = {"value": s["free_in"], "unit": "B"}
        rows["largest free block in a session after %d" % s["session"]] = {"value": s["largest_in"], "unit": "B"}
    notes = ["%d %s/%s: %s" % f for f in r["failures"]]
    return {"title": "soak: the emulated Cortex-M3, %d sessions (OpenSSH, paramiko, asyncssh; 64 KiB)" % r["sessions"],
            "columns": ["value", "unit"], "rows": rows, "notes": notes}


SECTIONS = [
    ("crypto_curve", script_section("crypto_curve.py", "crypto: curve25519 / ed25519")),
    ("crypto_sym", script_section("crypto_sym.py", "crypto: hashes, MAC, cipher")),
    ("crypto_pq", script_section("crypto_pq.py", "crypto: ML-KEM-768 / mlkem768x25519-sha256 (server side)")),
    ("login", login_section),
    ("client_login", client_login_section),
    ("footprint", footprint_section),
    ("transfer", transfer_section),
    ("userkeys", userkeys_section),
    ("emcu", emcu_section),
    ("pico", pico_section),
    ("soak", soak_section),
    ("mpremote", mpremote_section),
]


def _fmt(v):
    if isinstance(v, float):
        return "%.4g" % v if abs(v) < 1000 else "%.0f" % v
    return str(v)


def format_section(sec):
    cols = sec["columns"]
    rows = sec["rows"]
    w0 = max([len(r) for r in rows] + [10])
    ws = [max([len(c)] + [len(_fmt(rows[r].get(c, "-"))) for r in rows]) for c in cols]
    lines = ["== " + sec["title"],
             "  ".join(["%-*s" % (w0, "")] + ["%*s" % (w, c) for w, c in zip(ws, cols)])]
    for r in rows:
        lines.append("  ".join(["%-*s" % (w0, r)] +
                               ["%*s" % (w, _fmt(rows[r].get(c, "-"))) for w, c in zip(ws, cols)]))
    for n in sec.get("notes", ()):
        lines.append("  note: " + n)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="ussh benchmarks")
    ap.add_argument("--only", default="", help="comma-separated section names: " +
                    ",".join(n for n, _ in SECTIONS))
    ap.add_argument("--runs", type=int, default=20, help="logins per server")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per script per runtime")
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    unknown = only - {n for n, _ in SECTIONS}
    if unknown:
        ap.error("unknown section(s): " + ",".join(sorted(unknown)))
    report = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": platform.platform(),
              "python": sys.version.split()[0], "sections": {}}
    try:
        report["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                          capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    for name, fn in SECTIONS:
        if only and name not in only:
            continue
        sec = fn(args)
        report["sections"][name] = sec
        print(format_section(sec), flush=True)
        print()
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    print("wrote " + os.path.relpath(RESULTS, ROOT))


if __name__ == "__main__":
    main()
