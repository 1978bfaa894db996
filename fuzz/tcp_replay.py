"""Replays fuzz cases over TCP against a running ussh (the MicroPython unix port in
host_tests/test_fuzz.py): the same seeded generator as fuzz/run.py, the states reached by
host_tests/rawssh.py with the server's authorized key, the mutated packets encrypted and MAC'd for
the live connection. After each case the client half-closes and reads until the server closes
(bounded); every CHECK_EVERY cases, and at the end, a full login must still run a command.

    python fuzz/tcp_replay.py --port P --key CLIENT_KEY [--cases N] [--seed S]

Cases that would run code (exec, shell, scp) are skipped: the server runs them for real.
Prints a summary line; exit status 1 when the server stopped serving or hung.
"""
import argparse
import os
import random
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "host_tests"))

import rawssh  # noqa: E402

STATES = ("banner", "kexinit", "service", "userauth", "authed", "channel", "sftp")
CHECK_EVERY = 50
_RUNS_CODE = (b"exec", b"shell", b"scp")


def _send(c, items, key):
    for it in items:
        if it[0] == "raw":
            c.send_raw(it[1])
            continue
        payload = it[1]
        if it[0] == "signed":
            sig = (key if it[3] != "other" else rawssh.Ed25519PrivateKey.generate()).sign(
                rawssh.string(c.session_id) + payload)
            payload += rawssh.string(rawssh.string(b"ssh-ed25519") + rawssh.string(sig))
        opts = it[2] or {}
        if "dlen" in opts:
            continue  # rawssh cannot lie about the length
        c.send_packet(payload, pad_field=opts.get("pad"), bad_mac=bool(opts.get("mac")))


def _reach(c, state, key):
    if state == "banner":
        return
    c.send_version()
    c.read_version()
    if state == "kexinit":
        return
    c.kexinit()
    c.kex()
    if state == "service":
        return
    c.service_request()
    if state == "userauth":
        return
    c.login(key)
    if state == "authed":
        return
    ch = c.open_session()
    if state == "sftp":
        c.channel_request(ch, b"subsystem", rawssh.string(b"sftp"))
        c.expect(rawssh.CHANNEL_SUCCESS)
        c.send_packet(bytes([rawssh.CHANNEL_DATA]) + rawssh.u32(ch) + rawssh.string(b"\0\0\0\5\1\0\0\0\3"))
        c.expect(rawssh.CHANNEL_DATA)


def check(port, key):
    with rawssh.RawClient(port) as c:
        c.handshake()
        c.login(key)
        out = c.exec(c.open_session(), "print(6*7)").stdout
    if out != b"42\n":
        raise AssertionError("the server answered %r" % out)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    import harness
    from cases import Generator, load_corpus

    lab = harness.Lab(install_hooks=False)
    key = rawssh.load_private_key(a.key)
    gen = Generator(lab, load_corpus(), random.Random(a.seed))
    sent = skipped = 0
    t0 = time.monotonic()
    try:
        for i in range(a.cases):
            state = STATES[i % len(STATES)]
            items, _cuts = gen.generate(state)
            if state != "banner" and any(w in it[1] for it in items for w in _RUNS_CODE):
                skipped += 1
                continue
            with rawssh.RawClient(a.port, timeout=10) as c:
                _reach(c, state, key)  # valid steps: any failure here is the server's
                try:
                    _send(c, items, key)
                    c.sock.shutdown(socket.SHUT_WR)
                    c.wait_closed()  # a hang raises socket.timeout
                except (BrokenPipeError, ConnectionResetError, OSError) as e:
                    if isinstance(e, socket.timeout):
                        raise
                    # the server already closed (it refused an earlier packet)
            sent += 1
            if sent % CHECK_EVERY == 0:
                check(a.port, key)
        check(a.port, key)
    except socket.timeout:
        print("FAIL: the server did not close within 10 s after case %d (%s)" % (i, state))
        return 1
    finally:
        shutil.rmtree(lab.root, ignore_errors=True)
    print("tcp replay: %d cases sent, %d skipped (would run code), %.1f s, server still serving"
          % (sent, skipped, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
