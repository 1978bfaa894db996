"""The test and bench infrastructure itself: runtimes, OpenSSH 10 client, .mpy build, peers."""
import os
import subprocess
import sys

import pytest

import runtimes
import sshd_fixtures

sys.path.insert(0, os.path.join(runtimes.ROOT, "tools"))
import build_mpy  # noqa: E402


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES)
def test_runtime_runs_code_with_lib_on_path(runtime):
    out = runtimes.run(runtime, "import ussh.compat\nprint('ok', 6 * 7, ussh.compat.MICROPYTHON)\n")
    assert out.split() == ["ok", "42", "False" if runtime == "cpython" else "True"]


def test_runtime_failure_raises():
    with pytest.raises(runtimes.RuntimeFailed):
        runtimes.run("unix", "raise ValueError('x')\n")


def test_ssh10_is_openssh_10():
    p = subprocess.run([os.path.join(runtimes.ROOT, "tools", "ssh10"), "-V"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("OpenSSH_10."), p.stderr


@pytest.mark.parametrize("board", sorted(build_mpy.BOARD_MARCH))
def test_mpy_cross_compiles_every_module(board, tmp_path):
    res = build_mpy.build(board, outdir=str(tmp_path))
    assert res.ok, res.errors
    srcs = build_mpy.sources()
    assert "ussh/__init__.py" in srcs
    assert sorted(res.sizes) == srcs
    for rel in srcs:
        assert os.path.getsize(os.path.join(str(tmp_path), rel[:-3] + ".mpy")) > 0


def test_host_mpy_loads_on_unix_port(tmp_path):
    res = build_mpy.build("host", outdir=str(tmp_path))
    assert res.ok, res.errors
    out = runtimes.run("unix", "import ussh.compat\nprint(ussh.compat.__file__)\n", libdir=str(tmp_path))
    assert out.strip().endswith("compat.mpy")


@pytest.mark.parametrize("kind", ["dropbear", "sshd", "asyncssh"])
def test_peer_login(peer_server, kind):
    srv = peer_server(kind)
    p = srv.ssh("echo ok", timeout=60)
    assert (p.returncode, p.stdout) == (0, "ok\n"), p.stderr + srv.log()


def test_peer_stopped_by_pid():
    with sshd_fixtures.peer_server("dropbear") as srv:
        pid = srv.pid
        assert srv.ssh("echo ok").returncode == 0, srv.log()
    assert srv.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ssh10_logs_in_to_sshd_peer(peer_server):
    srv = peer_server("sshd")
    p = srv.ssh("echo ok", client="ssh10", timeout=60)
    assert (p.returncode, p.stdout) == (0, "ok\n"), p.stderr + srv.log()
