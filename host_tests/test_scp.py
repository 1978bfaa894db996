"""scp both ways: OpenSSH 9's default (over the SFTP subsystem) and legacy `scp -O` (exec of
`scp -t` / `scp -f`, lib/ussh/scp.py), single files and `-r` trees, on the unix port and CPython."""
import os
import subprocess

import pytest

from transfer import RUNTIMES, leftovers, make_files, paramiko_client, scp, sha, start

MODES = ("sftp", "legacy")


def _tree(base):
    """A tree of files of every size in SIZES plus a nested empty file; returns {relpath: sha256}."""
    sums = {k: v for k, v in make_files(os.path.join(base, "tree")).items()}
    sub = os.path.join(base, "tree", "sub", "deeper")
    os.makedirs(sub)
    for k, v in make_files(sub, (0, 5000)).items():
        sums["sub/deeper/" + k] = v
    return sums


def _check(folder, sums):
    got = {}
    for d, dirs, files in os.walk(folder):
        for f in files:
            got[os.path.relpath(os.path.join(d, f), folder)] = sha(os.path.join(d, f))
    assert got == sums


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_scp_both_directions(ussh_server, tmp_path, runtime, mode):
    srv, root = start(ussh_server, tmp_path, runtime)
    legacy = mode == "legacy"
    local = str(tmp_path / "local")
    sums = _tree(local)
    # upload: a tree with -r, single files to a folder and to a new name
    p = scp(srv, ["-r", os.path.join(local, "tree"), "127.0.0.1:"], legacy)
    assert p.returncode == 0, (p.stderr, srv.log())
    _check(os.path.join(root, "tree"), sums)
    os.mkdir(os.path.join(root, "flat"))
    files = [os.path.join(local, "tree", "f%d" % n) for n in (0, 1, 32767, 32768, 1048583)]
    p = scp(srv, files + ["127.0.0.1:/flat"], legacy)
    assert p.returncode == 0, (p.stderr, srv.log())
    _check(os.path.join(root, "flat"), {k: v for k, v in sums.items() if "/" not in k})
    p = scp(srv, [files[-1], "127.0.0.1:flat/renamed"], legacy)
    assert p.returncode == 0, p.stderr
    assert sha(os.path.join(root, "flat", "renamed")) == sums["f1048583"]
    # download: the tree with -r, a single file
    back = str(tmp_path / "back")
    p = scp(srv, ["-r", "127.0.0.1:tree", back], legacy)
    assert p.returncode == 0, (p.stderr, srv.log())
    _check(back, sums)
    p = scp(srv, ["127.0.0.1:/flat/renamed", str(tmp_path / "one")], legacy)
    assert p.returncode == 0, p.stderr
    assert sha(str(tmp_path / "one")) == sums["f1048583"]
    # -p: times come along
    os.utime(os.path.join(root, "flat", "renamed"), (1000000000, 1000000000))
    p = scp(srv, ["-p", "127.0.0.1:/flat/renamed", str(tmp_path / "timed")], legacy)
    assert p.returncode == 0, p.stderr
    assert int(os.stat(tmp_path / "timed").st_mtime) == 1000000000
    # replacing an existing file
    p = scp(srv, [files[2], "127.0.0.1:flat/renamed"], legacy)
    assert p.returncode == 0, p.stderr
    assert sha(os.path.join(root, "flat", "renamed")) == sums["f32767"]
    assert leftovers(root) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_scp_refusals(ussh_server, tmp_path, runtime, mode):
    srv, root = start(ussh_server, tmp_path, runtime)
    legacy = mode == "legacy"
    f = tmp_path / "f"
    f.write_bytes(b"data")
    p = scp(srv, ["127.0.0.1:/missing", str(tmp_path / "x")], legacy)
    assert p.returncode != 0 and "no such file" in p.stderr.lower(), p.stderr
    assert not os.path.exists(tmp_path / "x")
    p = scp(srv, [str(f), "127.0.0.1:../escaped"], legacy)
    assert p.returncode != 0, p.stderr
    assert not os.path.exists(tmp_path / "escaped")
    p = scp(srv, ["127.0.0.1:../f", str(tmp_path / "y")], legacy)
    assert p.returncode != 0
    assert not os.path.exists(tmp_path / "y")
    p = scp(srv, [str(f), "127.0.0.1:nodir/f"], legacy)
    assert p.returncode != 0
    # the server still serves
    p = scp(srv, [str(f), "127.0.0.1:ok"], legacy)
    assert p.returncode == 0, p.stderr
    assert open(os.path.join(root, "ok"), "rb").read() == b"data"
    assert leftovers(root) == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_legacy_scp_protocol_errors(ussh_server, tmp_path, runtime):
    """The rcp protocol spoken by hand: a file cut short keeps the old one; bad records end with
    a fatal error and status 1; a folder without -r is refused."""
    srv, root = start(ussh_server, tmp_path, runtime)
    with open(os.path.join(root, "keep"), "wb") as f:
        f.write(b"old")
    with paramiko_client(srv) as c:

        def session(cmd, data, eof=True):
            ch = c.get_transport().open_session(timeout=10)
            ch.settimeout(20)
            ch.exec_command(cmd)
            ch.sendall(data)
            if eof:
                ch.shutdown_write()
            out = b""
            while True:
                d = ch.recv(4096)
                if not d:
                    break
                out += d
            return ch.recv_exit_status(), out

        st, out = session("scp -t keep", b"C0644 100 keep\n" + b"n" * 40)  # EOF mid-file
        assert st == 1 and out.startswith(b"\0\0")
        assert open(os.path.join(root, "keep"), "rb").read() == b"old"
        st, out = session("scp -t .", b"X nonsense\n")
        assert st == 1 and out.startswith(b"\0\2scp: expected a control record")
        st, out = session("scp -t .", b"D0755 0 sub\n")
        assert st == 1 and b"without -r" in out
        assert not os.path.exists(os.path.join(root, "sub"))
        st, out = session("scp -t .", b"C0644 3 ../up\nabc\0")
        assert st == 1 and b"unexpected file name" in out
        st, out = session("scp -t .", b"C0644 3 new\nabc\0")
        assert (st, out) == (0, b"\0\0\0")
        assert open(os.path.join(root, "new"), "rb").read() == b"abc"
    assert leftovers(root) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_scp_cut_keeps_the_old_file(ussh_server, tmp_path, runtime, mode):
    """`scp main.py board:` killed halfway: the board keeps the complete old main.py, and the next
    start removes the temporary file."""
    import signal
    import time

    from transfer import _common

    root = str(tmp_path / "root")
    os.makedirs(root)
    old = os.urandom(100000)
    with open(os.path.join(root, "main.py"), "wb") as f:
        f.write(old)
    big = tmp_path / "main.py"
    with open(big, "wb") as f:
        f.write(os.urandom(32 << 20))
    srv, _ = start(ussh_server, tmp_path, runtime, root)
    argv = ["scp"] + (["-O"] if mode == "legacy" else []) + _common(srv) + ["-P", str(srv.port), str(big),
                                                                           "127.0.0.1:"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tmps = [x for x in leftovers(root) if x.endswith("~")]
            if tmps and os.path.getsize(tmps[0]) >= 1 << 20:
                break
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.005)
        else:
            raise AssertionError("no temporary file grew")
        assert open(os.path.join(root, "main.py"), "rb").read() == old
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    assert p.returncode == -signal.SIGKILL  # it did not finish
    assert open(os.path.join(root, "main.py"), "rb").read() == old
    srv.stop()
    start(ussh_server, tmp_path, runtime, root)
    assert leftovers(root) == []
    assert os.listdir(root) == ["main.py"]
    assert open(os.path.join(root, "main.py"), "rb").read() == old
