"""The emulated Cortex-M3 board: MicroPython's qemu firmware (MPS2-AN385) under qemu-system-arm.

`make firmware` builds build/qemu/firmware.elf (ussh frozen in, see firmware/README.md). This
module starts it, talks to its REPL and stops it, for tests, benchmarks and the UART login:

    from qemu import Board                       # tools/ on sys.path
    with Board(icount=True, uart1_port=None) as b:   # started; stopped (by PID) on exit
        out = b.exec("print(6*7)")               # '42\\n': raw REPL on UART0 (qemu's stdio)
        b.exec("import gc\\nx = gc.mem_free()")  # globals stay between exec() calls
        n = b.count("x25519(k, u)", setup="...") # guest instructions the statement took

Board(elf=FIRMWARE, icount=False, uart1_port=None, timeout=120, flash=None):
- icount=True runs qemu with `-icount shift=0,sleep=off`: one guest instruction is one ns of
  virtual time, so the timers count instructions exactly and every run gives the same count.
- uart1_port=N maps the board's UART1 (CMSDK APB UART at 0x40005000) to a TCP server on
  127.0.0.1:N (qemu listens, wait=off: the board boots without a client); a byte stream to a
  driver on the board, e.g. `socat - TCP:127.0.0.1:N` as OpenSSH's ProxyCommand. The board
  must switch the UART on (CTRL at +8 = 3: TX and RX) before the host sends: once a byte was
  seen to wait in qemu until the next one came when it arrived before that.
  Registers: DATA +0, STATE +4 (bit 0 TX full, bit 1 RX full), CTRL +8.
- flash=path backs the machine's RAM at 0x21000000 (16 MB, which the firmware leaves alone:
  the board's flash, boards/qemu/flash.py) with that host file (created sparse when missing),
  shared: what the board wrote there survives killing the emulator. Without it the region is
  plain RAM, empty at every start.
- exec(code, timeout=None) -> what the code printed (str); the code goes in by the raw REPL's
  raw-paste mode (flow-controlled, compiled as it arrives: any length). An exception on the board raises
  BoardError whose message holds the board's traceback. timeout: seconds (default the Board's).
- count(stmt, setup="", repeat=1) -> guest instructions for one run of stmt (icount=True
  needed), exact to one timer tick (40 instructions); see COUNTER below.
- start() / stop(); pid; the board's console output before the REPL in `banner`.

run(code, **kw) -> output: a fresh board for one piece of code (what host_tests/runtimes.py
calls for runtime "qemu").

Counting instructions (COUNTER, loaded on the board by count() or by exec(COUNTER)): the
board's TIMER0 (CMSDK APB timer, 0x40000000) is a 32-bit down-counter at the 25 MHz system
clock, 40 guest instructions per tick at shift=0. It wraps every 2**32 ticks (172 billion
instructions), far beyond anything measured here, so a start/stop difference needs no wrap
count. SysTick (the 24-bit counter the issue names) would wrap every 671 million instructions,
inside a portable ML-KEM run, and its COUNTFLAG only says "at least one wrap". Both timers run
from the same clock: test_qemu_crypto checks that they agree on a short operation.
"""
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))
from ussh.stream import HANGUP, HUNG_UP  # noqa: E402
FIRMWARE = os.path.join(ROOT, "build", "qemu", "firmware.elf")
FIRMWARE_PLAIN = os.path.join(ROOT, "build", "qemu", "firmware-plain.elf")
QEMU = "qemu-system-arm"
FIRMWARE_SMALL = os.path.join(ROOT, "build", "qemu", "firmware-small.elf")  # 110 KB heap, nothing frozen
FLASH_SIZE = 16 * 1024 * 1024  # the machine's RAM at 0x21000000: the board's flash
INSTR_PER_TICK = 40  # 1 GHz of instructions (shift=0) / the 25 MHz timer clock

# Guest-side: tstart() then tstop() -> guest instructions between them (the timer is read
# through viper pointers: no machine.mem32 needed). Counter overhead is measured once
# (an empty start/stop pair) and subtracted.
COUNTER = """
import micropython
@micropython.viper
def _treset():
    t = ptr32(0x40000000)
    t[0] = 0
    t[2] = -1
    t[1] = -1
    t[0] = 1
@micropython.viper
def _tread() -> uint:
    return uint(ptr32(0x40000000)[1])
@micropython.viper
def _systick_start():
    s = ptr32(0xE000E010)
    s[1] = 0xFFFFFF
    s[2] = 0
    s[0] = 5
@micropython.viper
def _systick_read() -> int:
    return ptr32(0xE000E010)[2]
_treset()
_t0 = 0
def tstart():
    global _t0
    _t0 = _tread()
def tstop():
    return ((_t0 - _tread()) & 0xFFFFFFFF) * 40 - _tover
_tover = 0
tstart()
_tover = tstop()
"""


class BoardError(Exception):
    """An exception on the board (the message holds its traceback), or a
    board that did not answer."""


class Board:
    def __init__(self, elf=FIRMWARE, icount=False, uart1_port=None, timeout=120, flash=None):
        self.elf = elf
        self.flash = flash
        self.icount = icount
        self.uart1_port = uart1_port
        self.timeout = timeout
        self.proc = None
        self.banner = ""
        self._buf = b""
        self._counter = False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        machine = "mps2-an385"
        cmd = []
        if self.flash:
            machine += ",memory-backend=flash"
            cmd += ["-object", "memory-backend-file,id=flash,size=%d,mem-path=%s,share=on" % (FLASH_SIZE, self.flash)]
        cmd = [QEMU, "-machine", machine] + cmd + ["-display", "none", "-monitor", "none",
                                                   "-semihosting", "-kernel", self.elf, "-serial", "stdio"]
        if self.uart1_port:
            cmd += ["-serial", "tcp:127.0.0.1:%d,server=on,wait=off,nodelay=on" % self.uart1_port]
        if self.icount:
            cmd += ["-icount", "shift=0,sleep=off"]
        return cmd

    def start(self):
        if not os.path.exists(self.elf):
            raise BoardError("%s missing: run `make firmware`" % self.elf)
        if self.flash and not os.path.exists(self.flash):
            with open(self.flash, "wb") as f:
                f.truncate(FLASH_SIZE)
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        try:
            self.banner = self._read_until(b">>> ", 30).decode(errors="replace")
            self._write(b"\r\x03\x03\x01")  # raw REPL (MicroPython's pyexec)
            self._read_until(b"raw REPL; CTRL-B to exit\r\n>", 30)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)  # its own session: qemu only
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        for f in (p.stdin, p.stdout, p.stderr):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _write(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, AttributeError):
            raise BoardError("the emulator is not running" + self._stderr())

    def _stderr(self):
        p = self.proc
        if p is None or p.poll() is None:
            return ""
        return ": exited %s %s" % (p.returncode, p.stderr.read().decode(errors="replace")[-2000:])

    def _read_until(self, marker, timeout):
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            i = self._buf.find(marker)
            if i >= 0:
                out, self._buf = self._buf[:i], self._buf[i + len(marker):]
                return out
            left = end - time.monotonic()
            if left <= 0:
                raise BoardError("no %r from the board in %ss; got %r" % (marker, timeout, self._buf[-500:]))
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BoardError("the emulator closed its console%s; last output %r"
                                     % (self._stderr(), self._buf[-1000:]))
                self._buf += chunk

    def _send(self, code):
        # The code into the raw REPL, which then runs it. Raw-paste mode (MicroPython's
        # pyexec: flow-controlled windows, compiled as it arrives) where the board has it:
        # plain raw mode gathers the whole text in one heap block first, and a MemoryError
        # there is fatal ("uncaught NLR") once the heap is fragmented.
        data = code.encode() if isinstance(code, str) else code
        self._write(b"\x05A\x01")
        r = self._read_exactly(2)
        if r == b"R\x00":  # no raw-paste: plain raw mode
            self._write(data + b"\x04")
            ok = self._read_until(b"OK", 30)
            if ok:
                raise BoardError("raw REPL: %r before OK" % ok)
            return
        if r != b"R\x01":
            raise BoardError("raw-paste: answer %r" % r)
        step = int.from_bytes(self._read_exactly(2), "little")
        window = step
        i = 0
        fd = self.proc.stdout.fileno()
        while i < len(data):
            # the flow-control bytes that came; waiting for one while the window is shut
            while window == 0 or self._buf or select.select([fd], [], [], 0)[0]:
                c = self._read_exactly(1)
                if c == b"\x01":
                    window += step
                elif c == b"\x04":  # the board ends the transfer (a syntax error, say)
                    self._write(b"\x04")
                    return
                else:
                    raise BoardError("raw-paste: unexpected %r" % c)
            n = min(window, len(data) - i)
            self._write(data[i : i + n])
            window -= n
            i += n
        self._write(b"\x04")
        self._read_until(b"\x04", 60)  # the board's end of the transfer

    def _read_exactly(self, n):
        end = time.monotonic() + 30
        fd = self.proc.stdout.fileno()
        while len(self._buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise BoardError("board silent; got %r" % self._buf[-200:])
            if select.select([fd], [], [], min(left, 1.0))[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BoardError("the emulator closed its console" + self._stderr())
                self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def exec(self, code, timeout=None):
        """Run code on the board (raw REPL); return what it printed."""
        if self.proc is None:
            raise BoardError("board not started")
        timeout = timeout or self.timeout
        self._send(code)
        out = self._read_until(b"\x04", timeout)
        err = self._read_until(b"\x04", 30)
        self._read_until(b">", 30)
        out = out.decode(errors="replace").replace("\r\n", "\n")
        if err:
            raise BoardError("%s\n--- output\n%s" % (err.decode(errors="replace").replace("\r\n", "\n"), out[-2000:]))
        return out

    def exec_start(self, code):
        """Start code on the board (raw REPL) and return at once, for code that runs on (a
        server): read its output with read_until(), then exec_wait() for the rest."""
        self._send(code)

    def read_until(self, marker, timeout=None):
        """Console output of code started by exec_start() up to marker (bytes, dropped)."""
        return self._read_until(marker, timeout or self.timeout).decode(errors="replace").replace("\r\n", "\n")

    def exec_wait(self, timeout=None):
        """The rest of the output of the code exec_start() started, once it ends; BoardError
        (holding the board's traceback) if it raised."""
        out = self._read_until(b"\x04", timeout or self.timeout)
        err = self._read_until(b"\x04", 30)
        self._read_until(b">", 30)
        out = out.decode(errors="replace").replace("\r\n", "\n")
        if err:
            raise BoardError("%s\n--- output\n%s" % (err.decode(errors="replace").replace("\r\n", "\n"), out[-2000:]))
        return out

    def count(self, stmt, setup="", repeat=1, timeout=None):
        """Guest instructions one run of stmt takes (minimum over repeat runs: the runs differ
        only by what the garbage collector does, which the minimum leaves out only if some run
        had no collection; pass repeat=1 for the plain count)."""
        if not self.icount:
            raise BoardError("count() needs Board(icount=True)")
        if not self._counter:
            self.exec(COUNTER)
            self._counter = True
        if setup:
            self.exec(setup, timeout)
        code = "_n = []\nfor _i in range(%d):\n    tstart()\n%s\n    _n.append(tstop())\nprint(min(_n))\n" % (
            repeat, "\n".join("    " + l for l in stmt.splitlines()))
        return int(self.exec(code, timeout).strip())


def hang_up(uart, bound=600):
    """Tells a board serving SSH on the UART behind socket uart that its client has left
    (ussh.stream.HANGUP with a fresh token) and drops what the board sends until its answer
    (HUNG_UP, the same token): the board then has ended that connection and written all it
    ever will for it. False when the UART closed (the board stopped)."""
    token = os.urandom(8).hex().encode()
    try:
        uart.sendall(HANGUP + token + b"\n")
    except OSError:  # the board's side closed (it stopped)
        return False
    answer = HUNG_UP + token + b"\n"
    seen = b""
    end = time.monotonic() + bound
    while answer not in seen:
        left = end - time.monotonic()
        if left <= 0:
            # a board that stopped reading its UART (a command that never ends): say so and go
            # on, so that the target's user sees the next client fail rather than a hang
            sys.stderr.write("qemu.py: the board did not answer a hang-up in %d s\n" % bound)
            return True
        if select.select([uart], [], [], min(left, 1.0))[0]:
            try:
                d = uart.recv(65536)
            except OSError:
                return False
            if not d:
                return False
            seen = seen[-len(answer):] + d
    return True


class SSHTarget:
    """A board serving SSH on UART1 for as long as it runs: .host, .port (a loopback bridge to
    qemu's TCP port of UART1: a client connects to it as to an SSH port, one connection at a
    time), .stop()."""

    def __init__(self, ub, log_path=None):
        self.ub = ub
        self.host = "127.0.0.1"
        self.log_path = log_path  # the board's console (UART0), complete once stop() returned
        # clients connect to a bridge (one at a time), not to qemu's UART port: see _bridge
        self._lsock = socket.socket()
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(8)
        self.port = self._lsock.getsockname()[1]
        self._stopping = False
        self.bridge_end = self.bridge_cut = None  # why the bridge stopped, or last cut a client off (health())
        # the host key as a known_hosts line: ssh-keyscan waits for the server's version line
        # before it sends its own, and a board on a UART, which cannot see a client connect,
        # sends its version only after the client's
        with open(ub.host_key + ".pub") as f:
            self.known_hosts_line = "[%s]:%d %s" % (self.host, self.port, " ".join(f.read().split()[:2]))
        # the console is read all along: unread, qemu's pipe fills (64 KB, some 500 sessions of
        # log lines) and the board stops at its next print
        self.console = bytearray(ub.board._buf)
        ub.board._buf = b""
        self._lock = threading.Lock()
        self._drain = threading.Thread(target=self._read_console, daemon=True)
        self._drain.start()
        self._uart = socket.create_connection(("127.0.0.1", ub.port), timeout=30)
        self._uart.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._bridge_thread = threading.Thread(target=self._bridge, daemon=True)
        self._bridge_thread.start()

    def _bridge(self):
        try:
            self._bridge_loop()
        except (OSError, ValueError) as e:  # stop() closed the sockets (select() then sees fd -1)
            if not self._stopping:
                self.bridge_end = "stopped: %r" % e
        if not self._stopping:  # the next clients are refused at once, not left waiting
            try:
                self._lsock.close()
            except OSError:
                pass

    def health(self):
        """What a failed session's report needs: whether qemu still runs (else its exit status and
        the end of its stderr) and, if the bridge stopped or cut a client off, why."""
        p = self.ub.board.proc
        if p is None:
            s = "board stopped"
        elif p.poll() is None:
            s = "qemu running"
        else:
            err = b""
            try:
                err = p.stderr.read() or b""
            except (OSError, ValueError):
                pass
            s = "qemu exited with status %s; its stderr: %r" % (p.returncode, err[-500:])
        if self.bridge_end:
            s += "; bridge_end: %s" % self.bridge_end
        if self.bridge_cut:
            s += "; bridge_cut: %s" % self.bridge_cut
        return s

    def _bridge_loop(self):
        # One TCP connection to the board's UART for the target's life; clients take turns on
        # it. A UART cannot hang up: what the board still sends for a client that has left (its
        # replies to the client's last packets) must not reach the next one, nor may the next
        # client's version line land in the middle of the last one's packet. So after a client
        # leaves, the bridge says so on the UART (ussh.stream.HANGUP and a fresh token), and
        # drops the board's output until the board's answer with that token (HUNG_UP): the
        # board has then ended that connection, and written all it ever will for it.
        uart = self._uart
        while not self._stopping:
            c, _ = self._lsock.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                while True:
                    r, _, _ = select.select([c, uart], [], [], 1.0)
                    if c in r:
                        d = c.recv(65536)
                        if not d:
                            break
                        uart.sendall(d)
                    if uart in r:
                        d = uart.recv(65536)
                        if not d:
                            self.bridge_end = "the board's UART closed (qemu ended?)"
                            return
                        c.sendall(d)
            except OSError as e:
                self.bridge_cut = "a client's connection cut by %r" % e
            finally:
                c.close()
            if not hang_up(uart):
                self.bridge_end = "the board's UART closed during a hang-up"
                return

    def _read_console(self):
        p = self.ub.board.proc
        fd = p.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.console += chunk

    def console_text(self):
        """The board's console so far (str)."""
        with self._lock:
            return bytes(self.console).decode(errors="replace").replace("\r\n", "\n")

    def stop(self):
        self._stopping = True
        for so in (self._lsock, self._uart):
            try:
                so.close()
            except OSError:
                pass
        b = self.ub.board
        if b.proc is not None:
            try:
                os.killpg(b.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self._drain.join(10)
        if self.log_path:
            with open(self.log_path, "w") as f:
                f.write(self.console_text())
        self.ub.__exit__()


FLASH = os.path.join(ROOT, "boards", "qemu", "flash.py")


def ssh_target(folder, authorized_keys, timeout=600, files=1024 * 1024, flash=None, elf=FIRMWARE, **serve):
    """Starts a board that serves SSH on UART1 one connection after another (boards/qemu/main.py
    with forever=True), authorizing the keys of the file authorized_keys; for `make interop
    TARGET=qemu`. files: bytes of the board's flash filesystem (boards/qemu/flash.py: littlefs
    outside the GC heap) mounted at "/" for SFTP and scp (0: none); flash: a host file backing
    it (None: emulator RAM, empty at start); serve: more options of main.serve() (heap_log=True:
    the soak's heap series). The board's console goes to folder/qemu.log when it stops."""
    import qemu_login

    ub = qemu_login.UartBoard(icount=False, timeout=timeout, flash=flash, elf=elf)
    ub.__enter__()
    try:
        kw = dict(serve)
        if files:
            mount_flash(ub.board, files)
            kw["root"] = "/"
        # one_session=False: a connection lasts until its client disconnects or the next one
        # starts (an OpenSSH ControlMaster opens its sessions one after another)
        # legacy_mac: Dropbear's dbclient (2022) has no encrypt-then-MAC, as the virtual board's
        # interop config
        first = ub.serve(forever=True, authorized_keys_file=authorized_keys, one_session=False, legacy_mac=True,
                         **kw)
        if "serving SSH" not in first:
            raise BoardError("the board did not serve: " + first)
    except BaseException:
        ub.__exit__()
        raise
    return SSHTarget(ub, os.path.join(folder, "qemu.log"))


def mount_flash(board, size, path="/"):
    """Mounts the board's flash filesystem (boards/qemu/flash.py, formatted when empty) at path."""
    with open(FLASH) as f:
        board.exec(f.read() + "\nmount_flash(%d, %r)\n" % (size, path))


def run(code, timeout=600, **kw):
    """Run code on a freshly started board; return what it printed."""
    with Board(timeout=timeout, **kw) as b:
        return b.exec(code)


if __name__ == "__main__":
    import sys

    with Board(icount="--icount" in sys.argv) as b:
        print(b.banner)
        print(b.exec(sys.stdin.read() if "-" in sys.argv else "import sys, gc\nprint(sys.implementation, gc.mem_free())"))
