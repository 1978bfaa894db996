"""Hostile clients and faults against ussh on the MicroPython unix port: the connection limit
under 20 concurrent connections, no heap leak over 100 connections, a tight heap under parallel
logins, slow clients, clients that stop reading, the idle timeout, and secrets (host key never
logged, session secrets wiped, MAC compared without early exit).

The server runs host_tests/heap_server.py: ussh's server plus a test hook printing the free heap
after each connection (nothing of the hook is in lib/ussh).
"""
import base64
import contextlib
import os
import re
import socket
import subprocess
import threading
import time

import pytest

import rawssh
from sshd_fixtures import Lab, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
BY_APPLICATION, TOO_MANY_CONNECTIONS = 11, 12  # RFC 4253 §11.1


class FaultServer:
    def __init__(self, lab, max_connections=8, heapsize=None, **settings):
        self.lab = lab
        self.port = free_port()
        self.log_path = os.path.join(lab.dir, "server-%d.log" % self.port)
        self.host_key = os.path.join(lab.dir, "host_key_%d" % self.port)
        self.files = os.path.join(lab.dir, "files")
        os.makedirs(self.files, exist_ok=True)
        argv = [MICROPYTHON] + (["-X", "heapsize=%s" % heapsize] if heapsize else [])
        argv += [os.path.join(HERE, "heap_server.py"), str(self.port), self.host_key, lab.authorized_keys,
                 self.files, str(max_connections)] + ["%s=%d" % kv for kv in settings.items()]
        env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "lib") + ":.frozen")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, cwd=ROOT)
        deadline = time.monotonic() + 20
        while "listening on" not in self.log():
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, "server did not start\n" + self.log()
            time.sleep(0.05)
        self.key = rawssh.load_private_key(lab.client_key)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def heap(self):
        return [int(x.split()[1]) for x in self.log().split("\n") if x.startswith("heap-free ")]

    def login(self, cmd="print(6*7)"):
        with rawssh.RawClient(self.port) as c:
            c.handshake()
            c.login(self.key)
            return c.exec(c.open_session(), cmd).stdout

    def ssh(self, cmd="print(6*7)", timeout=60):
        return subprocess.run(self.ssh_argv(cmd), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def ssh_argv(self, cmd="print(6*7)"):
        return ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", self.lab.client_key, "-o", "IdentitiesOnly=yes",
                "-o", "UserKnownHostsFile=" + self.lab.known_hosts, "-o", "StrictHostKeyChecking=accept-new",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "127.0.0.1", cmd]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def server():
    with contextlib.ExitStack() as stack:
        lab = stack.enter_context(Lab(prefix="ussh-faults-"))

        def start(**kw):
            s = FaultServer(lab, **kw)
            stack.callback(s.stop)
            return s

        yield start


def assert_clean_log(srv):
    log = srv.log()
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]


# -- the connection limit
def test_twenty_concurrent_connections_against_a_limit_of_two(server):
    srv = server(max_connections=2)
    # opened one after the other (a burst would overflow the listen backlog of 4 and wait out
    # SYN retransmits), all held open together; none has logged in, so each newcomer takes
    # the place of the oldest (issue 17: idle connections cannot lock the owner out)
    clients = []
    try:
        for _ in range(20):
            c = rawssh.RawClient(srv.port)
            c.read_version()
            t, p = c.recv_packet()
            assert t == rawssh.KEXINIT, t
            clients.append((c, p))
        for c, _ in clients[:18]:
            code, reason = c.expect_disconnect(5)
            assert (code, reason) == (TOO_MANY_CONNECTIONS, "too many connections: an unauthenticated one gave way")
            assert c.wait_closed() == b""  # and then the server closes it
        served = clients[18:]
        for c, i_s in served:  # the two places serve whole sessions, side by side
            c.send_version()
            c.kexinit(read=False)
            c.i_s, c.strict = i_s, True  # the server's KEXINIT (offers strict KEX) came first
            c.kex()
            c.login(srv.key)
        for c, _ in served:
            assert c.exec(c.open_session(), "print(6*7)").stdout == b"42\n"
        # both places held by logged-in connections: a newcomer is refused
        with rawssh.RawClient(srv.port) as c:
            c.read_version()
            assert c.expect_disconnect(5) == (TOO_MANY_CONNECTIONS, "too many connections")
    finally:
        for c, _ in clients:
            c.close()
    for _ in range(50):  # bounded: until the server has seen both closes
        try:
            assert srv.login() == b"42\n"
            break
        except rawssh.Disconnected as d:
            assert d.code == TOO_MANY_CONNECTIONS
            time.sleep(0.1)
    else:
        raise AssertionError("no place freed\n" + srv.log())
    p = srv.ssh()
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()
    assert srv.log().count("disconnect: too many connections: an unauthenticated one gave way") == 18
    assert_clean_log(srv)


# -- memory
HEAP_LEAK_BOUND = 4096  # bytes of free heap that 90 more connections may cost (fragmentation)


def test_hundred_sequential_connections_do_not_leak_heap(server):
    srv = server(heapsize="400k")
    for i in range(100):
        with rawssh.RawClient(srv.port) as c:
            c.handshake()
            c.login(srv.key)
            ch = c.open_session()
            assert c.exec(ch, "print(%d)" % i).stdout == b"%d\n" % i
        # The next client connects only once this connection's figure is in: else the server may
        # accept it (its receive buffer and key exchange, about 20 KB) before the ended one's
        # collection, and that figure dips for a reason that is no leak (CI, loaded: 234,400
        # against 254,752 once in 90).
        for _ in range(200):  # bounded: 10 s
            if len(srv.heap()) > i:
                break
            time.sleep(0.05)
    heap = srv.heap()
    assert len(heap) == 100, srv.log()[-2000:]
    # after 10 connections every module is loaded; from then on the free heap stays put
    settled = heap[9]
    assert min(heap[10:]) >= settled - HEAP_LEAK_BOUND, (settled, heap)
    assert heap[-1] >= settled - HEAP_LEAK_BOUND, (settled, heap[-10:])
    assert_clean_log(srv)


# A stock OpenSSH login + exec needs about 200-230k of heap from source on the 64-bit unix port
# (the heap fragments: the need varies); 240k holds one session, not five at once.
TIGHT_HEAP = "244k"  # 240k until the scheduler and the plugin registry (about 4 KB of bytecode from .py)


def test_tight_heap_parallel_logins_refused_cleanly(server):
    srv = server(heapsize=TIGHT_HEAP)
    for _ in range(3):  # the first login compiles the modules it loads: it may run out
        if srv.ssh().returncode == 0:
            break
    else:
        raise AssertionError("no login in %s\n%s" % (TIGHT_HEAP, srv.log()))
    for _ in range(3):  # 5 at once; again if they did not overlap (a loaded machine) and all got in
        procs = [subprocess.Popen(srv.ssh_argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(5)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            results.append((p.returncode, out, err))
        refused = [r for r in results if r[:2] != (0, "42\n")]
        for code, out, err in refused:
            if code == 1:  # logged in, and the command itself ran out: its MemoryError, as for any program
                assert "MemoryError" in err, err
                continue
            # told why, or (a packet torn by the MemoryError) closed
            assert code == 255 and ("11: out of memory" in err or "closed by" in err or "reset by" in err), err
        if refused:
            break
    assert refused, "5 logins fit in %s: the heap is not tight, lower TIGHT_HEAP" % TIGHT_HEAP
    assert srv.proc.poll() is None, srv.log()
    assert "disconnect: out of memory" in srv.log()
    # the log gives the budget and the free heap (README "Limits": out of memory)
    over = [x for x in srv.log().splitlines() if "out of memory: over the" in x]
    for x in over:
        assert re.search(r"over the budget \d+ B a connection \(packets of \d+ B, window \d+ B\); \d+ B of heap free$", x), x
    for _ in range(3):  # and then, once the burst's connections are gone, a normal login works
        time.sleep(1)
        p = srv.ssh()
        if (p.returncode, p.stdout) == (0, "42\n"):
            break
    assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()[-3000:]
    assert_clean_log(srv)


# -- slow clients, clients that stop reading, idle sessions
@pytest.mark.parametrize("how", ["tcp", "window"])
def test_client_that_stops_reading_does_not_block_others(server, how):
    # tcp: a huge SSH window, nothing read, so TCP's buffers fill; window: a small SSH window
    # that is never adjusted. Either way the command waits on that client while it holds the
    # interpreter, at most send_timeout seconds.
    srv = server(send_timeout=3)
    hog = rawssh.RawClient(srv.port)
    try:
        hog.handshake()
        hog.login(srv.key)
        ch = hog.open_session(window=1 << 30 if how == "tcp" else 4096)
        hog.channel_request(ch, b"exec", rawssh.string("for i in range(100000): print('x' * 1000)"))
        time.sleep(1)  # it reads nothing
        t0 = time.monotonic()
        p = srv.ssh(timeout=60)
        assert (p.returncode, p.stdout) == (0, "42\n"), p.stderr + srv.log()[-3000:]
        assert time.monotonic() - t0 < 30
        why = "client took no output for 3 s" if how == "tcp" else "client opened no window for 3 s"
        assert why in srv.log()
    finally:
        hog.close()
    assert srv.login() == b"42\n"
    assert_clean_log(srv)


def test_slow_client_gets_login_grace_disconnect_while_others_log_in(server):
    srv = server(login_grace=3)
    out = {}

    def slow():
        with rawssh.RawClient(srv.port, timeout=20) as c:
            t0 = time.monotonic()
            try:
                for b in b"SSH-2.0-one-byte-at-a-time\r\n":  # 28 bytes, 0.25 s apart: 7 s
                    c.send_raw(bytes([b]))
                    time.sleep(0.25)
                out["result"] = "sent it all"
            except OSError:  # the server closed while we were still sending
                pass
            c.read_version()
            try:
                out["result"] = c.expect_disconnect(10)
            except rawssh.ClosedWithoutDisconnect:
                out.setdefault("result", "closed")
            out["after"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    logins = []
    while t.is_alive() and len(logins) < 5:  # the slow client holds nobody up
        logins.append(srv.login())
    t.join(30)
    assert logins and all(x == b"42\n" for x in logins), logins
    assert out.get("result") == (BY_APPLICATION, "login grace time exceeded"), (out, srv.log())
    assert out["after"] < 6, out  # the grace time counts from the connect, not per byte
    assert_clean_log(srv)


def test_idle_timeout(server):
    srv = server(idle_timeout=1)
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.login(srv.key)
        c.open_session()
        t0 = time.monotonic()
        assert c.expect_disconnect(10) == (BY_APPLICATION, "idle timeout")
        assert 0.8 < time.monotonic() - t0 < 5
    assert srv.login() == b"42\n"  # a busy session is not idle
    assert_clean_log(srv)


def test_board_config_has_idle_timeout():
    import runtimes

    out = runtimes.run("unix", "from ussh import board\nc = board.parse('idle_timeout = 300\\n')\n"
                               "print(c['idle_timeout'], c['max_connections'], board.parse('')['idle_timeout'])\n")
    assert out.split() == ["300", "2", "0"]


# -- secrets
def _host_seed(path):
    from cryptography.hazmat.primitives import serialization

    k = rawssh.load_private_key(path)
    return k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())


def _secret_forms(path):
    # the seed as hex and base64, and every 16-character piece of the key file's base64
    seed = _host_seed(path)
    with open(path) as f:
        b64 = "".join(x.strip() for x in f if x.strip() and not x.startswith("-----"))
    return [seed.hex(), base64.b64encode(seed).decode()] + [b64[i:i + 16] for i in range(0, len(b64) - 16, 16)]


def test_host_private_key_never_in_the_log(server):
    srv = server()
    assert srv.login() == b"42\n"
    other = rawssh.Ed25519PrivateKey.generate()
    with rawssh.RawClient(srv.port) as c:  # an unauthorized key, then a forged signature
        c.handshake()
        c.service_request()
        assert c.userauth_publickey("x", other)[0] == rawssh.USERAUTH_FAILURE
        assert c.userauth_publickey("x", srv.key, sig_override=bytes(64))[0] == rawssh.USERAUTH_FAILURE
    with rawssh.RawClient(srv.port) as c:  # a bad MAC, a garbage version line
        c.handshake()
        c.send_packet(b"\x05" + rawssh.string("ssh-userauth"), bad_mac=True)
        c.expect_disconnect(5)
    with rawssh.RawClient(srv.port) as c:
        c.send_raw(b"GET / HTTP/1.0\r\n\r\n")
        c.wait_closed()
    log = srv.log()
    assert "auth refused" in log and "message authentication code incorrect" in log
    for s in _secret_forms(srv.host_key):
        assert s not in log, "host key material in the log"


def test_host_key_errors_and_repr_do_not_show_it(tmp_path):
    import runtimes

    path = str(tmp_path / "hk")
    from sshd_fixtures import keygen

    keygen(path)
    with open(path) as f:
        lines = f.read().split("\n")
    with open(path + ".cut", "w") as f:  # a damaged copy: the last base64 line gone
        f.write("\n".join(lines[:-3] + lines[-2:]))
    code = ("from ussh import keyfile, keys\nk = keyfile.load(%r)\nprint(repr(k))\nprint(k.fingerprint())\n"
            "try:\n    keyfile.load(%r)\nexcept keys.KeyFileError as e:\n    print('error', e)\n" % (path, path + ".cut"))
    for runtime in ("cpython", "unix"):
        out = runtimes.run(runtime, code)
        assert "error" in out and "SHA256:" in out, out
        for s in _secret_forms(path):
            assert s not in out, (runtime, out)


def test_session_secrets_are_wiped(monkeypatch):
    import sys

    sys.path.insert(0, os.path.join(ROOT, "fuzz"))
    import harness
    from ussh import kex

    secrets, derived = [], []
    i = [n for n, _ in kex.KEX_METHODS].index(b"curve25519-sha256")
    method = kex.KEX_METHODS[i][1]

    def capture(q_c):
        q_s, k = method(q_c)
        secrets.append(k)
        return q_s, k

    def derive(*a):
        out = orig_derive(*a)
        derived.append(out)
        return out

    orig_derive = kex._derive
    methods = list(kex.KEX_METHODS)
    methods[i] = (b"curve25519-sha256", capture)
    monkeypatch.setattr(kex, "KEX_METHODS", methods)
    monkeypatch.setattr(kex, "_derive", derive)
    lab = harness.Lab(install_hooks=False)
    conn, _ = lab.build("authed")  # a key exchange and a login, through ussh's Connection
    # 6 pieces per side: the server's, and the fuzz client's (which uses kex._keys too)
    assert conn.user is not None and len(secrets) == 1 and len(derived) == 12
    assert isinstance(secrets[0], bytearray) and len(secrets[0]) >= 32
    assert not any(secrets[0]), "the shared secret K was not overwritten after NEWKEYS"
    assert all(isinstance(d, bytearray) and len(d) >= 16 and not any(d) for d in derived)
    t = conn.transport
    macs, ciphers = (t.mac_in, t.mac_out), (t.dec, t.enc)
    assert all(any(m._i) and any(m._o) for m in macs)  # in use until the connection ends
    conn.disconnect(11, "bye")
    assert all(not any(m._i) and not any(m._o) for m in macs)
    assert all(not any(c._ks) for c in ciphers)


def test_mac_comparison_looks_at_every_byte():
    from ussh.transport import ct_equal

    a = bytes(range(32))
    assert ct_equal(a, bytes(a)) and ct_equal(bytearray(a), memoryview(a))
    for i in (0, 15, 31):  # a difference anywhere, first byte to last, is found
        b = bytearray(a)
        b[i] ^= 0x80
        assert not ct_equal(a, b)
    assert not ct_equal(a, a[:31])
    # no early exit: the comparison is one operation over whole integers, no loop that returns
    import inspect

    src = inspect.getsource(ct_equal)
    assert "for " not in src and "while " not in src and "from_bytes" in src


def test_configured_packet_and_channel_limits(server):
    srv = server(max_packet=4096, max_channels=1)
    with rawssh.RawClient(srv.port) as c:
        c.handshake()
        c.login(srv.key)
        c.open_session()
        c.send_packet(bytes([rawssh.CHANNEL_OPEN]) + rawssh.string(b"session") + rawssh.u32(1)
                      + rawssh.u32(1 << 20) + rawssh.u32(32768))
        r = rawssh.Reader(c.expect(rawssh.CHANNEL_OPEN_FAILURE), 1)
        assert (r.u32(), r.u32(), r.string()) == (1, 4, b"too many channels")  # RESOURCE_SHORTAGE
        c.send_packet(bytes([rawssh.IGNORE]) + rawssh.string(bytes(5000)))
        code, reason = c.expect_disconnect(5)
        assert (code, reason) == (2, "packet length 5024 over the limit 4096")
    assert srv.login() == b"42\n"
    assert_clean_log(srv)
