"""`make deploy`: everything a board needs for ussh, over its USB serial port (or a virtual
board's socket), through mpremote.

usage: python tools/deploy.py --board esp32|rp2|unix --port DEVICE [--ssh-port N]
           [--wifi-ssid S --wifi-password P] [--max-connections N] [--ssh-name NAME]

1. compiles lib/ussh and native/ussh to .mpy for the board's arch (tools/build_mpy.py) and replaces :lib/ussh;
2. copies boards/<board>/*.py (main.py, boot.py) to the board's folder;
3. writes :ussh.cfg (Wi-Fi given on an earlier run is kept when none is given now);
4. writes :authorized_keys from $HOME/.ssh/*.pub (making ~/.ssh/id_ed25519 when there is none);
5. makes the host key ON THE BOARD (kept when there is one) and prints its fingerprint,
   the known_hosts line and an ~/.ssh/config block; --ssh-name NAME adds both to $HOME/.ssh.
6. --host-ca CA_KEY: the host key's public half (from the board) is signed here with
   `ssh-keygen -s CA_KEY -h` (principals: the board's IP and --ssh-name), the certificate is copied
   to :ssh_host_ed25519_key-cert.pub (host_cert in ussh.cfg), and the `@cert-authority` line that
   trusts every board signed by that CA is printed. The private host key never leaves the board.
The Wi-Fi password goes into ussh.cfg only; it is never printed.
"""
import argparse
import ast
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402
import packages  # noqa: E402
from ussh import board as ussh_board  # noqa: E402  (the config parser the board runs)
from ussh import passwd  # noqa: E402
from ussh import keys  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
BOARDS = {"esp32": "esp32", "rp2": "rp2", "unix": "host"}  # board -> build_mpy board (arch)
HOST_KEY = "ssh_host_ed25519_key"
HOST_CERT = HOST_KEY + "-cert.pub"

_PREPARE = """
import os
def _rm(p):
    try:
        m = os.stat(p)[0]
    except OSError:
        return
    if m & 0x4000:
        for n in os.listdir(p):
            _rm(p + "/" + n)
        os.rmdir(p)
    else:
        os.remove(p)
_rm("lib/ussh")
try:
    os.mkdir("lib")
except OSError:
    pass
try:
    print("USSH-CFG", repr(open("ussh.cfg").read()))
except OSError:
    pass
"""

_HOSTKEY = """
import os
try:
    os.stat(%(path)r)
    made = 0
except OSError:
    made = 1
from ussh import keyfile
k = keyfile.load_or_create(%(path)r, lambda m: None)
print("USSH-HOSTKEY", made, k.public_line())
"""

_JOIN = """
from ussh import board
c = board.load("ussh.cfg")
print("USSH-IP", board.join(c["wifi_ssid"], c["wifi_password"], c["wifi_timeout"]))
"""


def mpremote(device, *args, capture=False):
    argv = [MPREMOTE, "connect", device]
    if device.startswith("socket://"):
        argv.append("resume")  # the unix port has no soft reset
    argv += list(args)
    p = subprocess.run(argv, capture_output=capture, text=True, timeout=300)
    if p.returncode != 0:
        if capture:
            sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("deploy: mpremote %s failed (%d)" % (" ".join(args[:2]), p.returncode))
    return p.stdout if capture else ""


def tagged(out, tag):
    for line in out.splitlines():
        if line.startswith(tag + " "):
            return line[len(tag) + 1 :]
    return None


def config_text(a, old):
    ssid, password = a.wifi_ssid, a.wifi_password
    if not ssid and old:  # keep the Wi-Fi of an earlier deploy
        ssid, password = old["wifi_ssid"], old["wifi_password"]
    slash = "" if a.board == "unix" else "/"  # the virtual board lives in its folder
    lines = [
        "# ussh settings, written by `make deploy` (name = value; \"quotes\" keep spaces)",
        "wifi_ssid = \"%s\"" % ssid,
        "wifi_password = \"%s\"" % password,
        "wifi_timeout = 20",
        "bind = %s" % ("127.0.0.1" if a.board == "unix" else "0.0.0.0"),
        "port = %d" % a.ssh_port,
        "host_key = %s%s" % (slash, HOST_KEY),
        "authorized_keys = %sauthorized_keys" % slash,
        "max_connections = %d" % a.max_connections,
        "root = %s" % ("." if a.board == "unix" else "/"),
    ]
    # PASSWORD=: the salted hash only (ussh.passwd); without it an earlier one is kept
    pw = passwd.make(a.password) if a.password else (old or {}).get("password_hash", "")
    if pw:
        lines.append("password_hash = %s" % pw)
    # HOST_CA=: the certificate deploy signs; without it one of an earlier deploy is kept
    cert = slash + HOST_CERT if getattr(a, "host_ca", "") else (old or {}).get("host_cert", "")
    if cert:
        lines.append("host_cert = %s" % cert)
    return "\n".join(lines) + "\n"


def user_keys(home):
    ssh = os.path.join(home, ".ssh")
    pubs = sorted(glob.glob(os.path.join(ssh, "*.pub")))
    if not pubs:
        os.makedirs(ssh, mode=0o700, exist_ok=True)
        path = os.path.join(ssh, "id_ed25519")
        print("deploy: no key pair in %s: creating %s (no passphrase) for logging in" % (ssh, path))
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
        pubs = [path + ".pub"]
    text = ""
    for p in pubs:
        with open(p) as f:
            text += f.read().strip() + "\n"
    return pubs, text


def add_to_ssh(home, name, host, port, known_line):
    ssh = os.path.join(home, ".ssh")
    os.makedirs(ssh, mode=0o700, exist_ok=True)
    kh = os.path.join(ssh, "known_hosts")
    have = open(kh).read().splitlines() if os.path.exists(kh) else []
    if known_line not in have:
        with open(kh, "a") as f:
            f.write(known_line + "\n")
        print("deploy: added the host key to %s" % kh)
    cfg = os.path.join(ssh, "config")
    text = open(cfg).read() if os.path.exists(cfg) else ""
    if ("Host %s\n" % name) in text:
        print("deploy: %s already has `Host %s`: left as it is" % (cfg, name))
        return
    with open(cfg, "a") as f:
        f.write("\nHost %s\n    HostName %s\n    Port %d\n" % (name, host, port))
    print("deploy: added `Host %s` to %s: ssh %s" % (name, cfg, name))


def sign_host_key(a, tmp, pub, principals, slash):
    """The board's public host key signed by the CA a.host_ca (ssh-keygen -s -h), copied to the
    board; prints the @cert-authority line."""
    pub_path = os.path.join(tmp, "host_key.pub")
    with open(pub_path, "w") as f:
        f.write(pub + "\n")
    argv = ["ssh-keygen", "-q", "-s", a.host_ca, "-h", "-I", "ussh-" + (a.ssh_name or "board")]
    if principals:
        argv += ["-n", ",".join(principals)]
    p = subprocess.run(argv + [pub_path], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise SystemExit("deploy: ssh-keygen -s %s failed: %s" % (a.host_ca, p.stderr.strip()))
    cert = os.path.join(tmp, "host_key-cert.pub")
    mpremote(a.port, "fs", "cp", cert, ":" + HOST_CERT, capture=True)
    with open(a.host_ca + ".pub") as f:
        ca_pub = " ".join(f.read().split()[:2])
    print("deploy: host certificate signed by %s (principals %s), copied to %s%s"
          % (a.host_ca, ",".join(principals) or "any host", slash, HOST_CERT))
    print("@cert-authority line (known_hosts; trusts every board this CA signs):")
    print("    @cert-authority * %s" % ca_pub)
    print("USSH-CERT-AUTHORITY @cert-authority * %s" % ca_pub)


def main(argv):
    ap = argparse.ArgumentParser(description="deploy ussh to a board through mpremote")
    ap.add_argument("--board", required=True, choices=sorted(BOARDS))
    ap.add_argument("--port", required=True, help="serial device, or socket://127.0.0.1:N (virtual board)")
    ap.add_argument("--ssh-port", type=int, default=None, help="SSH port (default 22; unix: 2222)")
    # from the environment by default (make exports them): no shell quoting, not in `ps`
    ap.add_argument("--wifi-ssid", default=os.environ.get("WIFI_SSID", ""))
    ap.add_argument("--wifi-password", default=os.environ.get("WIFI_PASSWORD", ""))
    ap.add_argument("--password", default=os.environ.get("PASSWORD", ""),
                    help="enables password login; the board stores only its PBKDF2 hash")
    ap.add_argument("--max-connections", type=int, default=2)
    ap.add_argument("--ssh-name", default="", help="add `Host NAME` and the host key to $HOME/.ssh")
    ap.add_argument("--host-ca", default="", help="sign the board's host key with this CA private key")
    a = ap.parse_args(argv)
    if a.ssh_port is None:
        a.ssh_port = 2222 if a.board == "unix" else 22
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if '"' in a.wifi_ssid + a.wifi_password or "\n" in a.wifi_ssid + a.wifi_password:
        raise SystemExit("deploy: WIFI_SSID/WIFI_PASSWORD cannot hold a double quote or a newline")

    with tempfile.TemporaryDirectory() as tmp:  # not build/mpy: a `make mpy` beside us cannot swap files
        return _deploy(a, home, tmp)


def _deploy(a, home, tmp):
    res = build_mpy.build(BOARDS[a.board], outdir=os.path.join(tmp, "mpy"))
    if not res.ok:
        raise SystemExit("deploy: mpy-cross failed: %s" % res.errors)
    for m in packages.HOST_ONLY:  # CPython's half of compat: not for a board
        os.remove(os.path.join(res.outdir, m[:-3] + ".mpy"))
    print("deploy: %d modules compiled for %s (%s)" % (len(res.sizes), a.board, res.march or "bytecode"))

    out = mpremote(a.port, "exec", _PREPARE, capture=True)
    old = tagged(out, "USSH-CFG")
    old_cfg = None
    if old is not None:
        try:
            old_cfg = ussh_board.parse(ast.literal_eval(old))  # a repr() of a str from the board
        except (ussh_board.ConfigError, ValueError, SyntaxError):
            old_cfg = None
    pubs, authorized = user_keys(home)
    cfg_path = os.path.join(tmp, "ussh.cfg")
    with open(cfg_path, "w") as f:
        f.write(config_text(a, old_cfg))
    ak_path = os.path.join(tmp, "authorized_keys")
    with open(ak_path, "w") as f:
        f.write(authorized)
    args = ["fs", "cp", "-r", os.path.join(res.outdir, "ussh"), ":lib/"]
    for f in sorted(glob.glob(os.path.join(ROOT, "boards", a.board, "*.py"))):
        args += ["+", "fs", "cp", f, ":" + os.path.basename(f)]
    args += ["+", "fs", "cp", cfg_path, ":ussh.cfg", "+", "fs", "cp", ak_path, ":authorized_keys"]
    mpremote(a.port, *args, capture=True)
    print("deploy: copied lib/ussh, boards/%s/*.py, ussh.cfg, authorized_keys (%d key(s) from %s)"
          % (a.board, len(pubs), ", ".join(os.path.basename(p) for p in pubs)))

    slash = "" if a.board == "unix" else "/"
    out = mpremote(a.port, "exec", _HOSTKEY % {"path": slash + HOST_KEY}, capture=True)
    line = tagged(out, "USSH-HOSTKEY")
    if line is None:
        sys.stderr.write(out)
        raise SystemExit("deploy: the board did not report a host key")
    made, pub = line.split(" ", 1)
    fp = keys.fingerprint(keys.b64decode(pub.split()[1]))
    print("deploy: host key %s (%s)" % (fp, "made on the board" if made == "1" else "kept from before"))

    host = "127.0.0.1" if a.board == "unix" else None
    if host is None:
        out = mpremote(a.port, "exec", _JOIN, capture=True)
        ip = tagged(out, "USSH-IP")
        host = ip if ip and ip != "None" else None
        if host is None:
            print("deploy: the board is not on Wi-Fi (give WIFI_SSID=... WIFI_PASSWORD=...); its main.py prints its IP")
    shown = host or "BOARD_IP"
    if a.host_ca:
        sign_host_key(a, tmp, pub, [n for n in (host, a.ssh_name) if n], slash)
    known = (shown if a.ssh_port == 22 else "[%s]:%d" % (shown, a.ssh_port)) + " " + pub
    print("USSH-FINGERPRINT %s" % fp)
    print("known_hosts line:\n    %s" % known)
    print("~/.ssh/config:\n    Host %s\n        HostName %s\n        Port %d" % (a.ssh_name or "board", shown, a.ssh_port))
    if a.ssh_name and host:
        add_to_ssh(home, a.ssh_name, host, a.ssh_port, known)
    if a.board != "unix":
        print("reset the board (or `mpremote connect %s reset`): main.py starts ussh" % a.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
