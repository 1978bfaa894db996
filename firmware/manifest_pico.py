# The emulated Raspberry Pi Pico's firmware (MicroPython's rp2 port, board RPI_PICO): the port's
# own frozen modules, asyncio and ussh. Built by `make pico-firmware` (tools/pico_firmware.sh)
# into build/pico/firmware.elf. The port's default manifest (boards/manifest.py) also requires
# micropython-lib drivers (onewire, ds18x20, dht, neopixel) that Debian's +ds source leaves out,
# so this one names what is there. mpy-cross compiles the frozen modules with -march=armv6m.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
# crypto/aes_viper.py is left out: the mpy-cross of Debian's MicroPython 1.25 cannot place its
# loop in armv6m code ("native method too big"; 1.29's can), and the rp2 port has cryptolib's AES
include("ussh_package.py", exclude=("crypto/aes_viper.py",))
include("ussh_thumb.py")  # the field's products and sums in Thumb assembler (armv6m)
