# A board's one-line start (ussh.start()): reads one small config file, joins
# Wi-Fi where the port has it, starts the server as an asyncio task beside the
# user's code and prints how to reach it. Loaded only by ussh.start(); the
# server itself never imports this module.
from ussh.compat import const, ticks_diff, ticks_ms

# name -> default; an int default makes the value an int
DEFAULTS = {
    "wifi_ssid": "",
    "wifi_password": "",
    "wifi_timeout": 20,
    "bind": "0.0.0.0",
    "port": 22,
    "host_key": "ssh_host_ed25519_key",
    # a host certificate of host_key (ssh-keygen -s CA -h; make deploy HOST_CA=...), "": none
    "host_cert": "",
    "authorized_keys": "authorized_keys",
    "max_connections": 2,
    "root": "/",
    # seconds without input after login, then the session is ended (0: never)
    "idle_timeout": 0,
    # a file of CA keys whose user certificates log in ("": none)
    "trusted_ca": "",
    # 1: accept certificates while the clock is not set (no RTC, no NTP yet)
    "cert_ignore_clock": 0,
    # "pbkdf2-sha256$...": enables password login (python -m ussh.passwd)
    "password_hash": "",
    # 1: also offer hmac-sha2-256 (encrypt-and-MAC) for clients without etm (Dropbear 2022)
    "legacy_mac": 0,
    # where ssh -L may reach (ussh.forward), as sshd's PermitOpen: "host:port ..." (* for any),
    # "any" or "none"; by default the board itself
    "permit_open": "localhost:* 127.0.0.1:* [::1]:*",
    # the pty shell: "repl" (ussh.repl: a line editor with history, cursor keys and completion;
    # about 5 KB of heap), "line" (ussh.lineshell: a line at a time, about 2.5 KB); "": "line"
    # on a heap under 128 KB (an ESP32 without PSRAM), "repl" on larger ones
    "shell": "",
    # the folder of the app `make push` updates ("": none; see ussh.app)
    "app_dir": "app",
    # a new app version is healthy after this many seconds without an unhandled exception
    # (0: only when it calls ussh.app.confirm())
    "app_healthy_after": 10,
    # with app_healthy_after = 0: seconds to wait for that call, then roll back
    "app_confirm_timeout": 60,
    # call home (ussh.callhome, the client package): "bastion:22" keeps an SSH connection there
    # and has it forward callhome_port (on its localhost) to this board; "": off
    "callhome": "",
    "callhome_user": "board",
    "callhome_port": 2222,
    # the key the board logs in to the bastion with ("": the host key)
    "callhome_key": "",
    # the bastion's host key (a known_hosts line, or @cert-authority)
    "callhome_known_hosts": "known_hosts",
}
_RANGES = {"app_healthy_after": (0, 86400), "app_confirm_timeout": (1, 86400), "port": (1, 65535),
           "max_connections": (1, 64), "wifi_timeout": (0, 600), "idle_timeout": (0, 604800),
           "cert_ignore_clock": (0, 1), "legacy_mac": (0, 1), "callhome_port": (0, 65535)}
_SHELLS = {"": None, "repl": "ussh.repl", "line": "ussh.lineshell"}
_SMALL_HEAP = const(131072)  # a heap under this gets the line shell by default (ussh.repl's editor does not fit)


def shell_module(setting, heap):
    """The module of the pty shell for a shell setting ("", "repl", "line") on a heap of
    that many bytes in all (None: not known, a host's)."""
    if setting:
        return _SHELLS[setting]
    return "ussh.lineshell" if heap is not None and heap < _SMALL_HEAP else "ussh.repl"


current = None  # the settings ussh.start() read


class ConfigError(Exception):
    pass


def parse(text, path="ussh.cfg"):
    """The settings in a config text: `name = value` lines, `#` comments, a
    value in double quotes keeps its spaces. Raises ConfigError naming the
    line; values are never echoed (one of them is a password)."""
    cfg = dict(DEFAULTS)
    seen = []
    n = 0
    for line in text.split("\n"):
        n += 1
        line = line.strip()
        if not line or line[0] == "#":
            continue
        eq = line.find("=")
        if eq < 1:
            raise ConfigError("%s line %d: expected `name = value`" % (path, n))
        name = line[:eq].strip().lower()
        value = line[eq + 1 :].strip()
        if name not in DEFAULTS:
            raise ConfigError("%s line %d: unknown setting %r (known: %s)" % (path, n, name, ", ".join(sorted(DEFAULTS))))
        if name in seen:
            raise ConfigError("%s line %d: %s set twice" % (path, n, name))
        seen.append(name)
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        if isinstance(DEFAULTS[name], int):
            try:
                value = int(value)
            except ValueError:
                raise ConfigError("%s line %d: %s must be a whole number" % (path, n, name))
            lo, hi = _RANGES[name]
            if not lo <= value <= hi:
                raise ConfigError("%s line %d: %s must be %d to %d" % (path, n, name, lo, hi))
        if name == "shell" and value not in _SHELLS:
            raise ConfigError("%s line %d: shell must be repl or line" % (path, n))
        cfg[name] = value
    if cfg["callhome"] and callhome_address(cfg["callhome"]) is None:
        raise ConfigError("%s: callhome must be host or host:port" % path)
    if cfg["wifi_password"] and not cfg["wifi_ssid"]:
        raise ConfigError("%s: wifi_password without wifi_ssid" % path)
    return cfg


def callhome_address(text):
    """(host, port) of a callhome setting, or None when it is not host[:port]."""
    host, _, port = text.rpartition(":")
    if not host:
        return text, 22
    try:
        port = int(port)
    except ValueError:
        return None
    return (host, port) if 0 < port < 65536 else None


def load(path="ussh.cfg"):
    """parse() of the file at path; a missing or unreadable file is a ConfigError."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ConfigError("%s: cannot read (%s); `make deploy` writes it" % (path, e))
    except UnicodeError:
        raise ConfigError("%s: not text" % path)
    return parse(text, path)


def join(ssid, password="", timeout=20, log=print):
    """Joins Wi-Fi as a station, waiting at most timeout seconds; the IP
    address, or None (no network module: the unix port; or no connection).
    Without ssid, the address of a connection made before (boot.py), if any."""
    try:
        import network
        import time
    except ImportError:
        return None
    wlan = network.WLAN(network.STA_IF)
    if not wlan.active():
        wlan.active(True)
    if not wlan.isconnected() and ssid:
        log("ussh: joining Wi-Fi %s ..." % ssid)
        wlan.connect(ssid, password)
        t0 = ticks_ms()
        while not wlan.isconnected() and ticks_diff(ticks_ms(), t0) < timeout * 1000:
            time.sleep(0.1)
    if wlan.isconnected():
        return wlan.ifconfig()[0]
    if ssid:
        log("ussh: Wi-Fi %s: not connected after %d s (status %s); check wifi_ssid/wifi_password" % (ssid, timeout, wlan.status()))
    return None


def _heap():
    # the heap's size in all, None where the runtime does not say (CPython)
    import gc

    f = getattr(gc, "mem_free", None)
    return f() + gc.mem_alloc() if f else None


def known_hosts_line(host, port, key):
    """The line ssh writes to known_hosts for this key at host:port."""
    name = host if port == 22 else "[%s]:%d" % (host, port)
    return name + " " + key.public_line()


def start(config="ussh.cfg", log=print):
    """Reads config, joins Wi-Fi, loads (or makes) the host key and starts
    ussh as an asyncio task; prints IP, port and the host key fingerprint.
    Returns the task, or None after printing why ussh did not start (the
    board goes on booting). On CPython call it with an event loop running."""
    from ussh import keyfile, keys

    global current
    try:
        cfg = current = load(config)
    except ConfigError as e:
        log("ussh: not started: %s" % e)
        return None
    ip = join(cfg["wifi_ssid"], cfg["wifi_password"], cfg["wifi_timeout"], log)
    from ussh.crypto import rand

    try:
        rand.require()  # a port without os.urandom needs rand.set_source() first
        key = keyfile.load_or_create(cfg["host_key"], log)
        if cfg["host_cert"]:  # checked here: a wrong certificate is said at boot
            from ussh.hostcert import with_cert

            key = with_cert(key, cfg["host_cert"])
        with open(cfg["authorized_keys"]):
            pass
    except (OSError, keys.KeyFileError, rand.NoEntropy) as e:
        log("ussh: not started: %s" % e)
        return None
    from ussh.compat import asyncio
    from ussh.server import serve

    task = asyncio.create_task(
        serve(
            cfg["bind"],
            cfg["port"],
            max_connections=cfg["max_connections"],
            host_key=key,
            authorized_keys=cfg["authorized_keys"],
            root=cfg["root"],
            idle_timeout=cfg["idle_timeout"],
            trusted_cas=cfg["trusted_ca"],
            cert_ignore_clock=bool(cfg["cert_ignore_clock"]),
            password_hash=cfg["password_hash"] or None,
            legacy_mac=bool(cfg["legacy_mac"]),
            permit_open=cfg["permit_open"],
            shell=shell_module(cfg["shell"], _heap()),
            log=log,
        )
    )
    host = ip or (cfg["bind"] if cfg["bind"] != "0.0.0.0" else "<this board's IP>")
    log("ussh: ssh -p %d %s   host key %s" % (cfg["port"], host, key.fingerprint()))
    log("ussh: known_hosts: %s" % known_hosts_line(host, cfg["port"], key))
    if cfg["callhome"]:
        _callhome(cfg, log)
    if cfg["host_cert"]:
        log("ussh: host certificate %s offered (clients trust it with an @cert-authority line)" % cfg["host_cert"])
    run_app(cfg, log)
    return task


def run_app(cfg, log=print):
    """The app `make push` put into app_dir, as an asyncio task beside the server (ussh.app);
    None when there is none. ussh.app is imported only when there is one."""
    import os

    d = cfg["app_dir"].rstrip("/")
    if not d:
        return None
    for name in ("/state", "/state.new"):
        try:
            os.stat(d + name)
            break
        except OSError:
            pass
    else:
        return None
    from ussh import app

    return app.start(cfg, log)


def _callhome(cfg, log):
    try:
        from ussh import callhome
    except ImportError:
        return log("ussh: callhome is set, but the client package (package-client.json) is not installed")
    from ussh.compat import asyncio

    host, port = callhome_address(cfg["callhome"])
    local = cfg["bind"] if cfg["bind"] != "0.0.0.0" else "127.0.0.1"
    asyncio.create_task(callhome.run(host, port, cfg["callhome_user"], cfg["callhome_key"] or cfg["host_key"],
                                     cfg["callhome_known_hosts"], cfg["callhome_port"], local_port=cfg["port"],
                                     local_host=local, log=log))
