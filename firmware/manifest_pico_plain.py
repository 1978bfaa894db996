# firmware/manifest_pico.py without ussh: build/pico/firmware-plain.elf, the size comparison.
freeze("$(PORT_DIR)/modules")
include("$(MPY_DIR)/extmod/asyncio")
