"""The interop matrix's paramiko rows: paramiko itself and Fabric on top of it (cells as in
interop_clients.py; functions named paramiko_OP / fabric_OP)."""
import io
import os
import time

from interop_clients import EXEC_CMD, STDIN_CMD, VENV_PYTHON, CellFailed, mbps, pexpect_shell, sha, stdin_data


def _ms(t0):
    return round((time.monotonic() - t0) * 1000, 1)


# ---- paramiko ---------------------------------------------------------------------------------

def _paramiko(cell):
    import paramiko

    t = cell.target
    c = paramiko.SSHClient()
    c.load_host_keys(t.known_hosts)  # the key ssh-keyscan recorded: RejectPolicy for any other
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    t0 = time.monotonic()
    c.connect(t.host, t.port, username=t.user, key_filename=t.key, look_for_keys=False, allow_agent=False,
              timeout=10, banner_timeout=10, auth_timeout=10)
    cell.login_ms = _ms(t0)
    cell.login_note = "SSHClient.connect (TCP, key exchange, auth)"
    tr = c.get_transport()
    cell.algs = _paramiko_algs(tr, t)
    return c


def _paramiko_algs(tr, t):
    # paramiko keeps the chosen cipher and MAC, not the kex name: RFC 4253 7.1's choice from both lists
    kex = next((k for k in tr.get_security_options().kex if k in t.server_algs.get("kex", [])), "?")
    return {"kex": kex, "hostkey": tr.host_key_type, "cipher": tr.remote_cipher, "mac": tr.remote_mac}


def _paramiko_exec(client, cmd, data=None, rekey_at=None):
    ch = client.get_transport().open_session(timeout=10)
    ch.settimeout(60)
    ch.exec_command(cmd)
    if data is not None:
        raw = data.encode()
        half = len(raw) // 2 if rekey_at else len(raw)
        ch.sendall(raw[:half])
        if rekey_at:
            rekey_at()
            ch.sendall(raw[half:])
        ch.shutdown_write()
    out = b""
    while True:
        d = ch.recv(65536)
        if not d:
            break
        out += d
    return ch.recv_exit_status(), out.decode(errors="replace")


def _expect(cell, status_out, want):
    rc, out = status_out
    cell.log("output", out[-4000:])
    if (rc, out) != (0, want):
        raise CellFailed("exit %s, stdout %r (want %r)" % (rc, out[:200], want))


def paramiko_exec(cell):
    with _paramiko(cell) as c:
        _expect(cell, _paramiko_exec(c, EXEC_CMD), "42\n")


def paramiko_stdin(cell):
    data, want = stdin_data(cell.target.stdin_size)
    with _paramiko(cell) as c:
        _expect(cell, _paramiko_exec(c, STDIN_CMD, data), want + "\n")


def paramiko_rekey(cell):
    data, want = stdin_data(max(cell.target.stdin_size, 96 * 1024))
    with _paramiko(cell) as c:
        tr = c.get_transport()
        _expect(cell, _paramiko_exec(c, STDIN_CMD, data, rekey_at=tr.renegotiate_keys), want + "\n")
        _expect(cell, _paramiko_exec(c, EXEC_CMD), "42\n")  # the new keys carry a new channel too
    cell.notes.append("transport.renegotiate_keys() halfway through %d B of stdin" % len(data))


def paramiko_shell(cell):
    with _paramiko(cell) as c:
        ch = c.get_transport().open_session(timeout=10)
        ch.settimeout(20)
        ch.get_pty()
        ch.invoke_shell()
        buf = _read_until(ch.recv, b">>> ", b"")
        ch.sendall(b"print(6*7)\r")
        buf = _read_until(ch.recv, b"42\r\n>>> ", buf)
        ch.sendall(b"\x04")
        rc = ch.recv_exit_status()
        cell.log("pty transcript", buf.decode(errors="replace"))
        if rc != 0:
            raise CellFailed("shell ended with exit %s" % rc)


def _read_until(recv, marker, buf, limit=20):
    deadline = time.monotonic() + limit
    while marker not in buf:
        if time.monotonic() > deadline:
            raise CellFailed("no %r within %d s; got %r" % (marker, limit, buf[-300:]))
        d = recv(4096)
        if not d:
            raise CellFailed("channel closed before %r; got %r" % (marker, buf[-300:]))
        buf += d
    return buf


def paramiko_sftp(cell):
    t = cell.target
    up = cell.local_file()
    down = os.path.join(cell.dir, "down.bin")
    rname = cell.remote("sftp.bin")
    with _paramiko(cell) as c:
        s = c.open_sftp()
        s.get_channel().settimeout(60)
        t0 = time.monotonic()
        s.put(up, rname)
        cell.mbps["up"] = mbps(t.size, time.monotonic() - t0)
        t0 = time.monotonic()
        s.get(rname, down)
        cell.mbps["down"] = mbps(t.size, time.monotonic() - t0)
        s.remove(rname)
        s.close()
    if sha(down) != sha(up):
        raise CellFailed("SHA-256 of the file that came back differs")


def paramiko_2_sessions(cell):
    with _paramiko(cell) as c:
        tr = c.get_transport()
        chans = []
        for tag in ("a", "b"):  # both open and running before either is read
            ch = tr.open_session(timeout=10)
            ch.settimeout(30)
            ch.exec_command("print(%r * 3)" % tag)
            chans.append((tag, ch))
        for tag, ch in chans:
            out = b""
            while True:
                d = ch.recv(4096)
                if not d:
                    break
                out += d
            _expect(cell, (ch.recv_exit_status(), out.decode()), tag * 3 + "\n")
    cell.notes.append("two channels at once on one transport")


# ---- Fabric -----------------------------------------------------------------------------------

def _fabric(cell):
    from fabric import Connection

    t = cell.target
    c = Connection(t.host, user=t.user, port=t.port, connect_timeout=10,
                   connect_kwargs={"key_filename": t.key, "look_for_keys": False, "allow_agent": False})
    c.client.load_host_keys(t.known_hosts)
    t0 = time.monotonic()
    c.open()
    cell.login_ms = _ms(t0)
    cell.login_note = "Connection.open() (paramiko underneath)"
    tr = c.client.get_transport()
    cell.algs = _paramiko_algs(tr, t)
    return c


def fabric_exec(cell):
    with _fabric(cell) as c:
        r = c.run(EXEC_CMD, hide=True, warn=True, timeout=20, in_stream=False)
        _expect(cell, (r.exited, r.stdout), "42\n")


class _Chunks(io.StringIO):
    """Invoke reads in_stream 1 character per 10 ms (for terminals): give it 4 KB per read."""

    def read(self, n=-1):
        return super().read(4096 if n is not None and n >= 0 else n)


def fabric_stdin(cell):
    data, want = stdin_data(cell.target.stdin_size)
    with _fabric(cell) as c:
        r = c.run(STDIN_CMD, hide=True, warn=True, timeout=50, in_stream=_Chunks(data))
        _expect(cell, (r.exited, r.stdout), want + "\n")


def fabric_shell(cell):
    # Connection.shell() mirrors the local terminal: run it in a pty and type into it
    t = cell.target
    code = ("from fabric import Connection\n"
            "c = Connection(%r, user=%r, port=%d, connect_timeout=10, connect_kwargs={'key_filename': %r,"
            " 'look_for_keys': False, 'allow_agent': False})\n"
            "c.client.load_host_keys(%r)\n"
            "c.open()\n"
            "tr = c.client.get_transport()\n"
            "kex = next((k for k in tr.get_security_options().kex if k in %r), '?')\n"
            "r = c.shell()\n"
            "print('INTEROP-ALGS', kex, tr.host_key_type, tr.remote_cipher, tr.remote_mac)\n"
            "raise SystemExit(r.exited)\n" % (t.host, t.user, t.port, t.key, t.known_hosts,
                                               t.server_algs.get("kex", [])))
    pexpect_shell(cell, [VENV_PYTHON, "-c", code])


def fabric_sftp(cell):
    t = cell.target
    up = cell.local_file()
    down = os.path.join(cell.dir, "down.bin")
    rname = cell.remote("sftp.bin")
    with _fabric(cell) as c:
        t0 = time.monotonic()
        c.put(up, remote=rname)
        cell.mbps["up"] = mbps(t.size, time.monotonic() - t0)
        t0 = time.monotonic()
        c.get(rname, local=down)
        cell.mbps["down"] = mbps(t.size, time.monotonic() - t0)
        c.sftp().remove(rname)
    if sha(down) != sha(up):
        raise CellFailed("SHA-256 of the file that came back differs")


def fabric_2_sessions(cell):
    from fabric import ThreadingGroup

    c1, c2 = _fabric(cell), _fabric(cell)
    try:
        res = ThreadingGroup.from_connections([c1, c2]).run(EXEC_CMD, hide=True, warn=True, timeout=20, in_stream=False)
        for conn, r in res.items():
            _expect(cell, (r.exited, r.stdout), "42\n")
    finally:
        c1.close()
        c2.close()
    cell.notes.append("two connections at once (ThreadingGroup)")
