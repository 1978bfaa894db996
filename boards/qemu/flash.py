# The emulated board's flash: a littlefs filesystem (os.VfsLfs2) on RAM the firmware never uses,
# 0x21000000 on the MPS2-AN385 (16 MB; the port's code, data and GC heap are in the SSRAM at 0),
# so files live outside the GC heap as on a board's flash. tools/qemu.py can back that RAM with
# a host file (Board(flash=path)): the files then survive killing the emulator. Sent by the host
# before main.py's serve() (tools/qemu.py), or imported where it is on the path:
#     mount_flash(1024 * 1024, "/")   # formats it first when it holds no filesystem
import os

import micropython

_BASE = 0x21000000
_LIMIT = 16 * 1024 * 1024
_BLOCK = 4096


# The block device's methods run inside littlefs's C code: an exception there (a MemoryError on
# a full heap) would unwind through it mid-commit and leave its lists pointing at freed memory
# (a HardFault later). So they allocate nothing: the copies are viper loops on addresses.
@micropython.viper
def _load(buf: ptr8, addr: int, n: int):
    src = ptr8(addr)
    i = 0
    while i < n:
        buf[i] = src[i]
        i += 1


@micropython.viper
def _store(buf: ptr8, addr: int, n: int):
    dst = ptr8(addr)
    i = 0
    while i < n:
        dst[i] = buf[i]
        i += 1


@micropython.viper
def _erase(addr: int, n: int):
    dst = ptr32(addr)
    i = 0
    n = n >> 2
    while i < n:
        dst[i] = -1
        i += 1


class Flash:
    # MicroPython's block device protocol (extended form: offsets inside a block)
    def __init__(self, size):
        if size <= 0 or size > _LIMIT or size % _BLOCK:
            raise ValueError("flash size: a multiple of 4096 up to 16 MB")
        self.n = size // _BLOCK

    def readblocks(self, block, buf, off=0):
        _load(buf, _BASE + block * _BLOCK + off, len(buf))

    def writeblocks(self, block, buf, off=0):
        _store(buf, _BASE + block * _BLOCK + off, len(buf))

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.n
        if op == 5:  # block size
            return _BLOCK
        if op == 6:  # erase: flash reads all ones after it
            _erase(_BASE + arg * _BLOCK, _BLOCK)
        return 0  # init, deinit, sync, erase


def mount_flash(size, path="/"):
    """Mounts the flash's littlefs at path, formatting it when it holds none; returns the VFS."""
    dev = Flash(size)
    try:
        vfs = os.VfsLfs2(dev)
    except OSError:
        os.VfsLfs2.mkfs(dev)
        vfs = os.VfsLfs2(dev)
    os.mount(vfs, path)
    return vfs
