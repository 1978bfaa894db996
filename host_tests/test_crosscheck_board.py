"""tools/crosscheck_board.py, which `make test` runs beside pytest to cross-check the fast paths
25,000 times a primitive on the emulated Cortex-M3: a short run on two boards agrees; a wrong
expected value makes it fail and name the case; a board that hangs or a run that overstays is
stopped by PID and fails; SIGTERM (make test's trap when make is interrupted) stops its boards.
About 40 s."""
import os
import signal
import subprocess
import sys

import pytest

from runtimes import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import crosscheck_board  # noqa: E402
import qemu  # noqa: E402

TOOL = os.path.join(ROOT, "tools", "crosscheck_board.py")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def boards(monkeypatch):
    """The PIDs of the boards the tool starts."""
    pids = []
    start = qemu.Board.start

    def recording_start(self):
        r = start(self)
        pids.append(self.pid)
        return r

    monkeypatch.setattr(qemu.Board, "start", recording_start)
    return pids


def test_short_run_agrees(boards):
    lines = []
    assert crosscheck_board.run(cases=60, chunk=20, jobs=2, out=lambda s, flush=False: lines.append(s))
    assert lines[-1].startswith("crosscheck-board: all 120 cases agree"), lines[-4:]
    assert "x25519+ed25519: 60 of 60 cases agree with cryptography on the emulated board, 2 of them" \
        " also with its portable code" in lines
    assert "ml-kem-768: 60 of 60 cases agree with cryptography on the emulated board, 2 of them" \
        " also with its portable code" in lines
    assert len(boards) == 2 and not any(alive(p) for p in boards)


def test_wrong_expected_value_fails(monkeypatch, boards):
    # one case of each kind expected differently on the host: the run fails and names it
    curve, mlkem = crosscheck_board.curve, crosscheck_board.mlkem
    expected, case = curve.expected, mlkem.case
    monkeypatch.setattr(curve, "expected", lambda i: expected(i).replace(" ", " 0", 1) if i == 7 else expected(i))
    monkeypatch.setattr(mlkem, "case", lambda i: case(i + 1) if i == 23 else case(i))
    lines = []
    assert not crosscheck_board.run(cases=40, chunk=20, jobs=2, out=lambda s, flush=False: lines.append(s))
    assert "x25519+ed25519 cases 0-19: DIFFERS ['7']" in "\n".join(lines)
    assert "ml-kem-768 cases 20-39: DIFFERS [23]" in "\n".join(lines)
    assert lines[-1].startswith("crosscheck-board: FAILED: 2 problem(s), 40 case(s) differ or did not run"), lines[-1]
    assert not any(alive(p) for p in boards)


@pytest.mark.parametrize("limit", ["chunk_cpu", "max_seconds"])
def test_hung_board_is_stopped(monkeypatch, boards, limit):
    # a board that never finishes its chunk: killed by its PID, the run fails
    monkeypatch.setattr(crosscheck_board, "chunk_job", lambda kind, lo, hi, sample: ("while True:\n    pass\n", None))
    lines = []
    kw = {"chunk_cpu": 3, "max_seconds": 600} if limit == "chunk_cpu" else {"chunk_cpu": 600, "max_seconds": 5}
    assert not crosscheck_board.run(cases=20, chunk=10, jobs=2, out=lambda s, flush=False: lines.append(s), **kw)
    why = "hung: more than 3 s of the board's CPU" if limit == "chunk_cpu" else "not done in --max-seconds 5"
    # each board's line (its chunk's, or its start's when the limit came first), then the summary
    assert sum(why in line for line in lines[:-1]) == 2, lines
    assert lines[-1].startswith("crosscheck-board: FAILED"), lines[-1]
    assert len(boards) == 2 and not any(alive(p) for p in boards)


def test_sigterm_stops_its_boards():
    p = subprocess.Popen([sys.executable, TOOL, "--cases", "25000", "--jobs", "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        pids = []
        for line in p.stdout:
            if line.startswith("board "):
                pids.append(int(line.split("(pid ")[1].rstrip(")\n")))
            if len(pids) == 2:
                break
        assert len(pids) == 2 and all(alive(q) for q in pids)
        p.send_signal(signal.SIGTERM)
        rest = p.communicate(timeout=60)[0]
        assert p.returncode != 0
        assert "crosscheck-board: FAILED" in rest and "stopped by signal %d" % signal.SIGTERM in rest, rest[-2000:]
        assert not any(alive(q) for q in pids)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
