"""SSH over the emulated Pico's UART1: boards/rp2/uart_ssh.py on the rp2 firmware (tools/pico.py),
the stock OpenSSH client through `-o ProxyCommand="socat - TCP:127.0.0.1:<port>"` (run.mjs maps
UART1 to that loopback port). As tools/qemu_login.py for the Cortex-M3, but the board has a
filesystem and os.urandom: the host writes the host key and authorized_keys into its littlefs
(as `make deploy` does on a real Pico) and the board draws its own entropy.

    with PicoUart() as ub:                     # the board started, uart_ssh.py loaded, keys written
        ub.serve(measure=True)                 # the server starts (forever=False: one connection)
        p = ub.ssh("print(6*7)")               # CompletedProcess: stdout "42\\n"
        log = ub.wait()                        # the board's console once serve() returned
        ub.result(log)                         # {"cycles": n, "uart_bytes": n} / {"heap": n}
"""
import os
import tempfile

import pico
import qemu_login
from peers import free_port, keygen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "boards", "rp2", "uart_ssh.py")


class PicoUart(qemu_login.UartBoard):
    def __init__(self, timeout=600, flash=None, keys=None):
        """flash: a host file that keeps the board's flash (pico.Board); keys: (host key, client
        key) files to use (the same board across restarts), instead of new ones."""
        self.port = free_port()
        self.board = pico.Board(uart1_port=self.port, timeout=timeout, flash=flash)
        self.dir = None
        self.started = False
        self.keys = keys

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ussh-pico-")
        try:
            if self.keys:
                self.host_key, self.client_key = self.keys
            else:
                self.host_key = keygen(os.path.join(self.dir, "host"), "pico-host")
                self.client_key = keygen(os.path.join(self.dir, "client"), "pico-client")
            self.known_hosts = os.path.join(self.dir, "known_hosts")
            self.board.start()
            with open(MAIN) as f:
                self.board.exec(f.read())
            self.put_file(self.host_key, "ssh_host_ed25519_key")
            self.put_file(self.client_key + ".pub", "authorized_keys")
        except BaseException:
            self.__exit__()
            raise
        return self

    def put_file(self, local, remote):
        with open(local, "rb") as f:
            data = f.read()
        self.board.exec("with open(%r, 'wb') as f:\n    f.write(%r)\n" % (remote, data))

    def call(self, entropy=True, authorized_keys_file=None, **kw):
        if authorized_keys_file:
            self.put_file(authorized_keys_file, "authorized_keys")
        kw.setdefault("forever", False)
        return "serve(%s)" % ", ".join("%s=%r" % kv for kv in sorted(kw.items()))


def login(timeout=600, cmd="print(6*7)", **kw):
    """One UART login running cmd on a fresh board; (CompletedProcess, log, results)."""
    with PicoUart(timeout=timeout) as ub:
        first = ub.serve(**kw)
        if "serving SSH" not in first:
            raise pico.BoardError("the board did not serve: " + first)
        p = ub.ssh(cmd, timeout=timeout)
        log = first + "\n" + ub.wait(timeout)
        return p, log, ub.result(log)



def ssh_target(folder, authorized_keys, timeout=900):
    """Starts an emulated Pico serving SSH on UART1 one connection after another (uart_ssh.py with
    forever=True, one_session=False: a connection lasts until its client disconnects or the next
    one starts), the keys of the file authorized_keys, SFTP and scp into its littlefs ("/"); for
    `make interop TARGET=pico`. An object with .host, .port, .known_hosts_line, .stop(); the
    board's console goes to folder/pico.log when it stops."""
    import qemu

    ub = PicoUart(timeout=timeout)
    ub.__enter__()
    try:
        first = ub.serve(forever=True, one_session=False, root="/", authorized_keys_file=authorized_keys,
                         legacy_mac=True)  # for dbclient, as the virtual board's interop config
        if "serving SSH" not in first:
            raise pico.BoardError("the board did not serve: " + first)
    except BaseException:
        ub.__exit__()
        raise
    return qemu.SSHTarget(ub, os.path.join(folder, "pico.log"))
