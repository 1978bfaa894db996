# Freezes ussh into a MicroPython firmware image beside the port's own frozen
# modules (asyncio among them). For boards that use the port's default manifest
# (ESP32_GENERIC, RPI_PICO); see README "Firmware with ussh frozen in":
#     make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=$USSH/firmware/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
include("ussh_package.py")
