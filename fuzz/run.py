"""The fuzz run: `make fuzz` (python fuzz/run.py --cases 1000000 --coverage).

    python fuzz/run.py [--cases N] [--seed S] [--states a,b] [--coverage] [--findings DIR] [--max-seconds T]

Splits N cases over the states by weight (a state whose cases rebuild a key exchange gets fewer),
runs them in this process with a seeded generator, and prints per state: cases, cases/s and
findings; then the corpus size, the peak memory and (with --coverage) the line coverage of
lib/ussh reached by the run. Each finding is written as JSON to DIR (default fuzz/findings/):
replay it with fuzz/replay.py FILE, and once fixed, move it to fuzz/regressions/ (a test replays
every file there). Exit status 1 when anything was found.
"""
import argparse
import json
import os
import random
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# share of the cases per state: states rebuilt per case (a key exchange on CPython) get less
WEIGHTS = {"banner": 6, "kexinit": 10, "kex_ecdh": 1.5, "kex_pq": 0.4, "newkeys": 0.6, "service": 6,
           "userauth": 12, "authed": 10, "rekey": 3, "channel": 14, "shell": 10, "sftp": 20, "scp": 6.5, "eam": 4}


# the modules a case goes through (the rest: sockets, boards, key files, optional key types)
CORE = ("wire", "transport", "kex", "pqkex", "auth", "channel", "connection", "sftp", "scp", "fs", "repl")
# the optional login modules the configuration enables (fuzz/userkeys.py), reported one by one
LOGIN = ("auth", "cert", "keyopts", "passwd", "key_rsa", "key_ecdsa", "key_sk", "gate")


def _where(detail):
    # a crash's identity: the exception type and the innermost frame in lib/ussh
    lines = detail.strip().split("\n")
    frames = [x.strip() for x in lines if x.strip().startswith("File ") and "lib/ussh" in x]
    return "%s at %s" % (lines[-1].split(":")[0], frames[-1] if frames else "?") if frames else lines[-1][:200]


MEMORY_GROWTH_MB = 64  # more growth than this after the first round is a finding


def rss_mb():
    # this process's resident memory now (Linux), else its peak
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plan(total, states):
    w = sum(WEIGHTS[s] for s in states)
    n = {s: int(total * WEIGHTS[s] / w) for s in states}
    n[states[-1]] += total - sum(n.values())
    return n


def run(total, seed, states, findings_dir, out=print, chunk=500, max_seconds=None):
    import harness
    from cases import Generator, corpus_size, load_corpus, to_json

    lab = harness.Lab()
    corpus = load_corpus()
    rng = random.Random(seed)
    gen = Generator(lab, corpus, rng)
    want = plan(total, states)
    done = dict.fromkeys(states, 0)
    spent = dict.fromkeys(states, 0.0)
    found = []
    seen = set()
    t0 = time.monotonic()
    last = t0
    rss_warm = None
    # round-robin in chunks, so an interrupted run still covers every state
    stopped = False
    while any(done[s] < want[s] for s in states):
        if max_seconds and time.monotonic() - t0 > max_seconds:  # a whole round-robin pass each time
            stopped = True
            out("... stopped at the time limit of %d s" % max_seconds)
            break
        for st in states:
            k = min(chunk, want[st] - done[st])
            if k <= 0:
                continue
            lab.reset_root()
            t = time.monotonic()
            for _ in range(k):
                items, cuts = gen.generate(st)
                res = harness.run_case(lab, st, items, cuts)
                if res:
                    kind, detail = res
                    sig = (st, kind, _where(detail))
                    if sig not in seen:
                        seen.add(sig)
                        d = to_json(st, items, cuts)
                        d.update(kind=kind, detail=detail, seed=seed)
                        found.append(d)
                        if findings_dir:
                            os.makedirs(findings_dir, exist_ok=True)
                            p = os.path.join(findings_dir, "%s-%s-%d.json" % (st, kind, len(found)))
                            with open(p, "w") as f:
                                json.dump(d, f, indent=1)
                        out("FINDING %s %s: %s" % (st, kind, sig[2]))
            done[st] += k
            spent[st] += time.monotonic() - t
        if rss_warm is None:  # every state ran a chunk: modules loaded, snapshots built
            rss_warm = rss_mb()
        if time.monotonic() - last > 60:
            last = time.monotonic()
            out("... %d cases, %.0f s, %d findings" % (sum(done.values()), last - t0, len(found)))
    elapsed = time.monotonic() - t0
    rss_end = rss_mb()
    if rss_end - (rss_warm or rss_end) > MEMORY_GROWTH_MB:  # a leak across cases
        found.append({"state": "*", "kind": "memory", "detail": "memory grew from %.0f to %.0f MB"
                      % (rss_warm, rss_end)})
        out("FINDING memory: %.0f -> %.0f MB" % (rss_warm, rss_end))
    n_items, n_bytes = corpus_size(corpus)
    return {"seed": seed, "cases": done, "seconds": spent, "elapsed": elapsed, "findings": found, "stopped": stopped,
            "corpus_entries": n_items, "corpus_bytes": n_bytes,
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "rss_mb_after_first_round": rss_warm, "rss_mb_at_end": rss_end}


def report(res, out=print):
    out("%-10s %10s %10s %9s" % ("state", "cases", "cases/s", "findings"))
    for st, n in res["cases"].items():
        f = sum(1 for d in res["findings"] if d["state"] == st)
        sec = res["seconds"][st] or 1e-9
        out("%-10s %10d %10.0f %9d" % (st, n, n / sec, f))
    total = sum(res["cases"].values())
    out("%-10s %10d %10.0f %9d" % ("total", total, total / max(res["elapsed"], 1e-9), len(res["findings"])))
    out("corpus: %d recorded payloads, %d bytes (fuzz/corpus/); seed %d; %.0f s" % (
        res["corpus_entries"], res["corpus_bytes"], res["seed"], res["elapsed"]))
    out("memory: %.0f MB after the first round of every state, %.0f MB at the end (a finding past +%d MB)"
        % (res["rss_mb_after_first_round"] or 0, res["rss_mb_at_end"], MEMORY_GROWTH_MB))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--states", default=None)
    ap.add_argument("--coverage", action="store_true")
    ap.add_argument("--findings", default=os.path.join(HERE, "findings"))
    ap.add_argument("--json", default=None, help="write the summary here too")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop (and report) after this long, before --cases if need be")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else int(time.time())
    states = a.states.split(",") if a.states else list(WEIGHTS)
    cov = None
    if a.coverage:
        import coverage

        lib = os.path.join(os.path.dirname(HERE), "lib", "ussh")
        cov = coverage.Coverage(source=[lib], data_file=None, branch=False)
        cov.start()
    res = run(a.cases, seed, states, a.findings, max_seconds=a.max_seconds)
    print()
    report(res)
    if cov:
        cov.stop()
        import io

        buf = io.StringIO()
        pct = cov.report(file=buf, show_missing=False)
        print(buf.getvalue().rstrip())
        print("coverage of lib/ussh by the fuzz run: %.1f%% of lines" % pct)
        core = [os.path.join(lib, m + ".py") for m in CORE]
        pct_core = cov.report(file=io.StringIO(), include=core)
        print("coverage of the modules it drives (%s): %.1f%% of lines" % (", ".join(CORE), pct_core))
        res["coverage_pct"], res["coverage_core_pct"] = pct, pct_core
        res["coverage_login"] = {}
        for m in LOGIN:
            try:
                res["coverage_login"][m] = round(cov.report(file=io.StringIO(), include=[os.path.join(lib, m + ".py")]), 1)
            except Exception:  # coverage.misc.NoDataError: the module never ran
                res["coverage_login"][m] = 0.0
        print("coverage of the login modules: " + ", ".join("%s %.1f%%" % kv for kv in res["coverage_login"].items()))
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({k: v for k, v in res.items() if k != "findings"} | {"findings": len(res["findings"])}, f, indent=1)
    return 1 if res["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
