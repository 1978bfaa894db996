"""Client login benchmark: ussh.client on the MicroPython unix port logging in to OpenSSH's sshd
(connect, key exchange, public-key auth, exec `echo 1`, close), beside OpenSSH's own `ssh` to the
same sshd (curve25519-sha256, ssh-ed25519, aes128-ctr, hmac-sha2-256-etm: tools/peers.py).

Each ussh run is a fresh `micropython` process (lib/ussh from source, as the tests run it): its
wall time counts interpreter start and imports, like the `ssh` process's does; the script also
times the login itself (from connect to the closed connection) with ticks_us. Runs alternate
between the two clients.

usage: python bench/client_login.py [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import peers  # noqa: E402

SCRIPT = """
from ussh.compat import asyncio, ticks_us, ticks_diff
from ussh import client
async def main():
    t0 = ticks_us()
    c = await client.connect("127.0.0.1", %d, user=%r, key=%r, known_hosts=%r, log=lambda m: None)
    st, out, err = await c.exec("echo 1")
    await c.close()
    print("LOGIN_US", ticks_diff(ticks_us(), t0), st, out.strip().decode())
asyncio.run(main())
"""


def measure(runs=20, timeout=60):
    res = {"ussh-client (process)": [], "ussh-client (login)": [], "openssh ssh": [], "error": None}
    with peers.Lab(prefix="ussh-bench-client-") as lab:
        srv = lab.start("sshd")
        known = os.path.join(lab.dir, "kh")
        with open(srv.host_key + ".pub") as f, open(known, "w") as g:
            g.write("[127.0.0.1]:%d %s\n" % (srv.port, " ".join(f.read().split()[:2])))
        script = SCRIPT % (srv.port, srv.user, lab.client_key, known)
        env = dict(os.environ, MICROPYPATH=peers.LIB + ":.frozen")
        argv = srv.ssh_argv("echo 1")
        for i in range(runs + 1):  # the first round warms the page cache, not counted
            t0 = time.perf_counter()
            p = subprocess.run([peers.MICROPYTHON, "-c", script], capture_output=True, text=True, env=env,
                               timeout=timeout)
            dt = (time.perf_counter() - t0) * 1000
            if p.returncode != 0 or "LOGIN_US" not in p.stdout or not p.stdout.strip().endswith("0 1"):
                res["error"] = "ussh client: rc=%d %s %s" % (p.returncode, p.stdout[-200:], p.stderr[-300:])
                break
            if i:
                res["ussh-client (process)"].append(dt)
                res["ussh-client (login)"].append(int(p.stdout.split("LOGIN_US")[1].split()[0]) / 1000)
            t0 = time.perf_counter()
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            dt = (time.perf_counter() - t0) * 1000
            if p.returncode != 0 or p.stdout.strip() != "1":
                res["error"] = "ssh: rc=%d %s" % (p.returncode, p.stderr[-300:])
                break
            if i:
                res["openssh ssh"].append(dt)
    return res


def section(runs=20):
    m = measure(runs)
    cols = ["ussh-client (login)", "ussh-client (process)", "openssh ssh"]
    rows = {"median ms": {}, "min ms": {}, "max ms": {}, "logins": {}}
    for c in cols:
        ms = m[c]
        rows["logins"][c] = len(ms)
        if ms:
            rows["median ms"][c] = round(statistics.median(ms), 1)
            rows["min ms"][c] = round(min(ms), 1)
            rows["max ms"][c] = round(max(ms), 1)
    notes = ["client on the MicroPython unix port; sshd is Debian's OpenSSH, logging in user usshpeer",
             "(login): connect to closed connection inside the process; (process): wall time of the "
             "micropython process (start, compile of lib/ussh from source, login)"]
    if m["error"]:
        notes.append("FAIL: " + m["error"])
    if m["ussh-client (process)"] and m["openssh ssh"]:
        notes.append("ratio ussh-client (process) / openssh ssh (median): %.2f" % (
            statistics.median(m["ussh-client (process)"]) / statistics.median(m["openssh ssh"])))
    return {"title": "client login: to sshd on 127.0.0.1, exec `echo 1` (%d runs, alternating)" % runs,
            "columns": cols, "rows": rows, "notes": notes, "raw": m}


def main(argv=None):
    ap = argparse.ArgumentParser(description="client login benchmark")
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from run import format_section

    print(format_section(section(a.runs)))


if __name__ == "__main__":
    main()
