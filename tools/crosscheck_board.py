"""The random cross-checks of host_tests/test_crosscheck.py (X25519 and Ed25519: key generation,
shared secret, public key, sign, verify with half the signatures corrupted) and
host_tests/test_crosscheck_mlkem.py (ML-KEM-768 key pair, encapsulation, decapsulation and its
implicit rejection) at full count on the emulated Cortex-M3: the board's own fast paths (the
Thumb field products, 32-bit viper ints, the Thumb Keccak) against `cryptography`, and every
--sample-th case against ussh's portable code on the board. The same inputs and checks as the
unix port's 25,000 in pytest. `make test` runs it beside pytest (niced, its output in
build/crosscheck-board.log); `make crosscheck-board` runs it alone.

usage: python tools/crosscheck_board.py [--cases 25000] [--chunk 250] [--jobs 2]
           [--only curve|mlkem] [--max-seconds 5400] [--chunk-cpu 300]
       make crosscheck-board [CROSSCHECK_CASES=25000]

The cases go in chunks to --jobs boards, each booted once and fed chunk after chunk (the
script of a chunk is sent to the board's raw REPL; the board prints a line per case, which the
host checks against `cryptography` when the chunk ends). Prints a line per chunk and a summary;
exit status 1 when any case differs, a board fails, a board spends more than --chunk-cpu seconds
of CPU on one chunk (hung; a chunk of 250 takes about 6), or the whole run is not done in
--max-seconds. Every board is stopped by its PID on every path, SIGTERM and SIGHUP included."""
import argparse
import os
import queue
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "host_tests"))
sys.path.insert(0, HERE)
import qemu  # noqa: E402
import test_crosscheck as curve  # noqa: E402
import test_crosscheck_mlkem as mlkem  # noqa: E402

NAMES = {"curve": "x25519+ed25519", "mlkem": "ml-kem-768"}
N_THEIRS = 2  # ciphertexts of cryptography's a chunk, decapsulated on the board


class Stopped(Exception):
    """Raised by the signal handler main() installs."""


def chunk_job(kind, lo, hi, sample):
    """(board script, host check of its output) for cases lo..hi-1 of one kind."""
    if kind == "curve":
        return curve.SCRIPT % (lo, hi, sample), lambda out: curve.verify(out, lo, hi)
    cs, ks = mlkem.theirs(lo, min(N_THEIRS, hi - lo))

    def check(out):
        paths = mlkem.verify(out, lo, hi, ks)
        assert paths == "paths viper thumb", paths

    return mlkem.SCRIPT % (cs, lo, hi, sample), check


def _cpu(pid):
    """CPU seconds (user + system) process pid has used; 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nice_autogroup(pid):
    """The board runs in its own session (qemu.Board), which under Linux's autogroup scheduling
    is its own group competing as an equal with the session that runs pytest: `nice` on this
    tool, which the board inherits, would not reach across. Gives the board's autogroup this
    process's niceness (raising it needs no privilege); without autogroup the file is absent
    and the inherited niceness already applies."""
    nice = os.nice(0)
    if nice > 0:
        try:
            with open("/proc/%d/autogroup" % pid, "w") as f:
                f.write(str(nice))
        except OSError:
            pass


class Worker(threading.Thread):
    """One board; takes chunks from the queue until it is empty or something fails."""

    def __init__(self, n, todo, report, sample, out):
        super().__init__(daemon=True)
        self.n, self.todo, self.report, self.sample, self.out = n, todo, report, sample, out
        self.board = qemu.Board(timeout=24 * 3600)  # bounded by the watchdog in run()
        self.chunk = None  # (kind, lo, hi, qemu CPU seconds at its start) while one runs
        self.killed = None  # why the watchdog stopped this board

    def run(self):
        try:
            self._run()
        finally:
            self.board.stop()

    def _run(self):
        try:
            self.board.start()
        except Exception as e:  # noqa: BLE001  reported, and the run fails
            self.report(None, self.killed or "board %d did not start: %s" % (self.n, e))
            return
        _nice_autogroup(self.board.pid)
        self.out("board %d started (pid %d)" % (self.n, self.board.pid), flush=True)
        while not self.killed:
            try:
                kind, lo, hi = self.todo.get_nowait()
            except queue.Empty:
                return
            t0 = time.monotonic()
            self.chunk = (kind, lo, hi, _cpu(self.board.pid))
            try:
                script, check = chunk_job(kind, lo, hi, self.sample)
                out = self.board.exec(script)
                check(out)
                self.report((kind, lo, hi), None, time.monotonic() - t0, self.n)
            except AssertionError as e:
                self.report((kind, lo, hi), "DIFFERS %s" % str(e).split("\n")[0][:300], time.monotonic() - t0, self.n)
            except Exception as e:  # noqa: BLE001  the board failed or was killed: this worker ends
                why = self.killed or "board %d failed: %s" % (self.n, str(e)[-1500:])
                self.report((kind, lo, hi), why, time.monotonic() - t0, self.n)
                return
            finally:
                self.chunk = None

    def kill(self, why):
        """Kills the board's emulator (by its PID, from the watchdog's thread): the worker then
        sees its console close, reports why and stops the board."""
        if not self.killed:
            self.killed = why
        pid = self.board.pid
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)  # the board's own session: qemu only
            except (ProcessLookupError, PermissionError):
                pass


def run(cases=25000, chunk=250, sample=50, jobs=2, only=None, max_seconds=5400, chunk_cpu=300, out=print):
    """Runs the cross-checks; returns True when every case of every kind agrees."""
    kinds = [k for k in ("curve", "mlkem") if only in (None, k)]
    todo = queue.Queue()
    # the kinds interleaved, so both are under way from the start
    for lo in range(0, cases, chunk):
        for kind in kinds:
            todo.put((kind, lo, min(lo + chunk, cases)))
    lock = threading.Lock()
    done = {k: 0 for k in kinds}  # cases in chunks that agree
    sampled = {k: 0 for k in kinds}  # cases also run on the board's portable code
    failures = []
    t_start = time.monotonic()

    def report(job, error, seconds=0.0, board=0):
        with lock:
            if job is None:
                failures.append(error)
                out("crosscheck-board: %s" % error, flush=True)
                return
            kind, lo, hi = job
            if error:
                failures.append("%s cases %d-%d: %s" % (NAMES[kind], lo, hi - 1, error))
            else:
                done[kind] += hi - lo
                sampled[kind] += len(range((lo + sample - 1) // sample * sample, hi, sample))
            out("%s cases %d-%d: %s (board %d, %.1f s; %.0f s in all)" % (
                NAMES[kind], lo, hi - 1, error or "ok", board, seconds, time.monotonic() - t_start), flush=True)

    workers = [Worker(n, todo, report, sample, out) for n in range(1, jobs + 1)]
    interrupted = None
    try:
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            time.sleep(0.5)
            if time.monotonic() - t_start > max_seconds:
                for w in workers:
                    w.kill("not done in --max-seconds %d" % max_seconds)
                break
            for w in workers:
                c = w.chunk
                if c and _cpu(w.board.pid) - c[3] > chunk_cpu:
                    w.kill("hung: more than %d s of the board's CPU on one chunk" % chunk_cpu)
    except (Stopped, KeyboardInterrupt) as e:
        interrupted = e
        for w in workers:
            w.kill(str(e) or "interrupted")
    finally:
        for w in workers:
            if w.is_alive():
                w.kill("stopped")
        for w in workers:
            w.join(60)
            w.board.stop()
    seconds = time.monotonic() - t_start
    for kind in kinds:
        out("%s: %d of %d cases agree with cryptography on the emulated board, %d of them also with "
            "its portable code" % (NAMES[kind], done[kind], cases, sampled[kind]), flush=True)
    left = sum(cases - done[k] for k in kinds)
    ok = not failures and not left
    out("crosscheck-board: %s in %.0f s (%d boards)" % (
        "all %d cases agree" % (cases * len(kinds)) if ok else
        "FAILED: %d problem(s), %d case(s) differ or did not run; first: %s" % (
            len(failures), left, failures[0] if failures else "-"), seconds, jobs), flush=True)
    if isinstance(interrupted, KeyboardInterrupt):
        raise interrupted
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=25000)
    ap.add_argument("--chunk", type=int, default=250)
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", choices=("curve", "mlkem"))
    ap.add_argument("--max-seconds", type=int, default=5400)
    ap.add_argument("--chunk-cpu", type=int, default=300)
    a = ap.parse_args()

    def stop(signum, frame):
        raise Stopped("stopped by signal %d" % signum)

    # make test's shell sends SIGTERM (its trap) when make is interrupted; SIGINT is ignored in a
    # background job, so it is not relied on
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    return 0 if run(a.cases, a.chunk, a.sample, a.jobs, a.only, a.max_seconds, a.chunk_cpu) else 1


if __name__ == "__main__":
    sys.exit(main())
