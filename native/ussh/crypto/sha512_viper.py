# SHA-512 (FIPS 180-4) as MicroPython viper code: sha512.py's fast path on
# ports with a native emitter and no hashlib.sha512 (the boards). A 64-bit
# word is two 32-bit words, high then low; additions carry from the low word
# by the bit trick carry = MSB((x & y) | ((x | y) & ~(x + y))). Values are
# masked to 32 bits wherever they are shifted right or carried from, so the
# code computes the same on a 64-bit port, where viper words are wider.
import struct

import micropython  # noqa: F401 (the compiled source's decorator)

# FIPS 180-4 section 4.2.3: K0..K79, then H(0) (section 5.3.5), each as its
# high and low 32-bit word, as native little-endian words
_K = bytearray(
    b"\x98\x2f\x8a\x42\x22\xae\x28\xd7\x91\x44\x37\x71\xcd\x65\xef\x23\xcf\xfb\xc0\xb5\x2f\x3b\x4d\xec\xa5\xdb\xb5\xe9\xbc\xdb\x89\x81"
    b"\x5b\xc2\x56\x39\x38\xb5\x48\xf3\xf1\x11\xf1\x59\x19\xd0\x05\xb6\xa4\x82\x3f\x92\x9b\x4f\x19\xaf\xd5\x5e\x1c\xab\x18\x81\x6d\xda"
    b"\x98\xaa\x07\xd8\x42\x02\x03\xa3\x01\x5b\x83\x12\xbe\x6f\x70\x45\xbe\x85\x31\x24\x8c\xb2\xe4\x4e\xc3\x7d\x0c\x55\xe2\xb4\xff\xd5"
    b"\x74\x5d\xbe\x72\x6f\x89\x7b\xf2\xfe\xb1\xde\x80\xb1\x96\x16\x3b\xa7\x06\xdc\x9b\x35\x12\xc7\x25\x74\xf1\x9b\xc1\x94\x26\x69\xcf"
    b"\xc1\x69\x9b\xe4\xd2\x4a\xf1\x9e\x86\x47\xbe\xef\xe3\x25\x4f\x38\xc6\x9d\xc1\x0f\xb5\xd5\x8c\x8b\xcc\xa1\x0c\x24\x65\x9c\xac\x77"
    b"\x6f\x2c\xe9\x2d\x75\x02\x2b\x59\xaa\x84\x74\x4a\x83\xe4\xa6\x6e\xdc\xa9\xb0\x5c\xd4\xfb\x41\xbd\xda\x88\xf9\x76\xb5\x53\x11\x83"
    b"\x52\x51\x3e\x98\xab\xdf\x66\xee\x6d\xc6\x31\xa8\x10\x32\xb4\x2d\xc8\x27\x03\xb0\x3f\x21\xfb\x98\xc7\x7f\x59\xbf\xe4\x0e\xef\xbe"
    b"\xf3\x0b\xe0\xc6\xc2\x8f\xa8\x3d\x47\x91\xa7\xd5\x25\xa7\x0a\x93\x51\x63\xca\x06\x6f\x82\x03\xe0\x67\x29\x29\x14\x70\x6e\x0e\x0a"
    b"\x85\x0a\xb7\x27\xfc\x2f\xd2\x46\x38\x21\x1b\x2e\x26\xc9\x26\x5c\xfc\x6d\x2c\x4d\xed\x2a\xc4\x5a\x13\x0d\x38\x53\xdf\xb3\x95\x9d"
    b"\x54\x73\x0a\x65\xde\x63\xaf\x8b\xbb\x0a\x6a\x76\xa8\xb2\x77\x3c\x2e\xc9\xc2\x81\xe6\xae\xed\x47\x85\x2c\x72\x92\x3b\x35\x82\x14"
    b"\xa1\xe8\xbf\xa2\x64\x03\xf1\x4c\x4b\x66\x1a\xa8\x01\x30\x42\xbc\x70\x8b\x4b\xc2\x91\x97\xf8\xd0\xa3\x51\x6c\xc7\x30\xbe\x54\x06"
    b"\x19\xe8\x92\xd1\x18\x52\xef\xd6\x24\x06\x99\xd6\x10\xa9\x65\x55\x85\x35\x0e\xf4\x2a\x20\x71\x57\x70\xa0\x6a\x10\xb8\xd1\xbb\x32"
    b"\x16\xc1\xa4\x19\xc8\xd0\xd2\xb8\x08\x6c\x37\x1e\x53\xab\x41\x51\x4c\x77\x48\x27\x99\xeb\x8e\xdf\xb5\xbc\xb0\x34\xa8\x48\x9b\xe1"
    b"\xb3\x0c\x1c\x39\x63\x5a\xc9\xc5\x4a\xaa\xd8\x4e\xcb\x8a\x41\xe3\x4f\xca\x9c\x5b\x73\xe3\x63\x77\xf3\x6f\x2e\x68\xa3\xb8\xb2\xd6"
    b"\xee\x82\x8f\x74\xfc\xb2\xef\x5d\x6f\x63\xa5\x78\x60\x2f\x17\x43\x14\x78\xc8\x84\x72\xab\xf0\xa1\x08\x02\xc7\x8c\xec\x39\x64\x1a"
    b"\xfa\xff\xbe\x90\x28\x1e\x63\x23\xeb\x6c\x50\xa4\xe9\xbd\x82\xde\xf7\xa3\xf9\xbe\x15\x79\xc6\xb2\xf2\x78\x71\xc6\x2b\x53\x72\xe3"
    b"\xce\x3e\x27\xca\x9c\x61\x26\xea\xc7\xb8\x86\xd1\x07\xc2\xc0\x21\xd6\x7d\xda\xea\x1e\xeb\xe0\xcd\x7f\x4f\x7d\xf5\x78\xd1\x6e\xee"
    b"\xaa\x67\xf0\x06\xba\x6f\x17\x72\xc5\x7d\x63\x0a\xa6\x98\xc8\xa2\x04\x98\x3f\x11\xae\x0d\xf9\xbe\x35\x0b\x71\x1b\x1b\x47\x1c\x13"
    b"\xf5\x77\xdb\x28\x84\x7d\x04\x23\x7b\xab\xca\x32\x93\x24\xc7\x40\x0a\xbe\x9e\x3c\xbc\xbe\xc9\x15\xc4\x67\x1d\x43\x4c\x0d\x10\x9c"
    b"\xbe\xd4\xc5\x4c\xb6\x42\x3e\xcb\x9c\x29\x7f\x59\x2a\x7e\x65\xfc\xab\x6f\xcb\x5f\xec\xfa\xd6\x3a\x8c\x19\x44\x6c\x17\x58\x47\x4a"
    b"\x67\xe6\x09\x6a\x08\xc9\xbc\xf3\x85\xae\x67\xbb\x3b\xa7\xca\x84\x72\xf3\x6e\x3c\x2b\xf8\x94\xfe\x3a\xf5\x4f\xa5\xf1\x36\x1d\x5f"
    b"\x7f\x52\x0e\x51\xd1\x82\xe6\xad\x8c\x68\x05\x9b\x1f\x6c\x3e\x2b\xab\xd9\x83\x1f\x6b\xbd\x41\xfb\x19\xcd\xe0\x5b\x79\x21\x7e\x13"
)
_W = bytearray(640)  # the message schedule, 80 words of 64 bits

# Machine code in the .mpy (make mpy, a frozen firmware: mpy-cross -march),
# compiled at import from the .py elsewhere, as keccak_viper.py.
@micropython.viper
def _compress(H: ptr32, blk: ptr8, W: ptr32, K: ptr32):
    M = uint(0xFFFFFFFF)
    t = 0
    while t < 32:
        i = t << 2
        W[t] = (uint(blk[i]) << 24) | (uint(blk[i + 1]) << 16) | (uint(blk[i + 2]) << 8) | uint(blk[i + 3])
        t += 1
    while t < 160:
        # W[j] = sigma1(W[j-2]) + W[j-7] + sigma0(W[j-15]) + W[j-16] (4.1.3)
        xh = uint(W[t - 4])
        xl = uint(W[t - 3])
        sh = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
        sl = (((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))) & M
        xh = uint(W[t - 30])
        xl = uint(W[t - 29])
        uh = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        ul = (((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))) & M
        l = (sl + ul) & M
        sh += uh + ((((sl & ul) | ((sl | ul) & (l ^ M))) >> 31) & 1)
        sl = l
        vh = uint(W[t - 14])
        vl = uint(W[t - 13])
        l = (sl + vl) & M
        sh += vh + ((((sl & vl) | ((sl | vl) & (l ^ M))) >> 31) & 1)
        sl = l
        vh = uint(W[t - 32])
        vl = uint(W[t - 31])
        l = (sl + vl) & M
        sh += vh + ((((sl & vl) | ((sl | vl) & (l ^ M))) >> 31) & 1)
        sl = l
        W[t] = sh
        W[t + 1] = sl
        t += 2
    ah = uint(H[0])
    al = uint(H[1])
    bh = uint(H[2])
    bl = uint(H[3])
    ch = uint(H[4])
    cl = uint(H[5])
    dh = uint(H[6])
    dl = uint(H[7])
    eh = uint(H[8])
    el = uint(H[9])
    fh = uint(H[10])
    fl = uint(H[11])
    gh = uint(H[12])
    gl = uint(H[13])
    hh = uint(H[14])
    hl = uint(H[15])
    t = 0
    while t < 160:
        # T1 = h + SIGMA1(e) + Ch(e, f, g) + K[j] + W[j]
        sh = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
        sl = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))) & M
        uh = gh ^ (eh & (fh ^ gh))
        ul = gl ^ (el & (fl ^ gl))
        l = (sl + ul) & M
        sh += uh + ((((sl & ul) | ((sl | ul) & (l ^ M))) >> 31) & 1)
        sl = l
        uh = uint(K[t])
        ul = uint(K[t + 1])
        l = (sl + ul) & M
        sh += uh + ((((sl & ul) | ((sl | ul) & (l ^ M))) >> 31) & 1)
        sl = l
        uh = uint(W[t])
        ul = uint(W[t + 1])
        l = (sl + ul) & M
        sh += uh + ((((sl & ul) | ((sl | ul) & (l ^ M))) >> 31) & 1)
        sl = l
        l = (sl + hl) & M
        sh += hh + ((((sl & hl) | ((sl | hl) & (l ^ M))) >> 31) & 1)
        sl = l
        # T2 = SIGMA0(a) + Maj(a, b, c)
        vh = ((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))
        vl = (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))) & M
        uh = (ah & bh) | (ch & (ah | bh))
        ul = (al & bl) | (cl & (al | bl))
        l = (vl + ul) & M
        vh += uh + ((((vl & ul) | ((vl | ul) & (l ^ M))) >> 31) & 1)
        vl = l
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        eh = dh
        el = dl
        l = (el + sl) & M
        eh += sh + ((((el & sl) | ((el | sl) & (l ^ M))) >> 31) & 1)
        el = l
        eh &= M
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        ah = sh
        al = sl
        l = (al + vl) & M
        ah += vh + ((((al & vl) | ((al | vl) & (l ^ M))) >> 31) & 1)
        al = l
        ah &= M
        t += 2
    xh = uint(H[0])
    xl = uint(H[1])
    l = (xl + al) & M
    xh += ah + ((((xl & al) | ((xl | al) & (l ^ M))) >> 31) & 1)
    xl = l
    H[0] = xh
    H[1] = xl
    xh = uint(H[2])
    xl = uint(H[3])
    l = (xl + bl) & M
    xh += bh + ((((xl & bl) | ((xl | bl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[2] = xh
    H[3] = xl
    xh = uint(H[4])
    xl = uint(H[5])
    l = (xl + cl) & M
    xh += ch + ((((xl & cl) | ((xl | cl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[4] = xh
    H[5] = xl
    xh = uint(H[6])
    xl = uint(H[7])
    l = (xl + dl) & M
    xh += dh + ((((xl & dl) | ((xl | dl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[6] = xh
    H[7] = xl
    xh = uint(H[8])
    xl = uint(H[9])
    l = (xl + el) & M
    xh += eh + ((((xl & el) | ((xl | el) & (l ^ M))) >> 31) & 1)
    xl = l
    H[8] = xh
    H[9] = xl
    xh = uint(H[10])
    xl = uint(H[11])
    l = (xl + fl) & M
    xh += fh + ((((xl & fl) | ((xl | fl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[10] = xh
    H[11] = xl
    xh = uint(H[12])
    xl = uint(H[13])
    l = (xl + gl) & M
    xh += gh + ((((xl & gl) | ((xl | gl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[12] = xh
    H[13] = xl
    xh = uint(H[14])
    xl = uint(H[15])
    l = (xl + hl) & M
    xh += hh + ((((xl & hl) | ((xl | hl) & (l ^ M))) >> 31) & 1)
    xl = l
    H[14] = xh
    H[15] = xl


def sha512(data):
    """SHA-512 digest (64 bytes) of a bytes-like object."""
    # padding, section 5.1.2: a 1 bit, zeros up to 112 mod 128, the bit length
    n = len(data)
    buf = bytearray(data)
    buf.append(0x80)
    buf.extend(bytes((111 - n) % 128))
    buf.extend((8 * n).to_bytes(16, "big"))
    H = bytearray(memoryview(_K)[640:704])
    mv = memoryview(buf)
    for off in range(0, len(buf), 128):
        _compress(H, mv[off:], _W, _K)
    return struct.pack(">16I", *struct.unpack("<16I", H))
