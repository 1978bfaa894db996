# ussh's field products in Thumb assembler (native/ussh/crypto/fe_thumb.py), for ARM boards only:
# mpy-cross compiles it for armv6m and armv7m and refuses it for other arches (an ESP32's
# xtensawin), so the common ussh_package.py leaves it out. Included by manifest_qemu.py,
# manifest_pico.py and manifest_rp2.py; without it fe_viper.py uses its viper code (2-3x the
# instructions).
module("ussh/crypto/fe_thumb.py", base_path="../native", opt=3)
# Keccak-f[1600] in Thumb assembler (native/ussh/crypto/keccak_thumb.py): sha3.py's permutation on ARM
# boards; without it keccak_viper.py (about 14 times the instructions).
module("ussh/crypto/keccak_thumb.py", base_path="../native", opt=3)
