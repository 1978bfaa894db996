"""Writes the lists of modules that get onto a board, from lib/ussh (portable Python) and
native/ussh (viper and Thumb assembler: mpy-cross compiles them only for an arch), split by feature as
micropython-lib splits aioble (a core, and a package per optional feature on top of it):
    package.json             mip: the core server, ed25519 keys (`mpremote mip install github:OWNER/ussh`)
    package-pq.json          mip: the post-quantum key exchange mlkem768x25519-sha256 (optional)
    package-keys.json        mip: RSA, ECDSA and security-key user keys, certificates (optional)
    package-sftp.json        mip: file transfer, sftp and scp, and app updates (optional)
    package-client.json      mip: the board as an SSH client, call home (optional)
    package-mpremote.json    mip: mpremote's raw REPL through `ssh -L N:repl:1` (optional)
    firmware/ussh_package.py the frozen-firmware manifest's package() call (all of them)

usage: python tools/packages.py          rewrite the files
       python tools/packages.py --check  exit 1 when one of them is out of date (make test does this)

Every module of lib/ussh and native/ussh goes into the core package except those named below (ussh.plugins loads
each optional one only when it is installed); run this after adding or removing a module.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
NATIVE = os.path.join(ROOT, "native")  # native/ussh/...: the same package, its machine-code modules
VERSION = "0.1.0"
HOST_ONLY = ("ussh/_compat_cpython.py",)  # CPython's half of compat: never on a board
# Thumb assembler: ARM boards only (mpy-cross refuses it for other arches), frozen by
# firmware/ussh_thumb.py (manifest_qemu.py, manifest_rp2.py), in `make mpy BOARD=rp2|qemu`; mip
# leaves them out (a board would compile their 3,800 lines at import)
ARM_ONLY = ("ussh/crypto/fe_thumb.py", "ussh/crypto/keccak_thumb.py")
# optional features: package file -> its modules (the server runs without any of them)
OPTIONAL = {
    "package-pq.json": ("ussh/pqkex.py", "ussh/crypto/mlkem.py", "ussh/crypto/sha3.py", "ussh/crypto/keccak_viper.py",
                        "ussh/crypto/mlkem_viper.py"),
    "package-keys.json": ("ussh/key_rsa.py", "ussh/key_ecdsa.py", "ussh/crypto/p256.py", "ussh/key_sk.py",
                          "ussh/cert.py", "ussh/hostcert.py"),
    # app updates (ussh.app, `make push`) arrive over SFTP
    "package-sftp.json": ("ussh/sftp.py", "ussh/sftp_ops.py", "ussh/sftp_dirs.py", "ussh/scp.py", "ussh/fs.py",
                          "ussh/app.py", "ussh/appslot.py", "ussh/apppush.py"),
    "package-client.json": ("ussh/client.py", "ussh/client_chan.py", "ussh/client_conn.py", "ussh/client_kex.py", "ussh/client_sftp.py",
                            "ussh/client_stream.py", "ussh/knownhosts.py", "ussh/callhome.py"),
    # the toolchain over SSH: a direct-tcpip channel to the reserved host "repl"
    "package-mpremote.json": ("ussh/rawrepl.py", "ussh/rawrepl_io.py"),
}


def _walk(top):
    out = []
    for d, dirs, files in os.walk(os.path.join(top, "ussh")):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        out += [os.path.relpath(os.path.join(d, f), top) for f in files if f.endswith(".py")]
    return out


def native_modules():
    """The modules under native/ (paths like ussh/crypto/fe_viper.py)."""
    return sorted(_walk(NATIVE))


def modules():
    out = _walk(LIB) + _walk(NATIVE)
    return sorted(out, key=lambda m: (m.count("/"), m))  # the package's top level first


def source(m):
    """The module's file relative to the checkout: lib/ussh/... or native/ussh/..."""
    return ("native/" if os.path.isfile(os.path.join(NATIVE, m)) else "lib/") + m


def _package_json(files):
    rows = ",\n".join("    " + json.dumps([m, source(m)]) for m in files)
    return '{\n  "urls": [\n%s\n  ],\n  "version": "%s"\n}\n' % (rows, VERSION)


def _package(files, base):
    rows = "".join('        "%s",\n' % m[len("ussh/") :] for m in files)
    return ('package(\n    "ussh",\n    files=tuple(f for f in (\n%s    ) if f not in (options.exclude or ())),\n'
            '    base_path="../%s",\n    opt=3,\n)\n') % (rows, base)


def _manifest(files):
    native = [m for m in files if source(m).startswith("native/")]
    return (
        "# The ussh modules to freeze (included by manifest.py and manifest_board.py): every module\n"
        "# of lib/ussh but %s, and native/ussh's viper modules (the same package,\n"
        "# compiled with the port's -march) but the ARM-only crypto/*_thumb.py (ussh_thumb.py).\n"
        "# Written by tools/packages.py: run it after adding or removing a module (make test\n"
        "# checks this file is current). include(\"ussh_package.py\", exclude=(...)) leaves out\n"
        "# the modules named (paths under ussh/).\n"
    ) % ", ".join(HOST_ONLY) + _package([m for m in files if m not in native], "lib") + _package(native, "native")


def outputs():
    """{path relative to the checkout: text} for each file."""
    board = [m for m in modules() if m not in HOST_ONLY + ARM_ONLY]
    optional = [m for mods in OPTIONAL.values() for m in mods]
    out = {"package.json": _package_json([m for m in board if m not in optional])}
    for name, mods in OPTIONAL.items():
        out[name] = _package_json([m for m in board if m in mods])
    out["firmware/ussh_package.py"] = _manifest(board)
    return out


def main(argv):
    stale = []
    for rel, text in outputs().items():
        path = os.path.join(ROOT, rel)
        try:
            with open(path) as f:
                same = f.read() == text
        except OSError:
            same = False
        if same:
            continue
        stale.append(rel)
        if "--check" not in argv:
            with open(path, "w") as f:
                f.write(text)
    if "--check" in argv:
        if stale:
            print("out of date (run python tools/packages.py): " + ", ".join(stale))
            return 1
        return 0
    print("wrote " + (", ".join(stale) if stale else "nothing: all current"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
