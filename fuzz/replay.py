"""Replays fuzz cases (JSON files from fuzz/run.py, or fuzz/regressions/): each against a fresh
copy of its state; prints one line per file and exits 1 if any still fails.

    python fuzz/replay.py fuzz/regressions/*.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(paths):
    import harness
    from cases import from_json

    lab = harness.Lab()
    bad = 0
    for p in paths:
        with open(p) as f:
            state, items, cuts = from_json(json.load(f))
        res = harness.run_case(lab, state, items, cuts)
        if res:
            bad += 1
            print("FAIL %s: %s %s" % (p, res[0], res[1].strip().split("\n")[-1]))
        else:
            print("ok   %s (%s, %d items)" % (p, state, len(items)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
