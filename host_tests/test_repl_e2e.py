"""The REPL as a person meets it over SSH (issue 15's parity part): what imported modules
print reaches the client, help() and micropython.mem_info() too, non-ASCII typed at an
input() prompt, and a real terminal (tmux running the stock ssh client) showing auto-indent,
Tab completion and help() output. Against ussh on the unix port (the virtual board) and CPython."""
import os
import shutil
import subprocess
import time

import pexpect
import pytest

RUNTIMES = ("unix", "cpython")


@pytest.fixture(params=RUNTIMES)
def srv(request, ussh_server):
    return ussh_server(runtime=request.param)


def test_print_and_input_of_an_imported_module_reach_the_client(srv, tmp_path):
    mod = "chatty_%d" % os.getpid()
    (tmp_path / (mod + ".py")).write_text(
        "print('hello from the module')\n"
        "def ask():\n"
        "    return input('name? ')\n")
    cmd = "import sys\nsys.path.insert(0, %r)\nimport %s\nprint(%s.ask().upper())" % (str(tmp_path), mod, mod)
    p = srv.ssh(cmd, input="bob\n")
    assert p.returncode == 0, p.stderr + srv.log()
    assert p.stdout == "hello from the module\nname? BOB\n"
    assert "hello from the module" not in srv.log()  # not on the server's console


def test_help_and_mem_info_reach_the_client(srv):
    p = srv.ssh("help(len)")
    assert p.returncode == 0, p.stderr + srv.log()
    assert "function" in p.stdout
    if srv.name.endswith("unix"):
        p = srv.ssh("help()\nimport micropython\nmicropython.mem_info()")
        assert p.returncode == 0, p.stderr + srv.log()
        assert "Welcome to MicroPython" in p.stdout and "GC: total: " in p.stdout
        assert "Welcome to MicroPython" not in srv.log()


def test_non_ascii_typed_at_input_prompt(srv):
    argv = srv.ssh_argv("")[:-1]
    child = pexpect.spawn(argv[0], ["-tt"] + argv[1:], timeout=20, encoding="utf-8")
    try:
        child.expect(">>> ")
        child.send("s = input('? ')\r")
        child.expect(r"\? ")
        child.send("h\u00e9llo \u20ac\r")
        child.expect(">>> ")
        child.send("print(len(s), s == 'h\\u00e9llo \\u20ac')\r")
        child.expect("7 True\r\n>>> ")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "UnicodeError" not in child.before
    assert child.exitstatus == 0, srv.log()


class Tmux:
    """A tmux session of its own (own socket) running one command; keys in, screen out."""

    def __init__(self, argv, tmp):
        self.sock = str(tmp / "tmux.sock")
        self.run("new-session", "-d", "-x", "100", "-y", "40", "-s", "t", " ".join(_q(a) for a in argv))

    def run(self, *a):
        return subprocess.run(["tmux", "-S", self.sock] + list(a), capture_output=True, text=True,
                              timeout=20, check=True).stdout

    def keys(self, *k):
        self.run("send-keys", "-t", "t", *k)

    def screen(self):
        # tmux drops the spaces that end a line: so do the texts looked for here
        return self.run("capture-pane", "-p", "-S", "-500", "-t", "t")

    def wait_for(self, text, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.screen()
            if text.rstrip(" ") in s:
                return s
            time.sleep(0.1)
        raise AssertionError("%r not on the screen:\n%s" % (text, self.screen()))

    def kill(self):
        # the server of this socket, and with it the ssh client it runs
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True, timeout=20)


def _q(a):
    return "'" + a.replace("'", "'\\''") + "'"


def test_tmux_terminal_auto_indent_tab_help(srv, tmp_path):
    assert shutil.which("tmux"), "tmux is installed by make setup (APT_PACKAGES)"
    argv = srv.ssh_argv("")[:-1]
    t = Tmux([argv[0], "-tt"] + argv[1:], tmp_path)
    try:
        t.wait_for(">>> ")
        t.keys("for i in range(3):", "Enter")
        t.wait_for("...     ")
        t.keys("print(i * 11)", "Enter")
        t.keys("BSpace", "Enter")
        s = t.wait_for("22\n>>>")
        assert ">>> for i in range(3):\n...     print(i * 11)\n...\n0\n11\n22\n>>>" in s
        t.keys("longish_name = 5", "Enter")
        t.keys("longi", "Tab")
        t.wait_for(">>> longish_name")
        t.keys(" * 2", "Enter")
        s = t.wait_for("10\n>>>")
        t.keys("help(longish_name)", "Enter")
        s = t.wait_for("help(longish_name)\n")
        end = time.monotonic() + 20
        while not s.split("help(longish_name)\n", 1)[1].rstrip().endswith(">>>") and time.monotonic() < end:
            time.sleep(0.1)
            s = t.screen()
        after = s.split("help(longish_name)\n", 1)[1]
        assert "int" in after  # help's text arrived in the terminal, before the next prompt
        t.keys("C-d")
    finally:
        t.kill()
