"""make soak's tool (tools/soak.py) on a short run: the emulated Cortex-M3's heap between sessions
of different clients, after gc.collect(), is flat (the issue's bound: within 2 KB)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import soak  # noqa: E402


def _tail(path, n=4000):
    # the board's console and the failed sessions' client output, for a failure's message
    out = []
    for p in (path, path + ".cells"):
        if os.path.exists(p):
            with open(p, errors="replace") as f:
                out.append("--- %s (end)\n%s" % (os.path.basename(p), f.read()[-n:]))
    return "\n".join(out)


def test_heap_between_sessions_is_the_same_whichever_client_came_last(tmp_path):
    # exec from OpenSSH, paramiko, asyncssh, then a shell from OpenSSH and paramiko, the heap read
    # after each. OpenSSH's and asyncssh's sessions end on the board's side before their client
    # hangs up, so the board's next connection starts, makes the next key exchange's X25519 pair
    # (idle work) and sees only the hang-up: the pair waits through the collection for the next
    # client. It was made after that connection's buffers, in the middle of the free heap: the
    # largest free block was 3,216 B shorter after those clients' sessions than after paramiko's
    # (the 1,000-session soak: 17,840 against 21,872 B)
    console = str(tmp_path / "console.log")
    try:
        # two rounds of the plan's first five sessions: the first loads what stays for good (the
        # modules a kind of session imports, the qstrs of the probe's code), the second is measured
        r = soak.soak(sessions=10, every=1, size=16 * 1024, log=print, keep=console, flat_from=6)
    except Exception as e:
        raise AssertionError("%s\n%s" % (e, _tail(console))) from e
    assert r["passed"] == r["sessions"] == 10, (r["failures"], _tail(console))
    assert len(r["series"]) == 10
    assert r["flat"], (r["spread"], r["series"], _tail(console))
