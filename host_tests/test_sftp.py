"""The SFTP subsystem (lib/ussh/sftp.py, fs.py) against OpenSSH's `sftp -b`, paramiko's SFTP client
and a raw packet client (exact STATUS codes), on the MicroPython unix port and on CPython."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import runtimes
from transfer import (RUNTIMES, RawSftp, make_files, paramiko_client, paramiko_sftp, sftp_batch,
                      leftovers, sha, start)
from transfer import (CLOSE, EXTENDED, F_APPEND, F_CREAT, F_EXCL, F_READ, F_TRUNC, F_WRITE, FAILURE,
                      FSETSTAT, FSTAT, MKDIR, NO_ATTRS, NO_SUCH_FILE, OK, OP_UNSUPPORTED, OPEN, OPENDIR,
                      PERMISSION_DENIED, READ, READDIR, READLINK, REALPATH, REMOVE, RENAME, RMDIR, STAT,
                      WRITE, EOF)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_openssh_sftp_batch(ussh_server, tmp_path, runtime):
    srv, root = start(ussh_server, tmp_path, runtime)
    local = tmp_path / "local"
    sums = make_files(str(local))
    dl = tmp_path / "dl"
    dl.mkdir()
    lines = ["mkdir up"] + ["put %s/%s up/%s" % (local, n, n) for n in sums] + ["ls -l up"]
    lines += ["get up/%s %s/%s" % (n, dl, n) for n in sums]
    lines += ["mkdir gone", "rename up/f1 gone/one", "rm gone/one", "rmdir gone", "df", "ls"]
    p = sftp_batch(srv, tmp_path, lines)
    assert p.returncode == 0, (p.stdout, p.stderr, srv.log())
    for n, h in sums.items():
        if n != "f1":
            assert sha(os.path.join(root, "up", n)) == h
        assert sha(str(dl / n)) == h, n
    listing = p.stdout.split("sftp> ls -l up\n")[1].split("sftp> ")[0]
    for n in sums:
        size = n[1:]
        assert any(line.split()[-1] == n and line.split()[4] == size for line in listing.splitlines()), listing
    assert sorted(os.listdir(os.path.join(root, "up"))) == sorted(set(sums) - {"f1"})
    assert not os.path.exists(os.path.join(root, "gone"))
    assert "Avail" in p.stdout.split("sftp> df")[1]
    assert leftovers(root) == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_paramiko_put_get_listdir_stat(ussh_server, tmp_path, runtime):
    srv, root = start(ussh_server, tmp_path, runtime)
    local = tmp_path / "local"
    sums = make_files(str(local))
    with paramiko_sftp(srv) as s:
        s.mkdir("p")
        for n in sums:
            s.put(str(local / n), "p/" + n)
        assert sorted(s.listdir("p")) == sorted(sums)
        for n in sums:
            st = s.stat("/p/" + n)
            assert st.st_size == os.path.getsize(local / n)
            assert st.st_mode & 0o170000 == 0o100000
            s.get("p/" + n, str(tmp_path / ("got-" + n)))
            assert sha(str(tmp_path / ("got-" + n))) == sums[n]
            assert sha(os.path.join(root, "p", n)) == sums[n]
        assert s.stat("p").st_mode & 0o170000 == 0o040000
        assert s.normalize(".") == "/"
        assert s.normalize("p/../p/./f1") == "/p/f1"
        # a folder listed over several READDIR replies
        s.mkdir("many")
        for i in range(40):
            with s.open("many/n%02d" % i, "wb") as f:
                f.write(b"%d" % i)
        assert sorted(s.listdir("many")) == ["n%02d" % i for i in range(40)]
        assert [a.st_size for a in sorted(s.listdir_attr("many"), key=lambda a: a.filename)][:11] == [1] * 10 + [2]
        # SETSTAT: applied where the runtime can (CPython: chmod, utime), accepted everywhere
        s.chmod("p/f1", 0o600)
        s.utime("p/f1", (1000000000, 1000000000))
        if runtime == "cpython":
            st = os.stat(os.path.join(root, "p", "f1"))
            assert (st.st_mode & 0o777, int(st.st_mtime)) == (0o600, 1000000000)
    assert leftovers(root) == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_refusals_keep_the_session(ussh_server, tmp_path, runtime):
    srv, root = start(ussh_server, tmp_path, runtime)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(str(outside), os.path.join(root, "link"))
    os.makedirs(os.path.join(root, "full"))
    with open(os.path.join(root, "full", "x"), "wb") as f:
        f.write(b"x")
    with paramiko_client(srv) as c:
        r = RawSftp(c.get_transport())
        assert r.version == 3
        for ext in (b"posix-rename@openssh.com", b"statvfs@openssh.com", b"fsync@openssh.com"):
            assert ext in r.extensions

        def usable():
            rt, body = r.request(REALPATH, ".")
            assert rt == 104 and b"/" in body

        # path escapes: .. above the root, absolute .., a symbolic link leading out
        for t, args in ((STAT, ("../outside/secret",)), (STAT, ("/../../etc/passwd",)),
                        (OPEN, ("/link/secret", F_READ, NO_ATTRS)), (OPENDIR, ("link",)),
                        (REALPATH, ("..",)), (MKDIR, ("../made", NO_ATTRS)),
                        (OPEN, ("link/new", F_WRITE | F_CREAT | F_TRUNC, NO_ATTRS))):
            code, msg = r.status(t, *args)
            assert code == PERMISSION_DENIED, (t, args, code, msg)
            assert msg
            usable()
        assert not os.path.exists(tmp_path / "made") and not os.path.exists(outside / "new")
        # the listing does not show the link
        h = r.handle(OPENDIR, "/")
        rt, body = r.request(READDIR, h)
        assert rt == 104 and b"link" not in body and b"full" in body
        assert r.status(READDIR, h)[0] == EOF
        assert r.status(CLOSE, h)[0] == OK
        # missing files
        for t, args in ((STAT, ("nope",)), (OPEN, ("nope", F_READ, NO_ATTRS)), (REMOVE, ("nope",)),
                        (RMDIR, ("nope",)), (OPENDIR, ("nope",)), (RENAME, ("nope", "other")),
                        (OPEN, ("nodir/f", F_WRITE | F_CREAT | F_TRUNC, NO_ATTRS))):
            code, msg = r.status(t, *args)
            assert code == NO_SUCH_FILE, (t, args, code, msg)
            usable()
        # a folder that is not empty
        code, msg = r.status(RMDIR, "full")
        assert (code, msg) == (FAILURE, "folder not empty")
        assert os.path.exists(os.path.join(root, "full", "x"))
        code, msg = r.status(REMOVE, "full")
        assert code == FAILURE and "folder" in msg
        # rename onto an existing file: refused by RENAME, done by posix-rename
        code, msg = r.status(MKDIR, "full/d", NO_ATTRS)
        assert code == OK
        with open(os.path.join(root, "y"), "wb") as f:
            f.write(b"y")
        assert r.status(RENAME, "y", "full/x")[0] == FAILURE
        assert r.status(EXTENDED, "posix-rename@openssh.com", "y", "full/x") == (OK, "ok")
        assert open(os.path.join(root, "full", "x"), "rb").read() == b"y"
        # unknown requests and extensions
        assert r.status(READLINK, "full/x")[0] == OP_UNSUPPORTED
        assert r.status(EXTENDED, "nothing@example.com")[0] == OP_UNSUPPORTED
        assert r.status(CLOSE, b"no-such-handle")[0] == FAILURE
        usable()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_open_flags_and_extensions(ussh_server, tmp_path, runtime):
    srv, root = start(ussh_server, tmp_path, runtime)
    path = os.path.join(root, "f")
    with paramiko_client(srv) as c:
        r = RawSftp(c.get_transport())
        h = r.handle(OPEN, "f", F_WRITE | F_CREAT | F_EXCL, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 0), b"hello") == (OK, "ok")
        assert r.status(EXTENDED, "fsync@openssh.com", h) == (OK, "ok")
        rt, body = r.request(FSTAT, h)
        assert rt == 105 and body[4:12] == (5).to_bytes(8, "big")
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"hello"
        assert r.status(OPEN, "f", F_WRITE | F_CREAT | F_EXCL, NO_ATTRS)[0] == FAILURE
        h = r.handle(OPEN, "f", F_WRITE | F_APPEND, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 5), b" world")[0] == OK
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"hello world"
        h = r.handle(OPEN, "f", F_READ | F_WRITE, NO_ATTRS)  # in place, no truncation
        assert r.status(WRITE, h, ("q", 0), b"J")[0] == OK
        rt, body = r.request(READ, h, ("q", 6), 100)
        assert rt == 103 and body == (5).to_bytes(4, "big") + b"world"
        assert r.status(READ, h, ("q", 11), 100)[0] == EOF
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"Jello world"
        # a whole-file upload: the old content stays until CLOSE
        h = r.handle(OPEN, "f", F_WRITE | F_CREAT | F_TRUNC, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 0), b"new")[0] == OK
        assert open(path, "rb").read() == b"Jello world"
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"new"
        assert leftovers(root) == []
        # without TRUNC (OpenSSH's scp): the old file with the writes applied, still only at CLOSE
        with open(path, "wb") as f:
            f.write(b"0123456789")
        h = r.handle(OPEN, "f", F_WRITE | F_CREAT, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 0), b"ab")[0] == OK
        assert open(path, "rb").read() == b"0123456789"
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"ab23456789"
        h = r.handle(OPEN, "f", F_WRITE | F_CREAT, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 0), b"AB")[0] == OK
        assert r.status(WRITE, h, ("q", 5), b"X")[0] == OK  # out of order
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"AB234X6789"
        h = r.handle(OPEN, "f", F_WRITE | F_CREAT, NO_ATTRS)
        assert r.status(WRITE, h, ("q", 0), b"xyz")[0] == OK
        assert r.status(FSETSTAT, h, 1, ("q", 3))[0] == OK  # what scp does at the end
        assert r.status(CLOSE, h)[0] == OK
        assert open(path, "rb").read() == b"xyz"
        assert leftovers(root) == []
        rt, body = r.request(EXTENDED, "statvfs@openssh.com", "/")
        assert rt == 201 and len(body) == 88
        st = os.statvfs(root)
        assert int.from_bytes(body[16:24], "big") == st.f_blocks
        assert r.status(OPEN, "/", F_READ, NO_ATTRS)[0] == FAILURE


def test_full_filesystem(ussh_server, tmp_path):
    """A write that fails for want of space: FAILURE, the old file intact, no temporary file left.
    The full filesystem is a real one: a 64 KB tmpfs mounted inside the root folder (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    root = tmp_path / "root"
    small = root / "small"
    small.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    servers = []
    try:
        (small / "keep").write_bytes(b"k" * 10000)
        for runtime in RUNTIMES:
            srv, _ = start(ussh_server, tmp_path, runtime, str(root))
            servers.append(srv)
            with paramiko_client(srv) as c:
                r = RawSftp(c.get_transport())
                h = r.handle(OPEN, "small/keep", F_WRITE | F_CREAT | F_TRUNC, NO_ATTRS)
                codes = []
                for i in range(8):  # 256 KB into 64 KB
                    codes.append(r.status(WRITE, h, ("q", i * 32768), os.urandom(32768)))
                codes.append(r.status(CLOSE, h))
                failed = [x for x in codes if x[0] != OK]
                assert failed and failed[0] == (FAILURE, "no space left on device"), codes
                assert codes[-1][0] == FAILURE
                assert (small / "keep").read_bytes() == b"k" * 10000
                assert sorted(os.listdir(small)) == ["keep"]
                assert r.request(STAT, "small/keep")[0] == 105  # still usable
            srv.stop()
        assert leftovers(str(root)) == []
    finally:
        for s in servers:
            s.stop()  # nothing may keep the mount busy
        subprocess.run(["umount", str(small)], check=True)


_CUT_CLIENT = textwrap.dedent("""
    import os, sys, time, paramiko
    port, key = int(sys.argv[1]), sys.argv[2]
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port, username="root", key_filename=key, look_for_keys=False,
              allow_agent=False, timeout=10)
    s = c.open_sftp()
    f = s.open("main.py", "wb")
    for i in range(16):
        f.write(b"B" * 32768)   # half of a 1 MiB file, each write acknowledged
    print("half", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cut_upload_keeps_the_old_file(ussh_server, tmp_path, runtime):
    root = str(tmp_path / "root")
    os.makedirs(root)
    old = os.urandom((1 << 20) + 7)
    target = os.path.join(root, "main.py")
    with open(target, "wb") as f:
        f.write(old)
    srv, _ = start(ussh_server, tmp_path, runtime, root)
    script = tmp_path / "cut.py"
    script.write_text(_CUT_CLIENT)
    p = subprocess.Popen([sys.executable, str(script), str(srv.port), srv.client_key],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "half\n", p.stderr.read()
        assert open(target, "rb").read() == old  # during the upload
        assert len(leftovers(root)) == 2  # the temporary file and the journal
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    assert open(target, "rb").read() == old  # after the cut
    with paramiko_sftp(srv) as s:  # the server still serves
        assert s.stat("main.py").st_size == len(old)
    srv.stop()
    srv2, _ = start(ussh_server, tmp_path, runtime, root)
    with paramiko_sftp(srv2) as s:
        assert s.listdir(".") == ["main.py"]
    assert leftovers(root) == []
    assert open(target, "rb").read() == old


@pytest.mark.parametrize("runtime", ("unix", "cpython"))
def test_subsystem_refused_without_its_module(runtime):
    out = runtimes.run(runtime, textwrap.dedent("""
        from ussh import connection, plugins

        class Conn:  # can_start uses the config's registry only
            class cfg:
                reg = plugins.Registry()

        Conn.cfg.reg.subsystem(b"sftp", "ussh.sftp")
        Conn.cfg.reg.subsystem(b"gone", "ussh.no_such_module")
        can = connection.Connection.can_start
        print(can(Conn, b"subsystem", b"gone"), can(Conn, b"subsystem", b"sftp"),
              can(Conn, b"subsystem", b"other"))
    """))
    assert out.split() == ["False", "True", "False"]


def test_cleanup_removes_only_temporary_names(tmp_path):
    """The journal lives where clients can write: the start-up cleanup removes only names of the
    temporary-file pattern, inside the root folder."""
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    for runtime in RUNTIMES:
        for n in ("main.py", ".main.py.ussh3~", "d/.x.ussh1~"):
            (root / n).write_bytes(b"x")
        (tmp_path / ".out.ussh1~").write_bytes(b"x")
        (root / ".ussh-uploads").write_text("/main.py\n/.main.py.ussh3~\n/d/.x.ussh1~\n/../.out.ussh1~\n")
        out = runtimes.run(runtime, textwrap.dedent("""
            from ussh import fs
            fs.cleanup(%r)
            print("done")
        """ % str(root)))
        assert out.split() == ["done"]
        assert sorted(os.listdir(root)) == ["d", "main.py"]
        assert os.listdir(root / "d") == []
        assert (tmp_path / ".out.ussh1~").exists()
