"""The stock mpremote (the pinned .venv/bin/mpremote) through a real OpenSSH `-L ...:repl:1`
tunnel to ussh's raw REPL (ussh.rawrepl), for test_rawrepl.py (the virtual board) and
test_rawrepl_qemu.py (the emulated Cortex-M3). Tunnel() wraps tools/ussh_mpremote.py's tunnel:
one ssh -N for many mpremote runs (each a new channel of the same SSH connection)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ussh_mpremote  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")


class Tunnel:
    """ssh -N -L 127.0.0.1:PORT:repl:1 with ssh_opts to host, for as long as the with block."""

    def __init__(self, ssh_opts, host, timeout=120):
        self.ssh_opts, self.host, self.timeout = list(ssh_opts), host, timeout
        self.proc = self.port = None

    def __enter__(self):
        self.proc, self.port = ussh_mpremote.tunnel(self.ssh_opts, self.host, timeout=self.timeout)
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            ussh_mpremote.stop(self.proc)

    def mpremote(self, *args, cwd=None, timeout=180):
        """mpremote connect socket://127.0.0.1:PORT args...: CompletedProcess (text)."""
        assert os.path.exists(MPREMOTE), "the pinned mpremote is missing: make setup"
        argv = [MPREMOTE, "connect", "socket://127.0.0.1:%d" % self.port] + list(args)
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


def ok(p):
    """p's stdout after checking it succeeded (its stderr in the message)."""
    assert p.returncode == 0, "mpremote %s: %d\n%s\n%s" % (p.args[3:], p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p.stdout
