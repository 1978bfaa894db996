# Freezes ussh, with the ARM-only Thumb products, beside the rp2 port's own frozen modules
# (RP2040 boards without a board manifest: RPI_PICO; not the RISC-V RP2350 variant):
#     make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=$USSH/firmware/manifest_rp2.py
include("$(PORT_DIR)/boards/manifest.py")
include("ussh_package.py")
include("ussh_thumb.py")
