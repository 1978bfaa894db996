# The emulated Raspberry Pi Pico's firmware (MicroPython's rp2 port, board RPI_PICO): the port's
# own frozen modules, asyncio and ussh. Built by `make pico-firmware` (tools/pico_firmware.sh)
# into build/pico/firmware.elf. The port's default manifest (boards/manifest.py) also requires
# micropython-lib drivers (onewire, ds18x20, dht, neopixel) that Debian's +ds source leaves out,
# so this one names what is there. mpy-cross compiles the frozen modules with -march=armv6m.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
include("ussh_package.py")
include("ussh_thumb.py")  # the field's products and sums in Thumb assembler (armv6m)
