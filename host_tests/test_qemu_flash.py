"""The emulated board's flash (boards/qemu/flash.py): littlefs on RAM at 0x21000000, which the
firmware's GC heap does not use, backed by a host file (tools/qemu.py Board(flash=path)) so that
files survive killing the emulator, as a board's flash survives a reset."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402

WRITE = """
import gc, os, hashlib, binascii
def write(name, kib, seed):
    blk = bytearray(1024)
    h = hashlib.sha256()
    with open(name, 'wb') as f:
        for i in range(kib):
            for j in range(0, 1024, 4):
                blk[j] = (i * 7 + j + seed) & 255
            f.write(blk)
            h.update(blk)
    return binascii.hexlify(h.digest()).decode()
def digest(name):
    h = hashlib.sha256()
    with open(name, 'rb') as f:
        while True:
            b = f.read(1024)
            if not b:
                break
            h.update(b)
    return binascii.hexlify(h.digest()).decode()
"""


@pytest.fixture(autouse=True)
def firmware():
    assert os.path.exists(qemu.FIRMWARE), "%s missing: make firmware" % qemu.FIRMWARE


def test_files_survive_a_kill_and_restart(tmp_path):
    img = str(tmp_path / "flash.img")
    b = qemu.Board(flash=img, timeout=300)
    b.start()
    try:
        qemu.mount_flash(b, 1024 * 1024)
        written = b.exec(WRITE + "print(write('/keep.bin', 64, 3))\nos.mkdir('/d')\n"
                         "with open('/d/t', 'w') as f:\n    f.write('hello')\n").strip()
    finally:
        os.killpg(b.proc.pid, 9)  # no unmount, no sync: as a power cut
        b.proc.wait(10)
        b.proc = None
    assert os.path.getsize(img) == qemu.FLASH_SIZE
    with qemu.Board(flash=img, timeout=300) as b2:
        qemu.mount_flash(b2, 1024 * 1024)
        out = b2.exec(WRITE + "print(sorted(os.listdir('/')), os.stat('/keep.bin')[6], open('/d/t').read())\n"
                      "print(digest('/keep.bin'))\n").split("\n")
    assert out[0] == "['d', 'keep.bin'] 65536 hello"
    assert out[1] == written and len(written) == 64
    # without the host file the region is empty at start: a fresh filesystem
    with qemu.Board(timeout=300) as b3:
        qemu.mount_flash(b3, 1024 * 1024)
        assert b3.exec("print(os.listdir('/'))").strip() == "[]"


def test_a_64k_file_costs_no_heap():
    with qemu.Board(timeout=300) as b:
        qemu.mount_flash(b, 1024 * 1024)
        out = b.exec(WRITE + "write('/warm', 1, 0)\ngc.collect()\nf0 = gc.mem_free()\n"
                     "write('/big', 64, 1)\ngc.collect()\nf1 = gc.mem_free()\n"
                     "print(f0, f1, os.stat('/big')[6], gc.mem_free() + gc.mem_alloc())\n")
    f0, f1, size, heap = map(int, out.split())
    assert size == 65536
    assert heap < 160 * 1024  # the whole heap is smaller than what the filesystem holds with it
    assert f0 - f1 < 512, (f0, f1)  # the file's bytes are not in the heap


def test_the_block_device_allocates_nothing():
    # littlefs calls it from C: a MemoryError raised there (a full heap) unwinds through a commit
    # in progress and leaves littlefs pointing at freed memory (a HardFault at a later file
    # operation). With the heap locked, any allocation raises: 64 KiB go through without one.
    with qemu.Board(timeout=300) as b:
        qemu.mount_flash(b, 1024 * 1024)
        out = b.exec("import micropython, os\nf = open('/h', 'wb')\nw = f.write\nblk = bytearray(1024)\n"
                     "n = 0\nmicropython.heap_lock()\ntry:\n    while n < 64:\n        w(blk)\n        n += 1\n"
                     "finally:\n    micropython.heap_unlock()\nf.close()\nprint(n, os.stat('/h')[6])\n")
    assert out.split() == ["64", "65536"]
