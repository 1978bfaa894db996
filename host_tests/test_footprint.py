"""The footprint of the minimal shell server (issue 14), as bench/footprint.py measures it: the
MicroPython unix port, ussh compiled to .mpy as a board loads it, `python -m ussh`, OpenSSH logging
in with a key. Checks that fail when it grows, none timed: the modules a session running one
command has loaded leave out every optional part (the shell's line editor among them); such a
session completes in a heap of 136 KB, and one uploading 64 KiB with sftp in 144 KB.
bench/footprint.py's smallest heaps were 220 KB and 280-320 KB before the reads went into one
buffer, exec stopped loading the editor and the server collected between a connection's steps;
188 KB and 200 KB after (medians), with every run at 200 KB and 216 KB passing; 164 KB and 184 KB
(medians of 3, every one of 10 runs at 168 KB and 188 KB passing) once ussh.__main__ set gc.threshold
on a small heap and the server there dropped the start's parsers and left out the Ctrl-C watcher;
156 KB and 172 KB (medians of 5 and 3, every one of 10 runs at 160 KB and 176 KB passing) once
python -m ussh's parser (ussh.cli) was let go and the authorized_keys parser could go whole (its
entries' class in ussh.keys: a method held its module's globals); 152 KB for a login (median of 5,
10 of 10 at 156 KB) once the server's read buffer came from the budget (2 KB, not 4); 152 KB and
156 KB (3 of 3 each) once the channels', the login's and compat's rare code came only when used
and the login's left after it. Letting X25519 and Ed25519 go after the login too (136 KB and
140 KB) leaked heap at every login (their machine code imported again; test_faults). 144 KB and
152 KB (2 of 2 each; 10 of 10 at 148 KB and 160 KB) once the key exchange's protocol (ussh.kex,
bytecode only) went too, after the first exchange, its method's own part staying (ussh.ecdh);
128 KB and 136 KB (2 of 2 and 1 of 1; 10 of 10 at 132 KB and 140 KB) once X25519's and Ed25519's
bytecode went after the login (their machine code staying: the hundred logins of test_faults
stay flat) and the key exchange searched the client's name-lists without splitting them."""
import ast
import importlib.util
import os
import sys

import pytest

from runtimes import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402
import peers  # noqa: E402

# bench/footprint.py by its path: bench/ on sys.path would shadow modules of the same name
# elsewhere (bench/userkeys.py, fuzz/userkeys.py) for the test files collected after this one
_spec = importlib.util.spec_from_file_location("footprint", os.path.join(ROOT, "bench", "footprint.py"))
footprint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(footprint)

# modules that a key login running one command must not load: the shell's editor, file transfer,
# forwarding, other key types and certificates, the pure-Python code of what the port does natively
OPTIONAL = (
    "ussh.repl", "ussh.lineshell", "ussh.pysource", "ussh.complete", "ussh.rawrepl", "ussh.sftp", "ussh.sftp_ops", "ussh.sftp_dirs", "ussh.scp", "ussh.fs",
    "ussh.forward", "ussh.cert", "ussh.hostcert", "ussh.keyopts", "ussh.key_rsa", "ussh.key_ecdsa",
    "ussh.key_sk", "ussh.keygen", "ussh.passwd", "ussh.client", "ussh.callhome", "ussh.app",
    "ussh.crypto.sha512_pure", "ussh.crypto.aes_pure", "ussh.crypto.mlkem", "ussh.crypto.p256",
    "ussh.crypto.sha3", "ussh.crypto.ed25519_pre", "ussh.crypto.ed25519_pure",
    "ussh.cli",  # python -m ussh's parser, let go once parsed
)
HEAP = "136k"
UPLOAD_HEAP = "144k"


@pytest.fixture(scope="module")
def mpydir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("mpy"))
    res = build_mpy.build("host", build_mpy.BOARD_MARCH["host"], outdir=d)
    assert res.ok, res.errors
    return d


def test_exec_session_loads_no_optional_module(mpydir):
    with peers.Lab(prefix="ussh-footprint-test-") as lab:
        s = footprint._start(lab, mpydir, "2m")
        try:
            p = s.ssh("import sys; print(sorted(sys.modules))", timeout=30)
        finally:
            s.stop()
    assert p.returncode == 0, p.stderr
    mods = ast.literal_eval(p.stdout.strip())
    assert "ussh.kex" in mods and "ussh.pyrun" in mods  # the list is the server's
    assert [m for m in OPTIONAL if m in mods] == []
    assert "ussh.interrupt" in mods  # a big heap: Ctrl-C for code that never prints


def test_small_heap_session_leaves_out_what_a_board_does_without(mpydir):
    # a heap under 512 KB: the start's parsers gone, no Ctrl-C watcher (a board has none
    # either), garbage collected every 4 KB allocated from the imports on (ussh.__main__)
    with peers.Lab(prefix="ussh-footprint-test-") as lab:
        s = footprint._start(lab, mpydir, HEAP)
        try:
            p = s.ssh("import sys, gc; print(sorted(sys.modules)); print(gc.threshold())\n"
                      "from ussh.driver import _frozen; print(_frozen(sys.modules['ussh.connection'].__file__))", timeout=30)
        finally:
            s.stop()
    assert p.returncode == 0, p.stderr
    mods, threshold, frozen = p.stdout.splitlines()
    assert frozen == "False"  # loaded from its .mpy file: what a driver may let go (driver.in_heap)
    mods = ast.literal_eval(mods)
    assert "ussh.ecdh" in mods and "ussh.pyrun" in mods
    assert [m for m in OPTIONAL if m in mods] == []
    assert [m for m in ("ussh.interrupt", "ussh._interrupt_mp", "ussh.startup", "ussh.keyfile", "ussh.authkeys", "ussh.budget") if m in mods] == []
    # logged in: the key exchange's protocol, the login's code and the curves' bytecode were let go
    # (ussh.server._after_login); their machine code stays (imported again it would never be freed:
    # test_faults' heap test)
    gone = ("ussh.kex", "ussh.auth", "ussh.crypto.curve25519", "ussh.crypto.x25519_viper", "ussh.crypto.ed25519",
            "ussh.crypto.ed25519_viper", "ussh.crypto.ed25519_tab")
    assert [m for m in gone if m in mods] == []
    assert "ussh.crypto.fe_viper" in mods and "ussh.crypto.sha512_viper" in mods
    assert int(threshold) == 4096


def test_exec_session_fits_its_heap(mpydir):
    with peers.Lab(prefix="ussh-footprint-test-") as lab:
        assert footprint.login_ok(lab, mpydir, HEAP)


def test_sftp_upload_fits_its_heap(mpydir):
    with peers.Lab(prefix="ussh-footprint-test-") as lab:
        assert footprint.upload_ok(lab, mpydir, UPLOAD_HEAP)


def test_server_imports_leave_out_the_optional_modules():
    # the same for the imports that run when ussh.server loads (test_imports' graph), on any port
    from test_imports import graph

    g = graph()
    seen, todo = set(), ["ussh.server"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(g.get(m, ()))
    assert "ussh.transport" in seen and "ussh.kex" not in seen  # kex: at the first KEXINIT
    assert sorted(seen.intersection(OPTIONAL)) == []


def test_authorized_keys_parser_leaves_the_heap_whole(mpydir, tmp_path):
    # ussh.server.serve lets ussh.authkeys go once the Config is made; its entries' class lives in
    # ussh.keys, which a session keeps: a method of the parser's module held all of that module
    # (its globals) for as long as the entries lived (4-5 KB of a small heap on the unix port)
    import subprocess

    lines = []
    for i in range(3):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / ("k%d" % i))], check=True)
        lines.append((tmp_path / ("k%d.pub" % i)).read_text())
    ak = tmp_path / "authorized_keys"
    ak.write_text("".join(lines))
    code = ("import gc, sys, ussh\nfrom ussh import connection, keys\ngc.collect()\na = gc.mem_alloc()\n"
            "from ussh import authkeys\nentries = authkeys.load(%r, lambda *a: None)\n"
            "del sys.modules['ussh.authkeys'], ussh.authkeys, authkeys\ngc.collect()\n"
            "print(len(entries), gc.mem_alloc() - a)\n" % str(ak))
    env = dict(os.environ, MICROPYPATH=mpydir + ":.frozen")
    p = subprocess.run([peers.MICROPYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    n, held = map(int, p.stdout.split())
    assert n == 3, p.stdout + p.stderr
    assert held < 3072, held  # the three entries (1.7 KB), not the parser too (7 KB)
