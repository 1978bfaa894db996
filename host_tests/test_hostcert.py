"""Host certificates: ussh presents ssh-ed25519-cert-v01@openssh.com when given one (--host-cert,
host_cert in ussh.cfg, `make deploy HOST_CA=`), and stock OpenSSH 9.2 and 10.x log in with
StrictHostKeyChecking=yes and nothing but an @cert-authority line in known_hosts."""
import asyncio
import os
import re
import subprocess
import sys

import pytest

from peers import SSH10
from sshd_fixtures import keygen
from test_deploy import ROOT, boot, stop, vb, wait_for  # noqa: F401 (vb: the fixture)

sys.path.insert(0, os.path.join(ROOT, "lib"))
from ussh import client, hostcert, keyfile, keys  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def ca_line(ca, pattern="*"):
    with open(ca + ".pub") as f:
        return "@cert-authority %s %s\n" % (pattern, " ".join(f.read().split()[:2]))


def strict_ssh(exe, port, key, known, cmd):
    argv = [exe, "-F", "/dev/null", "-p", str(port), "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
            "-o", "GlobalKnownHostsFile=/dev/null", "127.0.0.1", cmd]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def host_pub(path):
    return subprocess.run(["ssh-keygen", "-y", "-f", path], capture_output=True, text=True, check=True).stdout


def test_openssh_9_and_10_trust_the_host_certificate(tmp_path, ussh_server):
    d = str(tmp_path)
    ca = keygen(d + "/ca")
    host_key = keygen(d + "/host")
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-h", "-I", "board1", "-n", "127.0.0.1", host_key + ".pub"],
                   check=True)
    srv = ussh_server(runtime="unix", extra_args=["--host-key", host_key, "--host-cert", host_key + "-cert.pub"])
    known = d + "/known_hosts"
    with open(known, "w") as f:
        f.write(ca_line(ca))
    for exe in ("ssh", SSH10):
        r = strict_ssh(exe, srv.port, srv.client_key, known, "print(6*7)")
        assert r.returncode == 0 and r.stdout == "42\n", (exe, r.stderr, srv.log())
    # another CA's line: no trust, and no prompt either (strict)
    other = keygen(d + "/other_ca")
    with open(known, "w") as f:
        f.write(ca_line(other))
    for exe in ("ssh", SSH10):
        r = strict_ssh(exe, srv.port, srv.client_key, known, "print(6*7)")
        assert r.returncode == 255 and "verification failed" in r.stderr, (exe, r.stderr)
    # a client without the CA still gets the plain key (ssh-ed25519 listed too)
    with open(known, "w") as f:
        f.write("[127.0.0.1]:%d %s" % (srv.port, host_pub(host_key)))
    r = strict_ssh("ssh", srv.port, srv.client_key, known, "print(1)")
    assert r.returncode == 0 and r.stdout == "1\n", r.stderr


def test_certificate_must_be_a_host_certificate_of_this_key(tmp_path):
    d = str(tmp_path)
    ca = keygen(d + "/ca")
    key = keygen(d + "/host")
    other = keygen(d + "/other")
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", "u", "-n", "me", key + ".pub"], check=True)  # user cert
    hk = keyfile.load(key)
    with pytest.raises(keys.KeyFileError, match="a user certificate, not a host certificate"):
        hostcert.with_cert(hk, key + "-cert.pub")
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-h", "-I", "h", other + ".pub"], check=True)
    with pytest.raises(keys.KeyFileError, match="certifies another key"):
        hostcert.with_cert(hk, other + "-cert.pub")
    with pytest.raises(keys.KeyFileError, match="cannot read"):
        hostcert.with_cert(hk, d + "/missing-cert.pub")


def test_deploy_host_ca_signs_on_the_host_and_openssh_trusts_the_board(vb, tmp_path):
    folder, port = vb
    home = str(tmp_path / "home")
    os.makedirs(home + "/.ssh", mode=0o700)
    key = keygen(home + "/.ssh/id_ed25519")
    ca = keygen(str(tmp_path / "fleet_ca"))
    from sshd_fixtures import free_port

    ssh_port = free_port()
    env = dict(os.environ, HOME=home)
    p = subprocess.run(["make", "-s", "deploy", "BOARD=unix", "PORT=" + port, "SSH_PORT=%d" % ssh_port,
                        "SSH_NAME=board", "HOST_CA=" + ca], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"^USSH-CERT-AUTHORITY (.*)$", p.stdout, re.M)
    assert m and m.group(1) == ca_line(ca).strip(), p.stdout
    # the private host key was made on the board and stayed there; the certificate came back
    with open(os.path.join(folder, "ssh_host_ed25519_key-cert.pub")) as f:
        cert = f.read()
    info = subprocess.run(["ssh-keygen", "-L", "-f", "-"], input=cert, capture_output=True, text=True).stdout
    assert "host certificate" in info and "127.0.0.1" in info and "board" in info, info
    assert "host_cert = ssh_host_ed25519_key-cert.pub" in open(os.path.join(folder, "ussh.cfg")).read()

    log = str(tmp_path / "console.log")
    b = boot(folder, log)
    try:
        wait_for(log, "listening on", b)
        assert "host certificate" in open(log).read()
        known = str(tmp_path / "known_hosts")
        with open(known, "w") as f:
            f.write(m.group(1) + "\n")
        for exe in ("ssh", SSH10):
            r = strict_ssh(exe, ssh_port, key, known, "print(6*7)")
            assert r.returncode == 0 and r.stdout == "42\n", (exe, r.stderr)

        async def via_client():  # ussh's own client trusts it the same way
            c = await client.connect("127.0.0.1", ssh_port, user="me", key=key, known_hosts=known,
                                     log=lambda m: None)
            r = await c.exec("print(7*6)")
            await c.close()
            return c.conn.algorithms[1], r

        assert asyncio.run(via_client()) == (hostcert.CERT_ALG, (0, b"42\n", b""))
    finally:
        stop(b)



def test_a_deploy_without_host_ca_keeps_the_certificate_setting():
    import argparse

    import deploy as deploy_tool  # tools/ is on sys.path (test_deploy)
    from ussh import board

    a = argparse.Namespace(wifi_ssid="", wifi_password="", board="esp32", ssh_port=22, max_connections=2,
                           password="", host_ca="ca")
    cfg = board.parse(deploy_tool.config_text(a, None))
    assert cfg["host_cert"] == "/ssh_host_ed25519_key-cert.pub"
    a.host_ca = ""
    assert board.parse(deploy_tool.config_text(a, cfg))["host_cert"] == cfg["host_cert"]
    assert board.parse(deploy_tool.config_text(a, None))["host_cert"] == ""
