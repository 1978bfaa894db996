"""SSH over the emulated Cortex-M3's UART: boards/qemu/main.py on the firmware (tools/qemu.py),
the stock OpenSSH client through `-o ProxyCommand="socat - TCP:127.0.0.1:<port>"` (qemu maps
the board's UART1 to that loopback port). Shared by host_tests/test_qemu_login.py and the
"emcu" bench section.

    with UartBoard() as ub:                           # qemu with -icount, main.py loaded
        ub.serve(measure=True)                        # the server starts (one connection)
        p = ub.ssh("print(6*7)")                      # CompletedProcess: stdout "42\\n"
        log = ub.wait()                               # the board's console once serve() returned
        ub.result(log)                                # {"instructions": N} / {"heap": N}

Keys: a throwaway ed25519 host key and client key (ssh-keygen) in a temporary folder; the
host sends them, with 1040 bytes of entropy from os.urandom, as arguments of serve().
"""
import os
import re
import shutil
import subprocess
import tempfile

import qemu
from peers import free_port, keygen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "boards", "qemu", "main.py")


class UartBoard:
    def __init__(self, icount=True, timeout=300, flash=None, elf=qemu.FIRMWARE):
        self.port = free_port()
        self.board = qemu.Board(elf=elf, icount=icount, uart1_port=self.port, timeout=timeout, flash=flash)
        self.dir = None
        self.started = False

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ussh-qemu-")
        try:
            self.host_key = keygen(os.path.join(self.dir, "host"), "qemu-host")
            self.client_key = keygen(os.path.join(self.dir, "client"), "qemu-client")
            self.known_hosts = os.path.join(self.dir, "known_hosts")
            self.board.start()
            with open(MAIN) as f:
                self.board.exec(f.read())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.board.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, entropy=True, authorized_keys_file=None, **kw):
        """The serve(...) call main.py gets: host entropy (or none), the keys (the client key's
        .pub, or the file authorized_keys_file), keyword options."""
        with open(self.host_key, "rb") as f:
            hk = f.read()
        with open(authorized_keys_file or self.client_key + ".pub", "rb") as f:
            ak = f.read()
        # 48 bytes seed the DRBG, 32 more for each reseed (one per 4096 requests): 31 reseeds
        args = [repr(os.urandom(48 + 32 * 31) if entropy else None), repr(hk), repr(ak)]
        args += ["%s=%r" % kv for kv in sorted(kw.items())]
        return "serve(%s)" % ", ".join(args)

    def serve(self, entropy=True, authorized_keys_file=None, **kw):
        """Starts main.serve() on the board; returns its first console line (what it serves,
        or why it did not start)."""
        self.board.exec_start(self.call(entropy, authorized_keys_file, **kw))
        self.started = True
        return self.board.read_until(b"\n", 120)

    def ssh_argv(self, cmd, options=()):
        argv = ["ssh", "-F", "/dev/null", "-i", self.client_key, "-o", "IdentitiesOnly=yes",
                "-o", "UserKnownHostsFile=" + self.known_hosts, "-o", "StrictHostKeyChecking=accept-new",
                "-o", "BatchMode=yes", "-o", "ProxyCommand=socat - TCP:127.0.0.1:%d" % self.port]
        for o in options:
            argv += ["-o", o]
        return argv + ["board", cmd]

    def ssh(self, cmd, timeout=120, options=()):
        # stdout/stderr go to files: the ProxyCommand (socat) may outlive ssh for a moment and
        # would hold pipes open
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(self.ssh_argv(cmd, options), stdin=subprocess.DEVNULL, stdout=out,
                               stderr=err, timeout=timeout)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(p.args, p.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def wait(self, timeout=120):
        """The board's console output until serve() returns."""
        self.started = False
        return self.board.exec_wait(timeout)

    @staticmethod
    def result(log):
        """{"instructions": n, "heap": n} from the `ussh-bench` lines of a log."""
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^ussh-bench (\w+) (\d+)$", log, re.M)}


def login(timeout=300, **kw):
    """One UART login running print(6*7) on a fresh board; (CompletedProcess, log, results)."""
    with UartBoard(timeout=timeout) as ub:
        first = ub.serve(**kw)
        if "serving SSH" not in first:
            raise qemu.BoardError("the board did not serve: " + first)
        p = ub.ssh("print(6*7)", timeout=timeout)
        log = first + "\n" + ub.wait(timeout)
        return p, log, ub.result(log)
