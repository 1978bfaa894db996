"""The crypto of one SSH handshake fits a small heap: ussh.crypto compiled to
.mpy (as a board loads it) on the unix port under -X heapsize=48k, the four
operations of a handshake (X25519 key pair and shared secret, Ed25519 sign
with the first use of the key, Ed25519 verify), then the first packet's
AES-CTR and HMAC, checked against `cryptography`; the pure-Python AES and the
DRBG, which the unix port does not need, stay unloaded. A functional test of
memory, not of time. The viper modules are machine code in their .mpy files,
x64 code here, about twice the size of a board's Thumb (fe_viper.mpy, the
field code of the fast X25519/Ed25519 paths: 44 KB, 23 KB for armv7m, which a
firmware keeps in flash): in 56 KB they are left out, as a board short of RAM
would ship ussh, and the portable code runs; with them the same runs in 96 KB. (At 48 KB, with every module of ussh.crypto bigger since, the
portable verification no longer finds the heap it needs.)"""
import pytest
import os
import subprocess

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from runtimes import LIB, MPY_CROSS, NATIVE, RuntimeFailed, run

SCRIPT = """
import gc
import sys
from binascii import hexlify, unhexlify
import ussh.crypto.ed25519
from ussh.crypto import x25519, x25519_base, ed25519_public, ed25519_sign, ed25519_verify
from ussh.crypto import AESCTR, HMACSHA256, random_bytes
print("loaded", ussh.crypto.ed25519.__file__)
from ussh.crypto import curve25519
print("paths", sorted(curve25519.fast_paths().values()))
k, peer, seed, msg = (unhexlify(x) for x in %r)
gc.collect()
print("free", gc.mem_free())
print("x25519_base", hexlify(x25519_base(k)).decode())
print("x25519", hexlify(x25519(k, peer)).decode())
pub = ed25519_public(seed)
sig = ed25519_sign(seed, msg)
print("ed25519_sign", hexlify(pub).decode(), hexlify(sig).decode())
bad = bytearray(sig)
bad[5] ^= 1
print("ed25519_verify", ed25519_verify(pub, msg, sig), ed25519_verify(pub, msg, bad))
c = AESCTR(k[:16], peer[:16])
buf = bytearray(msg)
c.apply(buf)
print("aes", c.backend, hexlify(buf).decode(), hexlify(HMACSHA256(seed).mac(buf)).decode())
print("random", len(random_bytes(32)))
print("unloaded", "ussh.crypto.aes_pure" not in sys.modules, "ussh.crypto.drbg" not in sys.modules)
"""


def build_mpy(outdir, viper=True):
    # ussh/__init__, compat and crypto/*, as tools/build_mpy.py compiles them
    # (-march=host, source names relative to lib/ or native/; not the ARM-only *_thumb);
    # viper=False: without the *_viper modules
    rels = ["ussh/__init__.py", "ussh/compat.py"]
    top = {}
    for d in (LIB, NATIVE):
        top.update(("ussh/crypto/" + f, d) for f in os.listdir(os.path.join(d, "ussh", "crypto")))
    rels += [r for r in sorted(top)
             if r.endswith(".py") and (viper or not r.endswith("_viper.py")) and not r.endswith("_thumb.py")]
    for rel in rels:
        dst = os.path.join(outdir, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        subprocess.run([MPY_CROSS, "-o", dst, "-s", rel, "-march=host", os.path.join(top.get(rel, LIB), rel)],
                       check=True)
    return len(rels)


@pytest.mark.parametrize("heap,viper", [("56k", False), ("96k", True)])
def test_handshake_crypto_in_small_heap(tmp_path, heap, viper):
    assert build_mpy(str(tmp_path), viper) >= 5
    k, peer_k, seed, msg = os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(150)
    peer = X25519PrivateKey.from_private_bytes(peer_k).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ed = Ed25519PrivateKey.from_private_bytes(seed)
    want_pub = ed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ours = X25519PrivateKey.from_private_bytes(k)
    enc = Cipher(algorithms.AES(k[:16]), modes.CTR(peer[:16])).encryptor()
    ct = enc.update(msg) + enc.finalize()
    mac = hmac.HMAC(seed, hashes.SHA256())
    mac.update(ct)
    tag = mac.finalize()
    code = SCRIPT % ([x.hex() for x in (k, peer, seed, msg)],)

    out = run("unix", code, heapsize=heap, libdir=str(tmp_path)).strip().split("\n")
    assert out[0] == "loaded %s" % os.path.join(str(tmp_path), "ussh", "crypto", "ed25519.mpy")
    why = "viper" if viper else "portable: ImportError: no module named 'ussh.crypto.%s_viper'"
    assert out[1] == "paths %s" % [why.replace("%s", m) for m in ("ed25519", "x25519")]
    assert out[2].startswith("free ") and int(out[2].split()[1]) < int(heap[:-1]) * 1024
    assert out[3:] == [
        "x25519_base " + ours.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
        "x25519 " + ours.exchange(X25519PublicKey.from_public_bytes(peer)).hex(),
        "ed25519_sign %s %s" % (want_pub.hex(), ed.sign(msg).hex()),
        "ed25519_verify True False",
        "aes ecb %s %s" % (ct.hex(), tag.hex()),
        "random 32",
        "unloaded True True",
    ]


def test_heap_limit_is_in_force(tmp_path):
    # the same run in a heap far too small must fail: the option is honoured
    build_mpy(str(tmp_path))
    code = SCRIPT % ([bytes(32).hex()] * 3 + [b"x".hex()],)
    try:
        run("unix", code, heapsize="12k", libdir=str(tmp_path))
    except RuntimeFailed as e:
        assert "MemoryError" in str(e)
    else:
        raise AssertionError("ran in a 12k heap")


@pytest.mark.parametrize("runtime", ["unix", "qemu"])
def test_viper_probe_is_compiled_once(runtime):
    # compat.have_viper() compiles a viper function to learn whether the port can: machine code
    # that is never freed, so asked again (each import of a module with a fast path) it must not
    # compile again; it left 32 B of heap behind a time on the unix port
    # (the heap a loop of 40 calls keeps, less that of a loop of 40 calls of a function that
    # makes nothing: what collecting leaves either way)
    out = run(runtime, "import gc\nfrom ussh.compat import have_viper\n"
                       "def kept(fn):\n    gc.collect()\n    f = gc.mem_free()\n    for i in range(40):\n"
                       "        fn()\n    gc.collect()\n    return f - gc.mem_free()\n"
                       "a = have_viper()\nkept(bool)\nprint(a, kept(have_viper) - kept(bool))\n")
    a, kept = out.split()
    assert a == "True" and int(kept) < 40 * 16, out
