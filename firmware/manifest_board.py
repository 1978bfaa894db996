# Freezes ussh beside a board's own manifest, for boards that have one
# (RPI_PICO_W: the port's modules plus the networking bundle):
#     make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=$USSH/firmware/manifest_board.py
include("$(BOARD_DIR)/manifest.py")
include("ussh_package.py")
