"""ussh.client against real servers on 127.0.0.1: OpenSSH sshd (Debian's, as the usshpeer user), an
asyncssh server and ussh itself: exec (stdout, stderr, exit status, stdin), SFTP put/get with
SHA-256 checks, rekeying, known_hosts refusals naming the fingerprint, @cert-authority lines, and
the client on the MicroPython unix port."""
import asyncio
import hashlib
import os
import pwd
import re
import subprocess
import sys

import pytest

import runtimes
from sshd_fixtures import Lab, keygen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))
from ussh import client, knownhosts  # noqa: E402

pytestmark = pytest.mark.timeout(120)
CERT_ALG = b"ssh-ed25519-cert-v01@openssh.com"


def known_line(srv, pub_path=None):
    if pub_path is None and not os.path.exists(srv.host_key + ".pub"):  # ussh made the key
        from ussh import keyfile

        text = keyfile.load(srv.host_key).public_line()
    else:
        with open(pub_path or srv.host_key + ".pub") as f:
            text = f.read()
    kind, b64 = text.split()[:2]
    return "[127.0.0.1]:%d %s %s\n" % (srv.port, kind, b64)


def writable_dir(lab, user):
    d = os.path.join(lab.dir, "files")
    os.makedirs(d, exist_ok=True)
    if user:
        pw = pwd.getpwnam(user)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def connect(srv, known, **kw):
    return client.connect("127.0.0.1", srv.port, user=srv.user or "me", key=srv.client_key,
                          known_hosts=known.encode(), log=lambda m: None, timeout=20, **kw)


async def exercise(srv, lab, cat="cat", fail=("sh -c 'exit 3'", 3), files=None, echo="echo hello", rdir=None,
                   **kw):
    """exec, stdin, stderr, exit status and SFTP both ways on one connection; returns notes."""
    c = await connect(srv, known_line(srv), **kw)
    try:
        status, out, err = await c.exec(echo)
        assert (status, out) == (0, b"hello\n"), (status, out, err)
        status, out, err = await c.exec(fail[0])
        assert status == fail[1], (status, out, err)
        # text in lines: ussh reads stdin as str, a line at a time
        blob = b"".join(os.urandom(32).hex().encode() + b"\n" for _ in range(4500))
        status, out, err = await c.exec(cat, stdin=blob)
        assert status == 0 and hashlib.sha256(out).digest() == hashlib.sha256(blob).digest(), (status, len(out))
        # SFTP: put, listdir, get, each checked by SHA-256
        files = files or writable_dir(lab, srv.user)
        rdir = rdir or files  # the folder as the server names it
        s = await c.sftp()
        up = os.urandom(200000) + b"end"
        await s.write_file(rdir + "/up.bin", up)
        with open(files + "/up.bin", "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(up).hexdigest()
        assert "up.bin" in await s.listdir(rdir)
        assert (await s.stat(rdir + "/up.bin"))[0] == len(up)
        down = await s.read_file(rdir + "/up.bin")
        assert hashlib.sha256(down).hexdigest() == hashlib.sha256(up).hexdigest()
        await s.close()
        return c.conn.algorithms, c.conn.kex_count
    finally:
        await c.close()


def test_client_against_openssh_sshd():
    with Lab() as lab:
        srv = lab.start("sshd")
        algs, _ = asyncio.run(exercise(srv, lab))
        assert algs == (b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"hmac-sha2-256-etm@openssh.com")
        assert "Accepted publickey for usshpeer" in srv.log()

        async def streams():
            # a channel as a stream: write, EOF, read to the end; strict KEX was agreed
            c = await connect(srv, known_line(srv))
            ch = await c.session(b"exec", b"tr a-z A-Z")
            await ch.write(b"hello\n" * 10000)
            await ch.eof()
            got = b""
            while True:
                b = await ch.read()
                if not b:
                    break
                got += b
            await ch.wait_closed()
            strict = c.conn.strict
            await c.close()
            return got, ch.exit_status, strict

        assert asyncio.run(streams()) == (b"HELLO\n" * 10000, 0, True)


def test_client_key_refused_is_said():
    with Lab() as lab:
        srv = lab.start("sshd")
        other = keygen(os.path.join(lab.dir, "not_authorized"))

        async def go():
            with pytest.raises(Exception) as e:
                await client.connect("127.0.0.1", srv.port, user=srv.user, key=other,
                                     known_hosts=known_line(srv).encode(), log=lambda m: None, timeout=20)
            return str(e.value)

        msg = asyncio.run(go())
        assert "refused" in msg and fp(other + ".pub") in msg, msg


def test_client_rekeys_with_openssh_sshd():
    # a small rekey_bytes: several exchanges during the transfers (RFC 4253 §9), data intact
    with Lab() as lab:
        srv = lab.start("sshd")
        _, kexes = asyncio.run(exercise(srv, lab, rekey_bytes=100000))
        assert kexes >= 5, kexes


def test_client_against_asyncssh():
    with Lab() as lab:
        srv = lab.start("asyncssh")
        algs, _ = asyncio.run(exercise(srv, lab, fail=("exit 5", 5)))
        assert algs[0] == b"curve25519-sha256"


def test_client_against_ussh_post_quantum():
    with Lab() as lab:
        srv = lab.start("ussh", runtime="cpython", extra_args=["--root", lab.dir])
        algs, _ = asyncio.run(exercise(srv, lab, cat="import sys; sys.stdout.write(sys.stdin.read())",
                                       fail=("raise ValueError", 1), files=lab.dir, rdir="/",
                                       echo="print('hello')"))
        assert algs[0] == b"mlkem768x25519-sha256"


async def refused(srv, known):
    with pytest.raises(knownhosts.HostKeyError) as e:
        await connect(srv, known)
    return str(e.value)


def fp(pub_path):
    out = subprocess.run(["ssh-keygen", "-l", "-f", pub_path], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def test_changed_and_unknown_host_key_refused():
    with Lab() as lab:
        srv = lab.start("sshd")
        other = keygen(os.path.join(lab.dir, "other"))
        msg = asyncio.run(refused(srv, known_line(srv, other + ".pub")))
        assert "HOST KEY CHANGED" in msg and fp(srv.host_key + ".pub") in msg and fp(other + ".pub") in msg, msg
        msg = asyncio.run(refused(srv, ""))
        assert "unknown" in msg and fp(srv.host_key + ".pub") in msg, msg
        # a line for another port of the same host does not count
        msg = asyncio.run(refused(srv, known_line(srv).replace(str(srv.port), str(srv.port + 1))))
        assert "unknown" in msg
        assert srv.log().count("Accepted publickey") == 0


def sign_host_cert(lab, key, ca, principals="127.0.0.1", extra=()):
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-h", "-I", "test-host", "-n", principals] + list(extra)
                   + [key + ".pub"], check=True, capture_output=True)
    return key + "-cert.pub"


def test_cert_authority_line_accepted_and_checked():
    with Lab() as lab:
        ca = keygen(os.path.join(lab.dir, "ca"))
        host_key = keygen(os.path.join(lab.dir, "sshd_host_ed25519"))
        cert = sign_host_cert(lab, host_key, ca)
        srv = lab.start("sshd", extra=["HostCertificate " + cert,
                                       "HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519"])
        with open(ca + ".pub") as f:
            ca_pub = " ".join(f.read().split()[:2])

        async def ok(line):
            c = await connect(srv, line)
            status, out, _ = await c.exec("echo cert")
            await c.close()
            return c.conn.algorithms[1], status, out

        assert asyncio.run(ok("@cert-authority 127.0.0.1,[127.0.0.1]:* %s\n" % ca_pub)) == (CERT_ALG, 0, b"cert\n")
        # another CA: refused, naming the certified key and the CA
        other = keygen(os.path.join(lab.dir, "ca2"))
        with open(other + ".pub") as f:
            other_pub = " ".join(f.read().split()[:2])
        msg = asyncio.run(refused(srv, "@cert-authority * %s\n" % other_pub))
        assert "not trusted" in msg and fp(host_key + ".pub") in msg and fp(ca + ".pub") in msg, msg
        # the CA line must cover this host
        msg = asyncio.run(refused(srv, "@cert-authority *.example.com %s\n" % ca_pub))
        assert "unknown" in msg


def test_cert_principal_and_validity_checked():
    with Lab() as lab:
        ca = keygen(os.path.join(lab.dir, "ca"))
        host_key = keygen(os.path.join(lab.dir, "sshd_host_ed25519"))
        cert = sign_host_cert(lab, host_key, ca, principals="board7", extra=["-V", "-2d:-1d"])
        srv = lab.start("sshd", extra=["HostCertificate " + cert,
                                       "HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519"])
        with open(ca + ".pub") as f:
            line = "@cert-authority * " + " ".join(f.read().split()[:2]) + "\n"
        msg = asyncio.run(refused(srv, line))
        assert "principals board7 do not include 127.0.0.1" in msg, msg
        sign_host_cert(lab, host_key, ca, principals="127.0.0.1", extra=["-V", "-2d:-1d"])
        srv.stop()
        srv.start()
        msg = asyncio.run(refused(srv, line))
        assert "validity" in msg, msg


CLIENT_SCRIPT = """
import sys
from ussh.compat import asyncio
from ussh import client
async def main():
    c = await client.connect("127.0.0.1", %d, user=%r, key=%r, known_hosts=%r, log=lambda m: None)
    st, out, err = await c.exec("sha256sum", stdin=b"x" * 100000)
    print("exec", st, out.split()[0].decode())
    st, out, err = await c.exec("echo oops >&2; exit 4")
    print("status", st, err)
    s = await c.sftp()
    await s.write_file(%r, b"y" * 70000)
    print("get", len(await s.read_file(%r)))
    await c.close()
asyncio.run(main())
"""


def test_client_on_the_unix_port():
    with Lab() as lab:
        srv = lab.start("sshd")
        known = os.path.join(lab.dir, "kh")
        with open(known, "w") as f:
            f.write(known_line(srv))
        path = writable_dir(lab, srv.user) + "/u.bin"
        out = runtimes.run("unix", CLIENT_SCRIPT % (srv.port, srv.user, srv.client_key, known, path, path))
        assert ("exec 0 %s" % hashlib.sha256(b"x" * 100000).hexdigest()) in out, out
        assert "status 4 b'oops\\n'" in out, out
        assert "get 70000" in out, out


CLIENT_MODULES = {"ussh.client", "ussh.client_chan", "ussh.client_conn", "ussh.client_kex", "ussh.client_sftp", "ussh.client_stream",
                  "ussh.knownhosts",
                  "ussh.callhome", "ussh.hostcert"}


def test_minimal_server_loads_no_client_module(ussh_server):
    srv = ussh_server(runtime="unix")
    p = srv.ssh("import sys; print(sorted(m for m in sys.modules if m.startswith('ussh')))")
    assert p.returncode == 0, p.stderr
    mods = set(eval(p.stdout))
    assert "ussh.kex" in mods and not (mods & CLIENT_MODULES), mods


STREAM_SCRIPT = """
import socket
from ussh import client_stream
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", %d)[0][-1])
sizes = []

def write(b):
    sizes.append(len(b))
    s.send(b) if not hasattr(s, "sendall") else s.sendall(b)

c = client_stream.connect(s.recv, write, "127.0.0.1", %d, user=%r, key=open(%r, "rb").read(),
                          known_hosts=open(%r, "rb").read(), log=lambda m: None)
del sizes[:]  # the login's packets: the key exchange's are not channel data
print("exec", c.exec("sha256sum", stdin=b"z" * 50000))
print("packet", c.conn.cfg.channel_max_packet, "window", c.conn.cfg.window, "largest write", max(sizes))
print("exec", c.exec("exit 7"))
c.close()
s.close()
"""


@pytest.mark.parametrize("runtime", ["cpython", "unix"])
def test_stream_client_over_a_blocking_socket(runtime):
    with Lab() as lab:
        srv = lab.start("sshd")
        known = os.path.join(lab.dir, "kh")
        with open(known, "w") as f:
            f.write(known_line(srv))
        out = runtimes.run(runtime, STREAM_SCRIPT % (srv.port, srv.port, srv.user, srv.client_key, known))
        digest = hashlib.sha256(b"z" * 50000).hexdigest()
        assert "exec (0, b'%s  -\\n', b'')" % digest in out, out
        assert "exec (7, b'', b'')" in out, out


@pytest.mark.parametrize("runtime,heap", [("cpython", None), ("unix", "450k")])
def test_stream_client_sends_no_packet_larger_than_its_budget(runtime, heap):
    # A board client's packets come from its budget (ussh.budget, as a board server's): on the
    # Cortex-M3 the client sent its 6,000 B of stdin as one packet because sshd takes 32 KB, and
    # found no free 6 KB run for it (MemoryError in Transport.pack). It sends no channel data
    # packet larger than it takes; on a heap under 512 KB that is less than 32 KB.
    with Lab() as lab:
        srv = lab.start("sshd")
        known = os.path.join(lab.dir, "kh")
        with open(known, "w") as f:
            f.write(known_line(srv))
        out = runtimes.run(runtime, STREAM_SCRIPT % (srv.port, srv.port, srv.user, srv.client_key, known),
                           heapsize=heap)
        m = re.search(r"packet (\d+) window (\d+) largest write (\d+)", out)
        assert m, out
        packet, window, largest = (int(g) for g in m.groups())
        digest = hashlib.sha256(b"z" * 50000).hexdigest()
        assert "exec (0, b'%s  -\\n', b'')" % digest in out, out
        if heap:
            assert packet < 32768 and window < 131072, out
        else:  # the host: no budget, the defaults
            assert (packet, window) == (32768, 131072), out
        # packet length, padding length, message, channel, data length, data, padding, MAC
        assert largest <= packet + 64, out
