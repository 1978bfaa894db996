"""User-signature check time per key type (issue 8) on every runtime, and the .mpy size of the
optional key-type modules beside the core modules they hook into.

Keys and signatures are made on the host with `cryptography` (RSA-2048, RSA-4096, ECDSA P-256,
Ed25519; a 100-byte message as for a publickey login), then each runtime times ussh's verifier
for each: the SSH-level check auth runs (blob parsing + hash + signature). Used by bench/run.py
(section "userkeys"); also runnable alone: python bench/userkeys.py
"""
import os
import struct
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402
import runtimes  # noqa: E402

NEW = ["ussh/key_rsa.py", "ussh/key_ecdsa.py", "ussh/crypto/p256.py", "ussh/key_sk.py",
       "ussh/cert.py", "ussh/keyopts.py", "ussh/passwd.py"]
HOOKED = ["ussh/auth.py", "ussh/authkeys.py"]  # the minimal server's modules this work changed most

SCRIPT = """
from ussh.compat import ticks_diff, ticks_us
from ussh import plugins
from ussh.auth import Attempt
reg = plugins.Registry()
plugins.load_key_rows(reg)
cases = %r
for name, alg, blob, sig in cases:
    blob, sig, data = bytes.fromhex(blob), bytes.fromhex(sig), bytes(range(100))
    f = reg.verifiers[alg.encode()][1]
    att = Attempt(None, None, alg.encode(), blob)
    assert f(att, data, sig) is None, name
    n = 0
    t = ticks_us()
    while n < 3 or (n < 200 and ticks_diff(ticks_us(), t) < 300000):
        f(att, data, sig)
        n += 1
    print("BENCH verify_%%s %%.3f ms" %% (name, ticks_diff(ticks_us(), t) / 1000 / n))
"""


def _s(b):
    return struct.pack(">I", len(b)) + b


def _mpint(v):
    return _s(v.to_bytes((v.bit_length() + 8) // 8, "big"))


def cases():
    data = bytes(range(100))
    out = []
    k = ed25519.Ed25519PrivateKey.generate()
    raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    out.append(("ed25519", "ssh-ed25519", _s(b"ssh-ed25519") + _s(raw), _s(b"ssh-ed25519") + _s(k.sign(data))))
    for bits in (2048, 4096):
        k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pn = k.public_key().public_numbers()
        blob = _s(b"ssh-rsa") + _mpint(pn.e) + _mpint(pn.n)
        sig = k.sign(data, padding.PKCS1v15(), hashes.SHA512())
        out.append(("rsa%d" % bits, "rsa-sha2-512", blob, _s(b"rsa-sha2-512") + _s(sig)))
    k = ec.generate_private_key(ec.SECP256R1())
    q = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    r, s = decode_dss_signature(k.sign(data, ec.ECDSA(hashes.SHA256())))
    out.append(("ecdsa_p256", "ecdsa-sha2-nistp256", _s(b"ecdsa-sha2-nistp256") + _s(b"nistp256") + _s(q),
                _s(b"ecdsa-sha2-nistp256") + _s(_mpint(r) + _mpint(s))))
    return [(n, a, b.hex(), s.hex()) for n, a, b, s in out]


def _mpy_size(path, src):
    with tempfile.TemporaryDirectory() as d:
        dst = os.path.join(d, "x.mpy")
        subprocess.run([build_mpy.MPY_CROSS, "-O3", "-o", dst, "-s", path, "-march=host", src], check=True,
                       capture_output=True)
        return os.path.getsize(dst)


def sizes():
    rows = {}
    for rel in NEW:
        rows[rel[:-3] + ".mpy (bytes)"] = _mpy_size(rel, os.path.join(build_mpy.LIB, rel))
    for rel in HOOKED:
        now = _mpy_size(rel, os.path.join(build_mpy.LIB, rel))
        old = subprocess.run(["git", "show", "HEAD:lib/" + rel], cwd=ROOT, capture_output=True).stdout
        with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as f:
            f.write(old)
        try:
            before = _mpy_size(rel, f.name) if old else None
        finally:
            os.unlink(f.name)
        rows[rel[:-3] + ".mpy (bytes; before: %s)" % before] = now
    return rows


def section(args=None):
    cols = list(runtimes.RUNTIMES)
    code = SCRIPT % (cases(),)
    rows, notes = {}, []
    for rt in cols:
        try:
            text = runtimes.run(rt, code, timeout=getattr(args, "timeout", 900))
        except (runtimes.RuntimeFailed, subprocess.TimeoutExpired, OSError) as e:
            notes.append("%s: FAIL %s" % (rt, str(e).strip().splitlines()[-1:]))
            continue
        for line in text.splitlines():
            p = line.split()
            if len(p) == 4 and p[0] == "BENCH":
                rows.setdefault("%s (ms)" % p[1], {})[rt] = float(p[2])
    for rt in cols:
        ed = rows.get("verify_ed25519 (ms)", {}).get(rt)
        if ed:
            for name in ("rsa2048", "rsa4096", "ecdsa_p256"):
                v = rows.get("verify_%s (ms)" % name, {}).get(rt)
                if v:
                    rows.setdefault("%s / ed25519" % name, {})[rt] = round(v / ed, 2)
    for name, n in sizes().items():
        rows[name] = {"unix": n}
    notes.append("targets (unix port): rsa2048 / ed25519 <= 1, ecdsa_p256 / ed25519 <= 2")
    return {"title": "userkeys: user-signature verify, key-type module sizes (.mpy, -march=host)",
            "columns": cols, "rows": rows, "notes": notes}


if __name__ == "__main__":
    sec = section()
    for r, v in sec["rows"].items():
        print(r, v)
    for n in sec["notes"]:
        print(n)
