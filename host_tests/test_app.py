"""App updates (ussh.app, ussh.apppush, tools/push.py): the state file's one-step switch under a
power cut at every file operation (CPython, with the file operations cut short), and on the
virtual board (the MicroPython unix port; a reset is a process restart): a good update commits,
an app that raises at import, crashes or never confirms rolls back, a reset on probation rolls
back, a board killed in the middle of a push runs the old version intact, an unchanged folder
sends nothing, rollback by hand, SSH answering beside a failing app."""
import builtins
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "lib"))
import push as push_tool  # noqa: E402
import vboard  # noqa: E402
from appboards import write_app  # noqa: E402
from peers import free_port, keygen  # noqa: E402
from ussh import app, apppush, appslot  # noqa: E402

PUSH = os.path.join(ROOT, "tools", "push.py")


V1 = {"main.py": "from helpers import util\nprint('app v1', util.N)\n", "helpers/util.py": "N = 1\n",
      "data.txt": "same in every version\n"}
V2 = {"main.py": "from helpers import util\nprint('app v2', util.N)\n", "helpers/util.py": "N = 2\n",
      "data.txt": "same in every version\n", "extra.py": "X = 2\n"}


# --- the state file and the commit, on CPython: a power cut at every file operation ---


class PowerCut(BaseException):
    pass


class Cutter:
    """Counts the file operations of appslot/apppush (open for writing, write, rename, remove,
    mkdir, rmdir) and cuts the power at operation number `at`: a write then keeps half its data."""

    def __init__(self, monkeypatch, at):
        self.n, self.at = 0, at
        real_open = builtins.open
        cut = self

        class F:
            def __init__(self, f):
                self.f = f

            def write(self, b):
                cut.step(lambda: self.f.write(b[: len(b) // 2]))
                return self.f.write(b)

            def __getattr__(self, n):
                return getattr(self.f, n)

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self.f.close()

        def fopen(path, mode="r", *a, **k):
            if "w" in mode or "a" in mode:
                cut.step()
                return F(real_open(path, mode, *a, **k))
            return real_open(path, mode, *a, **k)

        for mod in (appslot, apppush):
            monkeypatch.setattr(mod, "open", fopen, raising=False)
        for name in ("rename", "remove", "mkdir", "rmdir"):
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self.wrap(real))

    def wrap(self, real):
        def f(*a):
            self.step()
            return real(*a)

        return f

    def step(self, partial=None):
        self.n += 1
        if self.n == self.at:
            if partial:
                partial()
            raise PowerCut()


def push_in_process(d, files_text, cfg):
    """stage + writing the needed files (what SFTP does) + commit, by direct calls; the version."""
    files = {p: appslot._text_sum(t) for p, t in files_text.items()}
    out = []
    real_say = appslot.say
    appslot.say = out.append
    try:
        apppush.stage(files, cfg)
        r = eval(out[-1][len("USSH-PUSH "):])
        assert "error" not in r, r
        if r.get("same"):
            return r["version"]
        top = d + r["slot"][len("/app"):]
        for p in r["need"]:
            os.makedirs(os.path.dirname(top + "/" + p), exist_ok=True)
            with open(top + "/" + p, "w") as f:
                f.write(files_text[p])
        apppush.commit(files, r["version"], cfg)
        r = eval(out[-1][len("USSH-PUSH "):])
        assert "error" not in r, r
        return r["version"]
    finally:
        appslot.say = real_say


def content(top):
    out = {}
    for p in appslot.walk(top):
        with open(top + "/" + p) as f:
            out[p] = f.read()
    return out


def test_state_file_survives_a_torn_write_and_fat_renames(tmp_path, monkeypatch):
    d = str(tmp_path)
    st = appslot.blank()
    st.update(active="a", version=3, rollback="version 4 -> version 3: raised at import: E: x y")
    appslot.write_state(d, st)
    assert appslot.read_state(d) == st
    # a torn state.new beside a good state: the good one
    with open(d + "/state.new", "w") as f:
        f.write("active b\nversion 9\n")
    assert appslot.read_state(d)["version"] == 3
    # an altered state (a flipped byte) and no state.new: none
    os.remove(d + "/state.new")
    text = open(d + "/state").read().replace("version 3", "version 5")
    with open(d + "/state", "w") as f:
        f.write(text)
    assert appslot.read_state(d) is None
    # FAT: no rename over a file; cut between the remove and the rename: state.new is complete
    appslot.write_state(d, st)
    real_rename = os.rename
    calls = []

    def fat_rename(a, b):
        calls.append(a)
        if os.path.exists(b):
            raise OSError(17, "exists")
        if len(calls) == 2:
            raise PowerCut()
        real_rename(a, b)

    monkeypatch.setattr(os, "rename", fat_rename)
    st2 = dict(st, version=4)
    with pytest.raises(PowerCut):
        appslot.write_state(d, st2)
    assert not os.path.exists(d + "/state") and appslot.read_state(d) == st2


CFG = {"app_dir": "", "root": "/", "app_healthy_after": 1, "app_confirm_timeout": 5}


def test_power_cut_at_every_step_of_a_push_leaves_old_or_new(tmp_path, monkeypatch):
    # push v1, confirm it; then push v2 with the power cut at step 1, 2, ... until a push gets
    # through: after each cut the state names v1 with its files intact or v2 with its files
    # intact, and a push after the cut completes
    seen = set()
    at = 1
    while True:
        d = str(tmp_path / ("b%d" % at)) + "/app"
        cfg = dict(CFG, app_dir=d, root=str(tmp_path / ("b%d" % at)))
        assert push_in_process(d, V1, cfg) == 1
        st = appslot.read_state(d)
        st["confirmed"] = 1
        appslot.write_state(d, st)
        with monkeypatch.context() as m:
            cutter = Cutter(m, at)
            try:
                push_in_process(d, V2, cfg)
                done = True
            except PowerCut:
                done = False
        st = appslot.read_state(d)
        assert st is not None, "no valid state after a cut at step %d" % at
        want = {1: V1, 2: V2}[st["version"]]
        assert content(d + "/" + st["active"]) == want, "step %d: version %d's files are not intact" % (
            at, st["version"])
        seen.add(st["version"])
        if done:
            assert st["version"] == 2
            break
        if st["version"] == 1:  # cut before the switch: a new push gets v2 through
            assert push_in_process(d, V2, cfg) == 2
        at += 1
        assert at < 200, "the push never completed"
    # every cut before the last step left version 1; the push that got through, version 2
    assert seen == {1, 2} and at > 10


def test_push_path_checks_refuse_escapes(tmp_path):
    d = str(tmp_path / "app")
    cfg = dict(CFG, app_dir=d, root=str(tmp_path))
    out = []
    real_say = appslot.say
    appslot.say = out.append
    try:
        for files in ({"../x.py": "0" * 64, "main.py": "0" * 64}, {"/etc/x": "0" * 64, "main.py": "0" * 64},
                      {"lib.py": "0" * 64}, {}):
            apppush.stage(files, cfg)
            assert "'error'" in out[-1], out[-1]
        apppush.stage({"main.py": "0" * 64}, dict(cfg, root=str(tmp_path / "elsewhere")))
        assert "outside the SFTP root" in out[-1]
    finally:
        appslot.say = real_say
    assert push_tool.changes({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == (["c"], ["b"], ["a"])


# --- the virtual board ---


class Board:
    """A virtual board folder (boards/unix/main.py, this checkout's lib, ussh.cfg with app
    settings) whose main.py runs as a process: boot() is a reset, kill() a power cut."""

    def __init__(self, tmp_path, **cfg):
        self.dir = str(tmp_path / "board")
        os.makedirs(self.dir)
        os.symlink(os.path.join(ROOT, "lib"), os.path.join(self.dir, "lib"))
        with open(os.path.join(ROOT, "boards", "unix", "main.py")) as f, open(self.dir + "/main.py", "w") as g:
            g.write(f.read())
        self.key = keygen(str(tmp_path / "id"))
        host = keygen(self.dir + "/ssh_host_ed25519_key", "board")
        with open(self.key + ".pub") as f, open(self.dir + "/authorized_keys", "w") as g:
            g.write(f.read())
        self.port = free_port()
        settings = dict(bind="127.0.0.1", port=self.port, host_key="ssh_host_ed25519_key",
                        authorized_keys="authorized_keys", root=".", max_connections=4, app_healthy_after=1)
        settings.update(cfg)
        with open(self.dir + "/ussh.cfg", "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in settings.items()))
        self.known = str(tmp_path / "known_hosts")
        with open(host + ".pub") as f, open(self.known, "w") as g:
            g.write("[127.0.0.1]:%d %s\n" % (self.port, " ".join(f.read().split()[:2])))
        self.proc = None
        self.boots = 0
        self.tmp = tmp_path

    def boot(self):
        """A reset: the board's main.py again; waits until SSH listens."""
        self.kill()
        self.boots += 1
        self.log = str(self.tmp / ("console%d.log" % self.boots))
        self.proc = subprocess.Popen(vboard.boot_argv(self.dir), cwd=self.dir, env=vboard.env(self.dir),
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_for("listening on")
        return self

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def console(self):
        with open(self.log) as f:
            return f.read()

    def wait_for(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.console())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("board never printed %r; it printed:\n%s" % (pattern, self.console()))

    def ssh(self, cmd):
        r = subprocess.run(["ssh", "-F", "/dev/null", "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                            "-o", "UserKnownHostsFile=" + self.known, "-p", str(self.port), "127.0.0.1", cmd],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def push_argv(self, folder):
        return [sys.executable, PUSH, folder, "127.0.0.1:%d" % self.port, "-i", self.key, "--known-hosts", self.known]

    def push(self, folder, ok=True):
        r = subprocess.run(self.push_argv(folder), capture_output=True, text=True, timeout=120)
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        return r.stdout

    def status(self):
        out = self.ssh("import ussh.app; ussh.app.status()")
        return {k: v.strip() for k, v in re.findall(r"^(\w+): +(.*)$", out, re.M)}

    def files(self, slot):
        return content(self.dir + "/app/" + slot)


@pytest.fixture
def board(tmp_path):
    b = Board(tmp_path)
    yield b
    b.kill()


def test_good_update_commits_and_an_unchanged_push_sends_nothing(board, tmp_path):
    board.boot()
    v1 = write_app(str(tmp_path / "v1"), V1)
    out = board.push(v1)
    assert "+ main.py" in out and "+ helpers/util.py" in out and "committed version 1" in out, out
    assert "sent 3 file(s)" in out
    board.boot()
    board.wait_for("app v1 1")
    board.wait_for("app version 1 confirmed")
    v2 = write_app(str(tmp_path / "v2"), V2)
    out = board.push(v2)
    assert re.search(r"^  \+ extra\.py$", out, re.M) and re.search(r"^  ~ main\.py$", out, re.M), out
    assert "~ data.txt" not in out and "- " not in out
    # main.py, util.py and extra.py changed; data.txt was copied on the board, not sent
    assert "sent 3 file(s)" in out and "1 already on the board" in out and "committed version 2" in out, out
    st = board.status()
    assert st["active"] == "version 2 in app/b, on probation" and st["previous"] == "version 1 in app/a"
    board.boot()
    board.wait_for("app v2 2")
    board.wait_for("app version 2 confirmed")
    assert board.files("b") == V2 and board.files("a") == V1
    # the same folder again: nothing sent, no SFTP session, no new version
    before = open(board.dir + "/app/state").read()
    out = board.push(v2)
    assert "nothing changed" in out and "keeps version 2 (0 files sent)" in out, out
    assert open(board.dir + "/app/state").read() == before
    text = board.console()
    assert "apppush.stage" in text and "apppush.commit" not in text
    # this board process (booted after the last push) never started an SFTP session
    assert board.ssh("import sys; print('ussh.sftp' in sys.modules)").strip() == "False"
    # a file removed
    os.remove(v2 + "/extra.py")
    out = board.push(v2)
    assert re.search(r"^  - extra\.py$", out, re.M) and "sent 0 file(s)" in out and "version 3" in out, out
    board.boot()
    board.wait_for("app version 3 confirmed")
    assert board.files("a") == {k: v for k, v in V2.items() if k != "extra.py"}


@pytest.mark.parametrize("bad,reason", [
    ("raise ValueError('sensor not found')\n", r"raised at import: ValueError: sensor not found"),
    ("def main(:\n", r"raised at import: SyntaxError"),
    ("import sys\nsys.exit(3)\n", r"raised at import: SystemExit: 3"),
    ("import asyncio\nasync def main():\n    await asyncio.sleep(0.1)\n    raise SystemExit\n",
     r"crashed: SystemExit"),
    ("import asyncio\nasync def main():\n    await asyncio.sleep(0.2)\n    raise OSError('bus fault')\n",
     r"crashed: OSError: bus fault"),
    ("import asyncio\nasync def t():\n    raise KeyError('k')\nasyncio.create_task(t())\n",
     r"crashed: KeyError: k"),
])
def test_failing_update_rolls_back_at_the_next_boot(board, tmp_path, bad, reason):
    board.boot()
    board.push(write_app(str(tmp_path / "v1"), V1))
    board.boot()
    board.wait_for("app version 1 confirmed")
    v2 = dict(V2, **{"main.py": "print('app v2 starting')\n" + bad})
    board.push(write_app(str(tmp_path / "v2"), v2))
    board.boot()
    board.wait_for(r"app version 2 -> version 1: " + reason)
    assert board.ssh("print(6*7)").strip() == "42"  # SSH answers beside the failed app
    st = board.status()
    assert st["active"] == "version 1 in app/a" and st["failed"] == "version 2 kept in app/b"
    assert re.match("version 2 -> version 1: " + reason, st["rollback"]), st
    board.boot()
    board.wait_for("app v1 1")
    assert "app v2" not in board.console()
    assert board.files("b") == v2  # kept for inspection
    assert board.files("a") == V1


def test_never_confirming_app_rolls_back(tmp_path):
    board = Board(tmp_path, app_healthy_after=0, app_confirm_timeout=2)
    try:
        board.boot()
        v1 = dict(V1, **{"main.py": V1["main.py"] + "import ussh.app\nussh.app.confirm()\n"})
        board.push(write_app(str(tmp_path / "v1"), v1))
        board.boot()
        board.wait_for("app version 1 confirmed")
        board.push(write_app(str(tmp_path / "v2"), V2))  # runs fine, but never calls confirm()
        board.boot()
        board.wait_for("app v2 2")
        board.wait_for(r"app version 2 -> version 1: not confirmed within 2 s")
        board.boot()
        board.wait_for("app v1 1")
    finally:
        board.kill()


def test_reset_on_probation_rolls_back_and_rollback_by_hand(tmp_path):
    board = Board(tmp_path, app_healthy_after=3600)
    try:
        board.boot()
        board.push(write_app(str(tmp_path / "v1"), V1))
        # version 1 on probation; confirmed by hand (an exec on the board)
        board.ssh("import ussh.app; ussh.app.status()")
        st = appslot.read_state(board.dir + "/app")
        st["confirmed"] = 1
        appslot.write_state(board.dir + "/app", st)
        out = board.push(write_app(str(tmp_path / "v2"), V2))
        assert "committed version 2" in out
        refused = board.push(str(tmp_path / "v1"), ok=False)  # not on top of one on probation
        assert "on probation" in refused
        board.boot()
        board.wait_for("app v2 2")  # on probation for an hour: the power goes first
        board.boot()
        board.wait_for("app version 2 -> version 1: reset before it confirmed")
        board.wait_for("app v1 1")
        # by hand: v3 pushed and confirmed, then rolled back to v1
        board.push(write_app(str(tmp_path / "v3"), dict(V2, **{"main.py": "print('app v3')\n"})))
        board.boot()
        board.wait_for("app v3")
        board.ssh("import ussh.app; ussh.app.confirm()")
        out = board.ssh("import ussh.app; ussh.app.rollback()")
        assert "version 3 -> version 1: rolled back by hand" in out and "reset the board to run version 1" in out
        out = board.ssh("import ussh.app\ntry:\n    ussh.app.rollback()\nexcept ussh.app.AppError as e:\n    print(e)")
        assert "no previous version" in out
        board.boot()
        board.wait_for("app v1 1")
    finally:
        board.kill()


def test_board_killed_in_the_middle_of_a_push_runs_the_old_version(board, tmp_path):
    board.boot()
    board.push(write_app(str(tmp_path / "v1"), V1))
    board.boot()
    board.wait_for("app version 1 confirmed")
    big = dict(V2, **{"big.bin": "x" * (8 << 20)})  # 8 MiB: the upload takes a while
    v2 = write_app(str(tmp_path / "v2"), big)
    p = subprocess.Popen(board.push_argv(v2), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # the power goes while big.bin is on its way (its temporary file is growing)
        deadline = time.monotonic() + 60
        tmp = None
        while time.monotonic() < deadline and tmp is None:
            for name in os.listdir(board.dir + "/app/b") if os.path.isdir(board.dir + "/app/b") else ():
                if name.startswith(".big.bin.ussh") and os.path.getsize(board.dir + "/app/b/" + name) > 0:
                    tmp = name
            time.sleep(0.005)
        assert tmp, "the upload never started"
        board.kill()
        out = p.communicate(timeout=60)[0]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert p.returncode != 0 and "committed" not in out, out
    board.boot()
    board.wait_for("app v1 1")
    st = board.status()
    assert st["active"] == "version 1 in app/a" and st["rollback"] == "none"
    assert board.files("a") == V1
    # the next push completes
    out = board.push(v2)
    assert "committed version 2" in out, out
    board.boot()
    board.wait_for("app v2 2")
    assert board.files("b") == big


def test_ssh_stays_up_while_the_app_hogs_and_fails(board, tmp_path):
    # an app that keeps its tasks busy and crashes after confirming: no rollback, SSH answers
    hog = {"main.py": "import asyncio, ussh.app\nasync def main():\n    ussh.app.confirm()\n"
                      "    for i in range(50):\n        await asyncio.sleep(0.01)\n    raise RuntimeError('late')\n"}
    board.boot()
    board.push(write_app(str(tmp_path / "v1"), hog))
    board.boot()
    board.wait_for("app version 1 confirmed")
    board.wait_for(r"app version 1: crashed: RuntimeError: late \(confirmed before: no rollback\)")
    assert board.ssh("print(6*7)").strip() == "42"
    st = board.status()
    assert st["active"] == "version 1 in app/a" and "failed: crashed: RuntimeError: late" in st["running"]


def test_first_version_that_never_confirms_leaves_no_app(tmp_path):
    d = str(tmp_path / "app")
    cfg = dict(CFG, app_dir=d, root=str(tmp_path))
    assert push_in_process(d, V1, cfg) == 1
    logs = []
    assert app.boot(cfg, logs.append) == d + "/a"  # on probation: one boot
    assert appslot.read_state(d)["boots"] == 1
    assert app.boot(cfg, logs.append) is None  # reset before it confirmed: nothing to go back to
    st = appslot.read_state(d)
    assert (st["active"], st["failed"], st["failed_version"]) == ("", "a", 1)
    assert logs[-1] == "ussh: app version 1 -> no app: reset before it confirmed"
    assert content(d + "/a") == V1  # kept for inspection
    assert push_in_process(d, V2, cfg) == 2  # the next push reuses that slot
    st = appslot.read_state(d)
    assert (st["active"], st["previous"], st["failed"]) == ("a", "", "")


def test_make_push_with_a_host_of_ssh_config(board, tmp_path):
    # `make push APP=... TARGET=board`: HostName, Port and IdentityFile from ~/.ssh/config,
    # the host key from ~/.ssh/known_hosts (strict)
    home = tmp_path / "home"
    os.makedirs(home / ".ssh")
    with open(home / ".ssh" / "config", "w") as f:
        f.write("Host myboard\n    HostName 127.0.0.1\n    Port %d\n    IdentityFile %s\n" % (board.port, board.key))
    with open(board.known) as f, open(home / ".ssh" / "known_hosts", "w") as g:
        g.write(f.read())
    board.boot()
    v1 = write_app(str(tmp_path / "v1"), V1)
    r = subprocess.run(["make", "-s", "push", "APP=" + v1, "TARGET=myboard"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, HOME=str(home)))
    assert r.returncode == 0 and "committed version 1" in r.stdout, r.stdout + r.stderr
    os.remove(home / ".ssh" / "known_hosts")  # an unknown host key: refused, nothing pushed
    r = subprocess.run(["make", "-s", "push", "APP=" + v1, "TARGET=myboard"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, HOME=str(home)))
    assert r.returncode != 0 and "not found in known_hosts" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(["make", "-s", "push", "TARGET=myboard"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "APP=folder" in r.stdout
