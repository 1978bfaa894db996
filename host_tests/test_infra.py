"""The test and bench infrastructure itself: runtimes, OpenSSH 10 client, .mpy build, peers."""
import os
import re
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
    # all but the modules for other arches (the ARM-only Thumb assembler)
    assert sorted(res.sizes) == [m for m in srcs if res.march in build_mpy.ARCH_ONLY.get(m, (res.march,))]
    assert ("ussh/crypto/fe_thumb.py" in res.sizes) == (board in ("qemu", "rp2"))
    for rel in res.sizes:
        assert os.path.getsize(os.path.join(str(tmp_path), rel[:-3] + ".mpy")) > 0


def test_host_mpy_loads_on_unix_port(tmp_path):
    res = build_mpy.build("host", outdir=str(tmp_path))
    assert res.ok, res.errors
    out = runtimes.run("unix", "import ussh.compat\nprint(ussh.compat.__file__)\n", libdir=str(tmp_path))
    assert out.strip().endswith("compat.mpy")


def test_unix_port_loads_native_modules_as_host_mpy():
    # `make native-mpy` (part of setup and check) puts native/ussh's viper modules, as machine
    # code for this machine, beside lib/ussh's portable ones (where the unix port, MICROPYPATH=lib,
    # finds a package's modules), current with their sources; the unix port imports them from there
    native = [m for m in build_mpy.native_sources() if m not in build_mpy.ARCH_ONLY]
    assert len(native) >= 5
    stale = [m for m in native if not os.path.isfile(os.path.join(runtimes.LIB, m[:-3] + ".mpy"))
             or os.path.getmtime(os.path.join(runtimes.LIB, m[:-3] + ".mpy"))
             < os.path.getmtime(build_mpy.source_path(m))]
    assert not stale, "run `make native-mpy`: missing or older than native/: %s" % stale
    names = [m[:-3].replace("/", ".") for m in native]
    out = runtimes.run("unix", "for n in %r:\n    m = __import__(n, None, None, ['x'])\n    print(m.__file__)\n" % names)
    assert out.split() == [os.path.join(runtimes.LIB, m[:-3] + ".mpy") for m in native]


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


def test_wasm_runner_output_complete_with_slow_readers(tmp_path):
    # The wasm runner once ended with process.exit() while node still held output for a full pipe:
    # a slow reader (a busy CI machine) lost the tail. Here 4 runners print 200 KB each in parallel
    # and nobody reads for a second, so the pipe (64 KB) is full when the script ends.
    import time
    script = tmp_path / "big.py"
    script.write_text("for i in range(4000):\n    print('%05d' % i, 'x' * 44)\nprint('END')\n")
    procs = [subprocess.Popen(runtimes.command("wasm", str(script)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    try:
        time.sleep(1.0)
        for p in procs:
            out, err = p.communicate(timeout=120)
            lines = out.decode().splitlines()
            assert p.returncode == 0, err
            assert len(lines) == 4001 and lines[-1] == "END", (len(lines), lines[-1:])
            assert lines[3999].startswith("03999 ")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_no_package_mirror_named_in_project_files():
    # the brief: a mirror's or registry's address is read from the machine's apt/pip config, never written
    out = subprocess.run(["git", "ls-files"], cwd=runtimes.ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    pattern = re.compile(r"(deb|security|ftp[0-9.a-z]*)\.debian\.org|registry\.npmjs\.org|pypi\.org/simple"
                         r"|files\.pythonhosted\.org|archive\.ubuntu\.com")
    hits = []
    for rel in out:
        if rel.endswith((".md", ".txt")) and rel != "requirements-dev.txt":
            continue
        try:
            with open(os.path.join(runtimes.ROOT, rel), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except (IsADirectoryError, FileNotFoundError):
            continue
        hits += ["%s: %s" % (rel, m.group(0)) for m in pattern.finditer(text)]
    assert hits == []


def test_apt_mirror_fails_clearly_without_sources(tmp_path):
    # tools/apt_mirror.sh names no fallback: with no apt source it says so and fails;
    # with one it prints that one
    script = os.path.join(runtimes.ROOT, "tools", "apt_mirror.sh")
    env = dict(os.environ, APT_ETC=str(tmp_path))
    p = subprocess.run(["bash", script], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode != 0 and p.stdout == ""
    assert "no Debian mirror" in p.stderr
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "x.sources").write_text(
        "Types: deb\nURIs: http://127.0.0.1:9/debian-security\nSuites: s\n\n"
        "Types: deb\nURIs: http://127.0.0.1:9/debian\nSuites: s\n")
    p = subprocess.run(["bash", script], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "http://127.0.0.1:9/debian"
