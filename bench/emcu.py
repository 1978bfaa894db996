"""`make bench` section "emcu": ussh on the emulated Cortex-M3 (tools/qemu.py,
build/qemu/firmware.elf), counted in guest instructions, which qemu's `-icount shift=0,sleep=off`
makes deterministic: the same script from the same boot gives the same count on every run and
machine. The counts come from the board's 32-bit TIMER0 at 40 instructions a tick (tools/qemu.py
COUNTER), so a count is exact to one tick (where inside a tick the count starts depends on when
the code arrived over the UART); every op runs after a gc.collect(), its own garbage
collections included. Milliseconds assume one
instruction per cycle at 240 MHz (ESP32-S3) and 133 MHz (RP2040): a floor, not a promise (real
cores stall on flash, and Xtensa/Cortex-M0+ need more instructions for the same code).

Rows: the server's start-up (imports and make_config on a fresh board, and the heap it keeps),
X25519 key generation (the first call after boot shown apart, as for others), X25519
shared secret, Ed25519 sign (a 32-byte exchange hash) and verify (a 150-byte userauth blob),
SHA-512, AES-256-CTR (viper and pure backends: no cryptolib here) and HMAC-SHA256,
Keccak-f[1600] and ML-KEM-768 encapsulation on the viper and the portable Keccak path, the
server's side of each key exchange (ussh.ecdh's curve25519_sha256, pqkex's
mlkem768x25519_sha256: the client's share in, reply and K out) and their difference, the PQ
extra; the portable Ed25519 verification without and with the user's key prepared while idle
(ed25519_pre.py: its comb tables, built by driver.warm) and that preparation's cost and heap;
the idle work of the next exchange's X25519 key pair (ecdh.prepare_ephemeral, which the
stream driver runs while it waits for a client) and both exchanges with that pair made; the lowest free heap seen during the PQ exchange (gc.collect() then gc.mem_free() at
every Keccak permutation and X25519 inside it, in a run apart from the counted one); the .mpy
sizes of the PQ modules (armv7m, as frozen); `arm-none-eabi-size` of the firmware with and
without ussh.

Hook for more rows (the UART login): append a function to HOOKS; it is called as
hook(args) -> {"rows": {name: row}, "notes": [...]} with rows made by instr_row(n) or
bytes_row(n); an exception in a hook becomes a note, the section goes on.

Also runnable alone: .venv/bin/python bench/emcu.py
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu  # noqa: E402

COLUMNS = ["instructions", "ms @240 MHz", "ms @133 MHz", "bytes"]
HOOKS = []  # hook(args) -> {"rows": {...}, "notes": [...]}; see the docstring
PQ_MODULES = ("ussh/pqkex.py", "ussh/crypto/mlkem.py", "ussh/crypto/mlkem_viper.py", "ussh/crypto/sha3.py",
              "ussh/crypto/keccak_viper.py")


def instr_row(n):
    """A table row for n guest instructions: the count and its floor in ms at 240 and 133 MHz."""
    return {"instructions": n, "ms @240 MHz": round(n / 240e3, 2), "ms @133 MHz": round(n / 133e3, 2)}


def bytes_row(n):
    return {"bytes": n}


# Runs on the board after qemu.COUNTER; PATH is "viper" or "portable".
GUEST = """
import gc
from ussh.crypto import sha3
if PATH == "portable":
    sha3.keccak_f1600 = sha3.keccak_f1600_pure
from ussh.crypto import rand
rand.set_source(lambda n: bytes([(7 * i + n) & 255 for i in range(n)]))  # fixed: same run every time
from ussh.crypto.curve25519 import x25519, x25519_base
from ussh.crypto.ed25519 import ed25519_public, ed25519_sign, ed25519_verify
from ussh.crypto import mlkem
if PATH == "portable":
    mlkem._fast = False  # the polynomial arithmetic on Python ints too
print("KECCAK", "portable" if sha3.keccak_f1600 is sha3.keccak_f1600_pure else sha3.KECCAK,
      "MLKEM", "viper" if mlkem._fast else "portable")
from ussh import ecdh, kex, pqkex
classical = kex._row(kex.KEX_METHODS, b"curve25519-sha256")[1]
k1 = bytes(range(32))
k2 = bytes(range(1, 33))
seed = bytes(range(2, 34))
h = bytes(range(3, 35))
blob = bytes(range(150))
ek, dk = mlkem.keygen(bytes(range(32)), bytes(range(32, 64)))
state = bytearray(200)

def m(name, fn, *a):
    gc.collect()
    tstart()
    r = fn(*a)
    n = tstop()
    print("COUNT", name, n)
    return r

if PATH == "viper":
    m("x25519_keygen_first", x25519_base, k1)
    pub = m("x25519_keygen", x25519_base, k2)
    m("x25519_shared", x25519, k1, pub)
    epub = ed25519_public(seed)
    m("ed25519_sign_first", ed25519_sign, seed, h)
    m("ed25519_sign", ed25519_sign, seed, h)
    sig = ed25519_sign(seed, blob)
    m("ed25519_verify_first", ed25519_verify, epub, blob, sig)
    m("ed25519_verify", ed25519_verify, epub, blob, sig)
    from ussh.crypto.sha512 import sha512
    from ussh.crypto import AESCTR, HMACSHA256
    m("sha512_150B", sha512, blob)
    kb = bytearray(1024)
    for backend in ("viper", "pure"):
        m("aes256ctr_1KB_%s_first" % backend, AESCTR(k1, k2[:16], backend).apply, kb)
        m("aes256ctr_1KB_%s" % backend, AESCTR(k2, k1[:16], backend).apply, kb)
    m("hmac_sha256_1KB", HMACSHA256(k1).mac, kb)
else:
    pub = x25519_base(k2)
    # the portable Ed25519 verification, and with the user's key prepared while idle (ed25519_pre)
    from ussh.crypto import ed25519, ed25519_pre
    fast, ed25519._fast = ed25519._fast, False
    epub = ed25519_public(seed)
    sig = ed25519_sign(seed, blob)
    m("ed25519_verify_portable", ed25519_verify, epub, blob, sig)
    gc.collect()
    f0 = gc.mem_free()
    m("ed25519_prepare_portable", ed25519_pre.prepare, epub)
    gc.collect()
    print("HEAP ed25519_prepare_portable", f0 - gc.mem_free())
    m("ed25519_verify_portable_prepared", ed25519_verify, epub, blob, sig)
    ed25519._pre.clear()
    ed25519._fast = fast
m("keccak_f1600", sha3.keccak_f1600, state)
m("keccak_f1600", sha3.keccak_f1600, state)
if PATH == "viper":
    from ussh.crypto import keccak_viper
    m("keccak_f1600_viper", keccak_viper.keccak_f1600, state)
m("mlkem768_encaps_first", mlkem.encaps, ek, k1)
m("mlkem768_encaps", mlkem.encaps, ek, k2)
share = ek + pub
ecdh._eph[:] = []  # no pair made ahead: the exchange makes its own
m("kex_curve25519_server", classical, pub)
m("kex_mlkem768x25519_server", pqkex.mlkem768x25519_sha256, share)
# the ephemeral pair made while idle (stream.serve_stream waits for a client), then the exchange
m("idle_ephemeral", ecdh.prepare_ephemeral)
m("kex_curve25519_server_idle", classical, pub)
ecdh.prepare_ephemeral()
m("kex_mlkem768x25519_server_idle", pqkex.mlkem768x25519_sha256, share)

# heap: the lowest free heap (after a collection) at every Keccak permutation and X25519
# inside one PQ exchange; not counted (the collections would be)
low = [1 << 30]
def sampled(fn):
    def f(*a):
        gc.collect()
        x = gc.mem_free()
        if x < low[0]:
            low[0] = x
        return fn(*a)
    return f
kf, xf, xb = sha3.keccak_f1600, pqkex.x25519, ecdh.x25519_base
sha3.keccak_f1600, pqkex.x25519, ecdh.x25519_base = sampled(kf), sampled(xf), sampled(xb)
ecdh._eph[:] = []  # the exchange makes its own key pair (ecdh.x25519_base)
gc.collect()
before = gc.mem_free()
pqkex.mlkem768x25519_sha256(share)
sha3.keccak_f1600, pqkex.x25519, ecdh.x25519_base = kf, xf, xb
print("HEAP free_before_pq_kex", before)
print("HEAP lowest_free_during_pq_kex", low[0])
print("HEAP heap_total", gc.mem_free() + gc.mem_alloc())
"""


def run_board(path):
    """{"COUNT": {name: n}, "HEAP": {name: n}} from a fresh board on Keccak path `path`."""
    with qemu.Board(icount=True, timeout=900) as b:
        b.exec(qemu.COUNTER)
        out = b.exec("PATH = %r\n" % path + GUEST, timeout=900)
    res = {"COUNT": {}, "HEAP": {}, "PATHS": ""}
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "KECCAK":
            res["PATHS"] = line
        if len(p) == 3 and p[0] in res:
            res[p[0]][p[1]] = int(p[2])
    return res


def mpy_sizes():
    import build_mpy

    with tempfile.TemporaryDirectory() as d:
        r = build_mpy.build("qemu", outdir=d)
    return {m: r.sizes.get(m) for m in PQ_MODULES}, r.march


def elf_size(path):
    out = subprocess.run(["arm-none-eabi-size", path], capture_output=True, text=True, check=True).stdout
    text, data, bss = [int(x) for x in out.splitlines()[1].split()[:3]]
    return text, data, bss


def section(args=None):
    rows, notes, raw = {}, [], {}
    if not os.path.exists(qemu.FIRMWARE):
        return {"title": "emulated Cortex-M3", "columns": COLUMNS, "rows": {},
                "notes": ["%s missing: make firmware" % os.path.relpath(qemu.FIRMWARE, ROOT)], "raw": {}}
    v = run_board("viper")
    again = run_board("viper")
    p = run_board("portable")
    raw = {"viper": v, "viper_again": again, "portable": p}
    c, cp = v["COUNT"], p["COUNT"]
    rows["X25519 keygen, first call"] = instr_row(c["x25519_keygen_first"])
    rows["X25519 keygen"] = instr_row(c["x25519_keygen"])
    rows["X25519 shared secret"] = instr_row(c["x25519_shared"])
    rows["Ed25519 sign (32 B), first call"] = instr_row(c["ed25519_sign_first"])
    rows["Ed25519 sign (32 B)"] = instr_row(c["ed25519_sign"])
    rows["Ed25519 verify (150 B), first call"] = instr_row(c["ed25519_verify_first"])
    rows["Ed25519 verify (150 B)"] = instr_row(c["ed25519_verify"])
    rows["SHA-512 (150 B)"] = instr_row(c["sha512_150B"])
    for b in ("viper", "pure"):
        rows["AES-256-CTR (1 KB), %s, first use (tables)" % b] = instr_row(c["aes256ctr_1KB_%s_first" % b])
        rows["AES-256-CTR (1 KB), %s" % b] = instr_row(c["aes256ctr_1KB_%s" % b])
    rows["HMAC-SHA256 (1 KB)"] = instr_row(c["hmac_sha256_1KB"])
    rows["Keccak-f[1600], viper code (keccak_viper.py)"] = instr_row(c["keccak_f1600_viper"])
    for tag, cc in (("viper", c), ("portable", cp)):
        rows["Keccak-f[1600], %s" % tag] = instr_row(cc["keccak_f1600"])
        rows["ML-KEM-768 encaps, %s, first call" % tag] = instr_row(cc["mlkem768_encaps_first"])
        rows["ML-KEM-768 encaps, %s" % tag] = instr_row(cc["mlkem768_encaps"])
    rows["kex curve25519-sha256, server side"] = instr_row(c["kex_curve25519_server"])
    rows["idle work: the next exchange's X25519 key pair (ecdh.prepare_ephemeral)"] = instr_row(c["idle_ephemeral"])
    rows["kex curve25519-sha256, server side, key pair made while idle"] = instr_row(c["kex_curve25519_server_idle"])
    rows["kex mlkem768x25519-sha256, server side, viper, key pair made while idle"] = instr_row(
        c["kex_mlkem768x25519_server_idle"])
    for tag, cc, r in (("viper", c, v), ("portable", cp, p)):
        rows["kex mlkem768x25519-sha256, server side, %s" % tag] = instr_row(cc["kex_mlkem768x25519_server"])
        rows["PQ extra (mlkem768x25519 - curve25519), %s" % tag] = instr_row(
            cc["kex_mlkem768x25519_server"] - cc["kex_curve25519_server"])
    for tag, r in (("viper", v), ("portable", p)):
        hp = r["HEAP"]
        rows["free heap before the PQ exchange, %s" % tag] = bytes_row(hp["free_before_pq_kex"])
        rows["lowest free heap during the PQ exchange, %s" % tag] = bytes_row(hp["lowest_free_during_pq_kex"])
        rows["peak heap of the PQ exchange, %s" % tag] = bytes_row(
            hp["free_before_pq_kex"] - hp["lowest_free_during_pq_kex"])
    rows["heap of the firmware (gc total)"] = bytes_row(v["HEAP"]["heap_total"])
    rows["Ed25519 verify (150 B), portable"] = instr_row(cp["ed25519_verify_portable"])
    rows["idle work, portable: a user's key's comb tables (ed25519_pre.prepare, in driver.warm)"] = \
        instr_row(cp["ed25519_prepare_portable"])
    rows["heap the tables of one user's key keep (portable)"] = bytes_row(p["HEAP"]["ed25519_prepare_portable"])
    rows["Ed25519 verify (150 B), portable, user's key prepared while idle"] = \
        instr_row(cp["ed25519_verify_portable_prepared"])
    try:
        sizes, march = mpy_sizes()
        for mod, n in sizes.items():
            rows[".mpy %s (-march=%s)" % (mod[:-3], march)] = bytes_row(n)
        rows[".mpy PQ modules, total"] = bytes_row(sum(n or 0 for n in sizes.values()))
    except Exception as e:  # mpy-cross missing: the rest of the table stands
        notes.append("mpy sizes: %s" % e)
    try:
        t, d, _ = elf_size(qemu.FIRMWARE)
        tp, dp, _ = elf_size(qemu.FIRMWARE_PLAIN)
        rows["firmware.elf text+data, ussh frozen"] = bytes_row(t + d)
        rows["firmware-plain.elf text+data, nothing frozen"] = bytes_row(tp + dp)
        rows["ussh frozen in flash (difference)"] = bytes_row(t + d - tp - dp)
    except (OSError, subprocess.CalledProcessError, IndexError, ValueError) as e:
        notes.append("firmware size: %s" % e)
    for hook in HOOKS:
        try:
            h = hook(args)
            rows.update(h.get("rows", {}))
            notes.extend(h.get("notes", ()))
        except Exception as e:  # a failing hook is a note; the rest of the table stands
            notes.append("%s: FAIL %s" % (getattr(hook, "__name__", hook), e))
    # the count's start falls anywhere inside a 40-instruction tick (when the code arrives over
    # the UART is host timing), so a count is exact to one tick; beyond that it would be a bug
    notes.append("PQ paths: 'viper' rows ran %s (Keccak in Thumb assembler where keccak_thumb.py is "
                 "frozen, ML-KEM's polynomials in viper code: mlkem_viper.py); 'portable' rows ran %s"
                 % (v["PATHS"], p["PATHS"]))
    worst = max(abs(v["COUNT"][k] - again["COUNT"][k]) for k in v["COUNT"])
    notes.append("deterministic: a second viper run from boot differs by at most %d instructions%s"
                 % (worst, "" if worst <= qemu.INSTR_PER_TICK else " (MORE THAN ONE TICK: not deterministic)"))
    notes.append("instructions = TIMER0 ticks x 40 at -icount shift=0; ms = instructions at 1 per cycle: a floor")
    notes.append("'first call': the first use after boot (ed25519_tab.py spares building the comb tables: "
                 "without it the first X25519 keygen or signature costs 135 M instructions more)")
    return {"title": "emulated Cortex-M3 (qemu mps2-an385, MicroPython %s)" % _version(), "columns": COLUMNS,
            "rows": rows, "notes": notes, "raw": raw}


def _version():
    try:
        with open(os.path.join(ROOT, "build", "mpsrc", "ready")) as f:
            return f.read().strip().replace("micropython-", "")
    except OSError:
        return "?"


# -- the whole login over UART1 (boards/qemu/main.py, tools/qemu_login.py)
def uart_login(args=None, runs=3):
    """Rows for the stock OpenSSH client's login over the board's UART1 running print(6*7):
    guest instructions from the client's first byte to the exec output written (median of
    `runs` fresh boards; the waits for the host, while the UART is empty or full, are left out:
    main.py stops TIMER0 during them), and the lowest free heap (a run apart: gc.collect() and
    gc.mem_free() at every read, write and log line, which would distort the count)."""
    import qemu_login

    rows, notes = {}, []
    for viper in (True, False):
        counts = []
        for _ in range(runs):
            p, log, r = qemu_login.login(measure=True, viper=viper)
            if p.stdout != "42\n" or "instructions" not in r:
                raise RuntimeError("UART login failed: %r %s" % (p.stdout, (p.stderr + log)[-300:]))
            counts.append(r["instructions"])
        counts.sort()
        n = counts[len(counts) // 2]
        tag = "viper" if viper else "portable"
        rows["login over UART1 (OpenSSH 9.2, curve25519-sha256, connect to exec output), %s" % tag] = instr_row(n)
        notes.append("UART login, %s: median of %d runs %s (spread %.1f%%)"
                     % (tag, runs, counts, 100.0 * (counts[-1] - counts[0]) / n))
    p, log, r = qemu_login.login(heap=True)
    if p.stdout != "42\n" or "heap" not in r:
        raise RuntimeError("UART login (heap) failed: %r %s" % (p.stdout, (p.stderr + log)[-300:]))
    rows["lowest free heap during the UART login (after a collection at each read, write, log line)"] = \
        bytes_row(r["heap"])
    notes += ["UART login: counted from the client's first byte to the exec output written, leaving out "
              "the waits for the host (boards/qemu/main.py stops TIMER0 while the UART is empty or full); "
              "runs differ because the client's X25519 key, the nonces and the random padding differ "
              "every time, and big-integer arithmetic takes value-dependent time",
              "UART login targets: <= 100 M instructions portable (30 M with viper), >= 40 KB free heap "
              "at the lowest point (host_tests/test_qemu_login.py logs in with 40 KB held away)"]
    return {"rows": rows, "notes": notes}


HOOKS.append(uart_login)


# -- the server's start-up: imports (frozen: bytecode and machine code in flash) and make_config
STARTUP = """
import gc
gc.collect()
f0 = gc.mem_free()
tstart()
from ussh.startup import make_config
from ussh.stream import serve_stream
from ussh.crypto import curve25519, ed25519, rand
rand.set_source(lambda n: bytes(n))  # (main.py gives the host's entropy)
cfg = make_config(HK, AK, log=lambda m: None)
n = tstop()
gc.collect()
print("COUNT startup", n)
print("HEAP startup_retained", f0 - gc.mem_free())
from ussh.driver import warm
gc.collect()
tstart()
warm(cfg)
print("COUNT warm", tstop())
from ussh.crypto import fe_viper
print("PATHS", sorted(curve25519.fast_paths().items()) + [("field products", fe_viper.PRODUCTS)])
"""


def startup(args=None, elf=None):
    """Rows for the server's start-up on a fresh board: guest instructions from nothing imported
    to a Config (boards/qemu/main.py's serve() before it serves: ussh's imports, the host key and
    authorized_keys parsed) and the heap that stays taken; which fast paths loaded."""
    import tempfile as tf

    from peers import keygen

    with tf.TemporaryDirectory() as d:
        hk = keygen(os.path.join(d, "host"))
        with open(hk, "rb") as f:
            hkb = f.read()
        with open(hk + ".pub", "rb") as f:
            akb = f.read()
    with qemu.Board(elf=elf or qemu.FIRMWARE, icount=True, timeout=300) as b:
        b.exec(qemu.COUNTER)
        out = b.exec("HK = %r\nAK = %r\n" % (hkb, akb) + STARTUP)
    r = {}
    paths = ""
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[0] in ("COUNT", "HEAP"):
            r[p[1]] = int(p[2])
        elif line.startswith("PATHS"):
            paths = line[6:]
    rows = {"server start-up (imports, make_config), fresh board": instr_row(r["startup"]),
            "heap taken by the start-up (after a collection)": bytes_row(r["startup_retained"]),
            "idle work before the first client: the host key's check, the cipher's first use (driver.warm)":
                instr_row(r["warm"])}
    notes = ["start-up: fast paths %s; the viper modules are frozen machine code (mpy-cross "
             "-march=armv7m): nothing is compiled at start" % paths]
    return {"rows": rows, "notes": notes}


HOOKS.append(startup)


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import run

    print(run.format_section(section()))
