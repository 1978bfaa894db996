"""Records the fuzz corpus (fuzz/corpus/*.txt) from real OpenSSH sessions against ussh.

    python fuzz/record.py            # runs the sessions below, rewrites fuzz/corpus/
    python fuzz/record.py serve OUT ARGS...   # (internal) ussh on CPython logging to OUT

The server is ussh on CPython with Connection._handle wrapped: every decrypted payload the
client sent is written as a line "msg HEX"; the data of an sftp channel is cut into SFTP packets
("sftp HEX") and the data of an scp channel is written as it came ("scp HEX"). Payloads over 4 KB
are left out (the corpus is seeds, not bulk data). Sessions: exec with OpenSSH 9.2 and with OpenSSH
10 (mlkem768x25519-sha256), a shell on a pty, an sftp batch (put, get, ls, mkdir, rename,
chmod, rm), scp over SFTP and legacy scp (-O) both ways.
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


def main():
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

        def session(name, runs):
            out = os.path.join(corpus, name + ".txt")
            tmp = out + ".new"
            with open(tmp, "w") as f:
                f.write("# client payloads recorded by fuzz/record.py: %s\n" % name)
            port = free_port()
            argv = [sys.executable, os.path.abspath(__file__), "serve", tmp, "--bind", "127.0.0.1",
                    "--port", str(port), "--host-key", os.path.join(lab.dir, "hk"),
                    "--authorized-keys", lab.authorized_keys, "--root", files]
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], sys.argv[3:])
    else:
        main()
