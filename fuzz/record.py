"""Records the fuzz corpus (fuzz/corpus/*.txt) from real OpenSSH sessions against ussh.

    python fuzz/record.py            # runs the sessions below, rewrites fuzz/corpus/
    python fuzz/record.py serve OUT ARGS...   # (internal) ussh on CPython logging to OUT

The server is ussh on CPython with Connection._handle wrapped: every decrypted payload the
client sent is written as a line "msg HEX"; the data of an sftp channel is cut into SFTP packets
("sftp HEX") and the data of an scp channel is written as it came ("scp HEX"). Payloads over 4 KB
are left out (the corpus is seeds, not bulk data). Sessions: exec with OpenSSH 9.2 and with OpenSSH
10 (mlkem768x25519-sha256), a shell on a pty, an sftp batch (put, get, ls, mkdir, rename,
chmod, rm), scp over SFTP and legacy scp (-O) both ways, and "userkeys": logins with RSA and
ECDSA keys with options, a certificate, the password and the legacy MAC (issue 17).
`python fuzz/record.py userkeys` records that one session only.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
_MAX = 4096


def serve(out, args):
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh import connection

    log = open(out, "a")
    bufs = {}
    orig = connection.Connection._handle

    def _handle(self, p):
        if len(p) <= _MAX:
            log.write("msg %s\n" % p.hex())
        if p and p[0] == 94 and len(p) >= 9:
            ch = self.channels.get(int.from_bytes(p[1:5], "big"))
            data = p[9:]
            if ch is not None and ch.started == b"subsystem":
                b = bufs.setdefault((id(self), ch.id), bytearray())
                b += data
                while len(b) >= 4 and len(b) >= 4 + int.from_bytes(b[:4], "big"):
                    n = 4 + int.from_bytes(b[:4], "big")
                    if n <= _MAX:
                        log.write("sftp %s\n" % bytes(b[:n]).hex())
                    del b[:n]
            elif ch is not None and ch.started == b"exec" and len(data) <= _MAX:
                log.write("scp %s\n" % data.hex())
        log.flush()
        return orig(self, p)

    connection.Connection._handle = _handle
    sys.argv = ["ussh"] + args
    import runpy

    runpy.run_module("ussh", run_name="__main__")


def main(only=()):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from peers import Lab, Server, free_port

    corpus = os.path.join(HERE, "corpus")
    os.makedirs(corpus, exist_ok=True)
    with Lab(prefix="ussh-record-") as lab:
        files = os.path.join(lab.dir, "files")
        os.mkdir(files)
        local = os.path.join(lab.dir, "local.txt")
        with open(local, "wb") as f:
            f.write(b"".join(b"line %d of the upload\n" % i for i in range(60)))

        def session(name, runs, extra=()):
            if only and name not in only:
                return
            out = os.path.join(corpus, name + ".txt")
            tmp = out + ".new"
            with open(tmp, "w") as f:
                f.write("# client payloads recorded by fuzz/record.py: %s\n" % name)
            port = free_port()
            argv = [sys.executable, os.path.abspath(__file__), "serve", tmp, "--bind", "127.0.0.1",
                    "--port", str(port), "--host-key", os.path.join(lab.dir, "hk"),
                    "--authorized-keys", lab.authorized_keys, "--root", files] + list(extra)
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lib"))
            srv = lab._server("record", argv, port, env=env)
            srv.start()
            try:
                for run in runs:
                    p = run(srv)
                    if p.returncode != 0:
                        raise SystemExit("%s failed: %s\n%s" % (name, p.stderr, srv.log()))
            finally:
                srv.stop()
            os.replace(tmp, out)
            print("%s: %d lines" % (out, sum(1 for _ in open(out)) - 1))

        def batch(cmds, legacy=None):
            def run(srv):
                script = os.path.join(lab.dir, "batch")
                with open(script, "w") as f:
                    f.write(cmds)
                argv = ["sftp", "-F", "/dev/null", "-b", script, "-P", str(srv.port)] + srv.ssh_argv("x")[5:-2] + ["127.0.0.1"]
                return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=lab.dir)
            return run

        def scp(*args):
            def run(srv):
                argv = ["scp", "-F", "/dev/null", "-P", str(srv.port)] + srv.ssh_argv("x")[5:-2] + list(args)
                argv = [a.replace("REMOTE:", "127.0.0.1:") for a in argv]
                return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=lab.dir)
            return run

        session("exec", [lambda s: s.ssh("print(6*7)"), lambda s: s.ssh("import sys; sys.stdout.write(input())", input="hi\n")])
        session("exec-pq", [lambda s: s.ssh("print(6*7)", client="ssh10")])
        session("shell", [lambda s: s.ssh("", input="print(1)\nx = 5\nfor i in range(2):\n  x += i\n\nx\n",
                                          options=("RequestTTY=force", "SendEnv=LANG"))])
        session("sftp", [batch("put local.txt up.txt\nget up.txt down.txt\nls -l\nmkdir d\nrename up.txt d/u.txt\n"
                               "chmod 600 d/u.txt\nls d\nrm d/u.txt\nrmdir d\ndf\n")])
        session("scp", [scp("-O", "local.txt", "REMOTE:a.txt"), scp("-O", "REMOTE:a.txt", os.path.join(lab.dir, "b.txt")),
                        scp("local.txt", "REMOTE:c.txt")])
        session("userkeys", userkeys(lab), ["--trusted-ca", os.path.join(lab.dir, "cas"), "--password-hash",
                                            _password_hash(), "--legacy-mac"])


_PASSWORD = "record-password"


def _password_hash():
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from ussh import passwd

    return passwd.make(_PASSWORD, 2)


def userkeys(lab):
    """Logins with an RSA key (from= and no-pty on its line), an ECDSA key (command=), a
    certificate (a CA from --trusted-ca, source-address) and the password; a cert-authority line."""
    def kg(name, kind):
        path = os.path.join(lab.dir, name)
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", path], check=True,
                       stdin=subprocess.DEVNULL)
        return path

    def pub(path):
        return open(path + ".pub").read().strip()

    rsa, ecd, ca, cu, ca2 = kg("rsa", "rsa"), kg("ecdsa", "ecdsa"), kg("ca", "ed25519"), kg("cu", "ed25519"), kg("ca2", "ed25519")
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", "recorded", "-n", "tester", "-O", "source-address=127.0.0.0/8",
                    cu + ".pub"], check=True, stdin=subprocess.DEVNULL)
    with open(lab.authorized_keys, "a") as f:
        f.write('from="127.0.0.1,!10.*",no-pty %s\ncommand="print(2)" %s\ncert-authority,principals="ops" %s\n'
                % (pub(rsa), pub(ecd), pub(ca2)))
    with open(os.path.join(lab.dir, "cas"), "w") as f:
        f.write(pub(ca) + "\n")
    askpass = os.path.join(lab.dir, "askpass")
    with open(askpass, "w") as f:
        f.write("#!/bin/sh\necho %s\n" % _PASSWORD)
    os.chmod(askpass, 0o700)

    def login(key, *opts, env=None):
        def run(srv):
            argv = ["ssh", "-F", "/dev/null", "-p", str(srv.port), "-o", "UserKnownHostsFile=" + srv.known_hosts,
                    "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=10", "-l", "tester"]
            argv += (["-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"] if key else [])
            for o in opts:
                argv += ["-o", o]
            return subprocess.run(argv + ["127.0.0.1", "print(6*7)"], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
        return run

    return [login(rsa), login(ecd, "PubkeyAcceptedAlgorithms=ecdsa-sha2-nistp256"), login(cu),
            login(None, "PubkeyAuthentication=no", "PreferredAuthentications=password", "NumberOfPasswordPrompts=1",
                  env={"SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}),
            login(rsa, "MACs=hmac-sha2-256")]


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], sys.argv[3:])
    else:
        main(sys.argv[1:])  # names of sessions to record again (default: all)
