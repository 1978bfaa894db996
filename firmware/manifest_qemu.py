# The emulated board's firmware (MicroPython's qemu port, MPS2_AN385: Cortex-M3): ussh frozen in,
# nothing else (the port has no asyncio, select, socket or time). Built by `make firmware`
# (tools/qemu_firmware.sh) into build/qemu/firmware.elf. The port compiles frozen modules with
# mpy-cross -march=armv7m (its MPY_CROSS_FLAGS), so native and viper code runs as Thumb-2.
include("ussh_package.py")
include("ussh_thumb.py")
