"""The fleet recipe (README "A fleet"): fleet/inventory.ini with Ansible's raw module and
fleet/pssh_fleet.py (parallel-ssh) run a command on two virtual boards (ussh on the MicroPython unix
port) at once."""
import os
import re
import subprocess
import sys

import pytest

from sshd_fixtures import Lab
from test_client import known_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fleet"))
import pssh_fleet  # noqa: E402

pytestmark = pytest.mark.timeout(180)
ANSIBLE = os.path.join(ROOT, ".venv", "bin", "ansible")


@pytest.fixture
def two_boards():
    with Lab(prefix="ussh-fleet-") as lab:
        boards = [lab.start("ussh", runtime="unix"), lab.start("ussh", runtime="unix")]
        known = os.path.join(lab.dir, "known_hosts")
        with open(known, "w") as f:
            f.write("".join(known_line(b) for b in boards))
        yield lab, boards, known


def test_parallel_ssh_script_runs_on_both_boards(two_boards):
    lab, boards, _ = two_boards
    targets = ["127.0.0.1:%d" % b.port for b in boards]
    rows = pssh_fleet.run(targets, "import sys; print(sys.implementation.name, 6*7)", key=lab.client_key)
    assert [(t, s, o.strip()) for t, s, o in rows] == [(t, 0, "micropython 42") for t in targets], rows
    # the command line: one line per board, exit status 1 when a board fails
    p = subprocess.run([sys.executable, os.path.join(ROOT, "fleet", "pssh_fleet.py"), "--key", lab.client_key]
                       + targets + ["--", "raise ValueError('on purpose')"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    for t in targets:
        assert re.search(r"^%s exit=1 \| .*ValueError: on purpose" % re.escape(t), p.stdout, re.M), p.stdout
    for b in boards:
        assert 'exec "raise ValueError' in b.log()


def test_ansible_raw_with_the_shipped_inventory(two_boards, tmp_path):
    lab, boards, known = two_boards
    # fleet/inventory.ini with this lab's boards, key and known_hosts put in
    with open(os.path.join(ROOT, "fleet", "inventory.ini")) as f:
        text = f.read()
    hosts = "".join("board%d ansible_host=127.0.0.1 ansible_port=%d\n" % (i + 1, b.port) for i, b in enumerate(boards))
    text = re.sub(r"(?m)^board1 .*\nboard2 .*\n", hosts, text)
    text = re.sub(r"(?m)^ansible_port=22\n", "", text)
    text = text.replace("~/.ssh/id_ed25519", lab.client_key)
    text = text.replace("-o StrictHostKeyChecking=yes", "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + known)
    inv = str(tmp_path / "inventory.ini")
    with open(inv, "w") as f:
        f.write(text)
    env = dict(os.environ, HOME=str(tmp_path), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))  # no ansible.cfg from elsewhere
    open(env["ANSIBLE_CONFIG"], "w").close()
    p = subprocess.run([ANSIBLE, "boards", "-i", inv, "-m", "raw", "-a", "print(6*7)", "-f", "2"],
                       capture_output=True, text=True, timeout=150, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("board1", "board2"):
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\n42\s*$" % name, p.stdout, re.M), p.stdout
    for b in boards:
        assert "exec 'print(6*7)'" in b.log()
    # strict checking is on: a board whose key is not in known_hosts is refused
    with open(known, "w") as f:
        f.write(known_line(boards[0]))
    p = subprocess.run([ANSIBLE, "boards", "-i", inv, "-m", "raw", "-a", "print(1)", "-f", "2"],
                       capture_output=True, text=True, timeout=150, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode != 0 and "board2 | UNREACHABLE" in p.stdout and "board1 | CHANGED" in p.stdout, p.stdout
