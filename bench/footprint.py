"""Footprint of the server on the MicroPython unix port with modules loaded as .mpy:
the smallest `-X heapsize=` at which kex, auth and an exec complete, and the .mpy size of
every module the shell server has loaded once a pty shell runs; on the emulated Cortex-M3 with
nothing frozen, the guest instructions and heap that importing a session's modules from .mpy takes
(portable, viper as machine code, viper compiled on the board: tools/qemu_small.py measure()).

Used by bench/run.py (section "footprint"); also runnable alone: python bench/footprint.py
"""
import ast
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402
import peers  # noqa: E402


def _start(lab, mpydir, heapsize):
    port = peers.free_port()
    host_key = os.path.join(lab.dir, "host_key")
    if not os.path.exists(host_key):  # measure a board that has its key already
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
    env = dict(os.environ, MICROPYPATH=mpydir + ":.frozen")
    argv = [peers.MICROPYTHON, "-X", "heapsize=%s" % heapsize, "-m", "ussh", "--bind", "127.0.0.1",
            "--port", str(port), "--host-key", host_key, "--authorized-keys", lab.authorized_keys]
    s = lab._server("ussh-heap-%s" % heapsize, argv, port, env=env, command="print(6*7)", host_key=host_key)
    s.start(timeout=20)
    # start()'s readiness probe (a connect and a close) handled first (bounded): the login
    # measured is then the only connection, not one that sometimes overlaps the probe's
    deadline = time.monotonic() + 5
    while "disconnect" not in s.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    return s


def login_ok(lab, mpydir, heapsize):
    try:
        s = _start(lab, mpydir, heapsize)
    except peers.ServerFailed:
        return False
    try:
        p = s.ssh("print(6*7)", timeout=30)
        return p.returncode == 0 and p.stdout == "42\n"
    except subprocess.TimeoutExpired:
        return False
    finally:
        s.stop()


def upload_ok(lab, mpydir, heapsize, size=65536):
    """A login and an sftp upload of size random bytes, arriving whole (its SHA-256)."""
    import hashlib

    src = os.path.join(lab.dir, "upload.bin")
    data = os.urandom(size)
    with open(src, "wb") as f:
        f.write(data)
    dst = os.path.join(lab.dir, "files", "upload.bin")
    if os.path.exists(dst):
        os.remove(dst)
    try:
        s = _start(lab, mpydir, heapsize)
    except peers.ServerFailed:
        return False
    try:
        batch = os.path.join(lab.dir, "batch")
        with open(batch, "w") as f:
            f.write("put %s upload.bin\n" % src)
        opts = s.ssh_argv("")[1:-2]  # ssh's options (its -p becomes sftp's -P), no host, no command
        i = opts.index("-p")
        argv = ["sftp", "-P", opts[i + 1]] + opts[:i] + opts[i + 2 :] + ["-b", batch, "127.0.0.1"]
        p = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        if p.returncode != 0 or not os.path.exists(dst):
            return False
        with open(dst, "rb") as f:
            return hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    except subprocess.TimeoutExpired:
        return False
    finally:
        s.stop()


def smallest_heap(lab, mpydir, lo=16, hi=1024, step=4, ok=login_ok):
    """Smallest heapsize in KiB (a multiple of step) at which a login + exec (or what ok
    checks) works; two successes in a row are required so that one lucky run does not count."""
    if not (ok(lab, mpydir, "%dk" % hi)):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if ok(lab, mpydir, "%dk" % mid) and ok(lab, mpydir, "%dk" % mid):
            hi = mid
        else:
            lo = mid
    return hi


def shell_modules(lab, mpydir):
    """Names of the modules loaded in the server once a pty shell has run a statement."""
    s = _start(lab, mpydir, "2m")
    try:
        argv = s.ssh_argv("")[:-1]
        argv.insert(1, "-tt")
        p = subprocess.run(argv, input="import sys\r\nprint('MODS', sorted(sys.modules))\r\n\x04",
                           capture_output=True, text=True, timeout=30)
        for line in p.stdout.splitlines():
            if line.startswith("MODS ["):
                return ast.literal_eval(line[5:].strip())
        raise RuntimeError("no module list in the shell output: %r" % p.stdout[-500:])
    finally:
        s.stop()


def section(args=None):
    res = build_mpy.build("host", build_mpy.BOARD_MARCH["host"])
    mpydir = build_mpy.mpy_dir("host")
    rows, notes = {}, []
    with peers.Lab(prefix="ussh-footprint-") as lab:
        mods = shell_modules(lab, mpydir)
        ours = [m for m in mods if m.startswith("ussh")]
        total = 0
        for m in ours:
            rel = m.replace(".", "/")
            for cand in (rel + ".mpy", rel + "/__init__.mpy"):
                path = os.path.join(mpydir, cand)
                if os.path.exists(path):
                    total += os.path.getsize(path)
                    break
        rows[".mpy loaded by the shell server (bytes)"] = {"unix": total}
        notes.append("modules: " + " ".join(m[5:] or "ussh" for m in ours))
        heap = smallest_heap(lab, mpydir)
        rows["smallest heapsize for kex+auth+exec (KiB)"] = {"unix": heap if heap else "FAIL"}
        heap = smallest_heap(lab, mpydir, ok=upload_ok)
        rows["smallest heapsize for kex+auth+64 KiB sftp upload (KiB)"] = {"unix": heap if heap else "FAIL"}
    # the emulated Cortex-M3 with nothing frozen (140 KB heap), ussh as .mpy on its flash
    # (tools/qemu_small.py): what importing a session's modules takes, by how the viper code comes
    import qemu_small
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ussh-footprint-qemu-") as d:
        for label, (n, heap) in qemu_small.measure(d).items():
            rows["qemu .mpy import, " + label] = {"instructions": n, "heap (B)": heap}
    return {"title": "footprint: server on the unix port, modules from .mpy; the emulated board's imports",
            "columns": ["unix", "instructions", "heap (B)"], "rows": rows, "notes": notes}


if __name__ == "__main__":
    sec = section()
    for r, v in sec["rows"].items():
        print(r, v)
    for n in sec["notes"]:
        print(n)
