"""The fuzzer (fuzz/): a short seeded run over every protocol state, every regression case it
found, its oracle, and the malformed-packet corpus replayed over TCP against the server on the
MicroPython unix port. `make fuzz` is the long run (1,000,000 cases).

The fuzz processes run apart from pytest: the harness replaces user code execution with a stub.
"""
import json
import os
import subprocess
import sys

import pytest

from sshd_fixtures import Lab
from test_faults import FaultServer, assert_clean_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz")
PY = sys.executable
SHORT_RUN = 60000  # cases: about 25-45 s


def _run(args, timeout=300):
    return subprocess.run([PY] + args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_short_seeded_fuzz_run_finds_nothing(tmp_path):
    summary = tmp_path / "summary.json"
    p = _run([os.path.join(FUZZ, "run.py"), "--cases", str(SHORT_RUN), "--seed", "20261128",
              "--findings", str(tmp_path / "findings"), "--json", str(summary)])
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    res = json.loads(summary.read_text())
    assert res["findings"] == 0
    assert sum(res["cases"].values()) == SHORT_RUN
    assert all(n > 0 for n in res["cases"].values()), res["cases"]  # every state ran
    assert res["corpus_entries"] > 100  # the recorded OpenSSH sessions were used


def test_every_regression_case_passes():
    cases = sorted(os.listdir(os.path.join(FUZZ, "regressions")))
    assert len(cases) >= 8
    p = _run([os.path.join(FUZZ, "replay.py")] + [os.path.join(FUZZ, "regressions", c) for c in cases])
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("ok   ") == len(cases), p.stdout


def test_oracle_reports_a_crash_and_a_hang(tmp_path):
    # a handler that raises, and one that never returns: both are findings, not passes
    code = """
import sys, time
sys.path.insert(0, %r)
import harness
from ussh import channel
lab = harness.Lab()
harness.HANG_S = 1
assert harness.run_case(lab, "authed", [("pkt", b"\\x50" + harness.s(b"x") + b"\\x01", None)]) is None
channel.global_request = None
import ussh.connection as c
c._HANDLERS[80] = lambda conn, p: [][1]
print(harness.run_case(lab, "authed", [("pkt", b"\\x50" + harness.s(b"x") + b"\\x01", None)])[0])
c._HANDLERS[80] = lambda conn, p: time.sleep(30)
print(harness.run_case(lab, "authed", [("pkt", b"\\x50" + harness.s(b"x") + b"\\x01", None)])[0])
def grow(conn, p):
    conn.outq.append(bytes(8 << 20))
c._HANDLERS[80] = grow
print(harness.run_case(lab, "authed", [("pkt", b"\\x50" + harness.s(b"x") + b"\\x01", None)])[0])
""" % FUZZ
    script = tmp_path / "oracle.py"
    script.write_text(code)
    p = _run([str(script)], timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["crash", "hang", "limit"]


def test_corpus_replayed_over_tcp_on_the_unix_port():
    with Lab(prefix="ussh-fuzz-tcp-") as lab:
        srv = FaultServer(lab, throttle=0)  # 1500 refusals from one address: ussh.gate would slow them
        try:
            p = _run([os.path.join(FUZZ, "tcp_replay.py"), "--port", str(srv.port), "--key", lab.client_key,
                      "--cases", "1500", "--seed", "7"], timeout=300)
            assert p.returncode == 0, p.stdout + p.stderr + srv.log()[-3000:]
            assert "server still serving" in p.stdout
            assert srv.proc.poll() is None
            log = srv.log()
            assert log.count("disconnect: ") >= 300  # the cases were refused, each with a reason
            assert_clean_log(srv)
        finally:
            srv.stop()


@pytest.mark.parametrize("name", ["exec.txt", "exec-pq.txt", "sftp.txt", "scp.txt", "shell.txt", "userkeys.txt"])
def test_corpus_recorded_from_openssh(name):
    with open(os.path.join(FUZZ, "corpus", name)) as f:
        lines = [x.split() for x in f if x.strip() and not x.startswith("#")]
    kinds = {k for k, _ in lines}
    first = [bytes.fromhex(h)[0] for k, h in lines if k == "msg"]
    assert first[:2] == [20, 30]  # KEXINIT, KEX_ECDH_INIT: a real session from its start
    assert 50 in first and 90 in first  # user auth, a channel
    if name == "sftp.txt":
        assert "sftp" in kinds
