"""Call home end to end: the virtual board (MicroPython unix port, ussh.start() with a ussh.cfg)
dials OpenSSH's sshd as a bastion (started here on a free port, logging in the usshpeer user) and
asks it to forward a port; stock `ssh` with ProxyJump reaches the board's REPL and runs a command
through it; the bastion is restarted and the board calls home again by itself."""
import os
import re
import shutil
import subprocess
import time

import pytest

from sshd_fixtures import Lab, free_port, keygen
from test_deploy import ROOT

pytestmark = pytest.mark.timeout(240)
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


def wait_log(path, pattern, proc, count=1, timeout=60):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        with open(path) as f:
            text = f.read()
        found = re.findall(pattern, text)
        if len(found) >= count:
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError("the board never logged %r %d times; its log:\n%s" % (pattern, count, text))


def board_folder(lab, bastion_port, remote_port, ssh_port):
    d = os.path.join(lab.dir, "board")
    os.makedirs(d)
    shutil.copy(os.path.join(ROOT, "boards", "unix", "main.py"), d)
    key = keygen(os.path.join(d, "callhome_key"), "board-callhome")
    with open(key + ".pub") as f, open(lab.authorized_keys, "a") as g:
        g.write(f.read())  # the bastion lets the board in
    with open(os.path.join(d, "authorized_keys"), "w") as f:
        f.write(lab.client_pub)  # the person's key, for the board itself
    with open(os.path.join(d, "known_hosts"), "w") as f, open(os.path.join(lab.dir, "sshd_host_ed25519.pub")) as g:
        f.write("[127.0.0.1]:%d %s\n" % (bastion_port, " ".join(g.read().split()[:2])))
    with open(os.path.join(d, "ussh.cfg"), "w") as f:
        f.write("bind = 127.0.0.1\nport = %d\nroot = .\nhost_key = ssh_host_ed25519_key\n"
                "authorized_keys = authorized_keys\n"
                "callhome = 127.0.0.1:%d\ncallhome_user = usshpeer\ncallhome_port = %d\n"
                "callhome_key = callhome_key\ncallhome_known_hosts = known_hosts\n"
                % (ssh_port, bastion_port, remote_port))
    return d


def ssh_config(lab, bastion, remote_port, board_line):
    known = os.path.join(lab.dir, "person_known_hosts")
    with open(known, "w") as f, open(bastion.host_key + ".pub") as g:
        f.write("[127.0.0.1]:%d %s\n" % (bastion.port, " ".join(g.read().split()[:2])))
        f.write("[localhost]:%d %s\n" % (remote_port, board_line))
    cfg = os.path.join(lab.dir, "ssh_config")
    common = ("    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n"
              "    StrictHostKeyChecking yes\n    BatchMode yes\n    ConnectTimeout 10\n" % (lab.client_key, known))
    with open(cfg, "w") as f:
        f.write("Host bastion\n    HostName 127.0.0.1\n    Port %d\n    User usshpeer\n%s" % (bastion.port, common))
        f.write("Host board\n    HostName localhost\n    Port %d\n    ProxyJump bastion\n%s" % (remote_port, common))
    return cfg


def ssh(cfg, *args, input=None):
    return subprocess.run(["ssh", "-F", cfg] + list(args), input=input, capture_output=True, text=True,
                          timeout=60, stdin=None if input is not None else subprocess.DEVNULL)


def test_board_calls_home_and_stock_ssh_jumps_to_it():
    with Lab() as lab:
        bastion = lab.make("sshd")
        remote_port, ssh_port = free_port(), free_port()
        folder = board_folder(lab, bastion.port, remote_port, ssh_port)
        bastion.start()
        log = os.path.join(lab.dir, "board.log")
        env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "lib") + ":.frozen")
        board = subprocess.Popen([MICROPYTHON, "main.py"], cwd=folder, env=env, stdout=open(log, "w"),
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            line = wait_log(log, r"ussh: known_hosts: \S+ (ssh-ed25519 \S+)", board)[0]
            wait_log(log, "callhome: connected to 127.0.0.1:%d as usshpeer" % bastion.port, board)
            cfg = ssh_config(lab, bastion, remote_port, line)
            r = ssh(cfg, "board", "print(6*7)")
            assert r.returncode == 0 and r.stdout == "42\n", (r.stderr, open(log).read())
            # the REPL, on a pty, through the jump
            r = ssh(cfg, "-tt", "board", input="x = 6*7\rprint(x + 1)\r\x04")
            assert r.returncode == 0 and "43" in r.stdout, (r.stdout, r.stderr)
            # the board saw both sessions come through the bastion
            assert len(wait_log(log, r"callhome: localhost:%d forwarded from" % remote_port, board, 2)) >= 2
            assert "Accepted publickey for usshpeer" in bastion.log()

            bastion.stop()  # the bastion goes away (every sshd process: the board's session too)
            wait_log(log, "callhome: connection to 127.0.0.1:%d lost" % bastion.port, board)
            # while it is down the board keeps trying, waiting longer each time
            wait_log(log, r"callhome: cannot reach 127\.0\.0\.1:%d .*again in 2 s" % bastion.port, board)
            bastion.start()
            wait_log(log, "callhome: connected to 127.0.0.1:%d" % bastion.port, board, count=2, timeout=90)
            # the stock command line: ssh -J bastion -p PORT localhost
            known = os.path.join(lab.dir, "person_known_hosts")
            r = ssh(cfg, "-i", lab.client_key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + known,
                    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-J", "bastion", "-p", str(remote_port),
                    "localhost", "import sys; print(sys.implementation.name)")
            assert r.returncode == 0 and r.stdout == "micropython\n", (r.stderr, open(log).read())
            with open(log) as f:
                print(f.read())  # the transcript (pytest -s)
        finally:
            board.kill()
            board.wait(10)


def test_callhome_settings_are_checked():
    import sys

    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh import board

    cfg = board.parse("callhome = bastion.example.com:2200\ncallhome_port = 2207\ncallhome_user = b7\n")
    assert board.callhome_address(cfg["callhome"]) == ("bastion.example.com", 2200)
    assert (cfg["callhome_port"], cfg["callhome_user"], cfg["callhome_key"]) == (2207, "b7", "")
    assert board.callhome_address("bastion") == ("bastion", 22)
    for bad, what in (("callhome = bastion:ssh\n", "callhome must be host or host:port"),
                      ("callhome = b:99999\n", "callhome must be host or host:port"),
                      ("callhome_port = 70000\n", "callhome_port must be 0 to 65535")):
        with pytest.raises(board.ConfigError, match=what):
            board.parse(bad)
