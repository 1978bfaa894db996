"""The interop matrix's OpenSSH rows: 9.2 (the system's ssh, sftp, scp) and 10.x (Debian sid's, in
build/sid: tools/ssh10, and sftp/scp through the same chroot; the files they read live under /tmp).
Cells as in interop_clients.py; functions named openssh9_OP / openssh10_OP."""
import os
import subprocess
import threading
import time

from interop_clients import (EXEC_CMD, OPS, SID, SSH10, STDIN_CMD, mbps, ossh_algs, pexpect_shell, run, sha,
                             stdin_data)

_SID_SH = ('sid=$1; shift; mount --bind /tmp "$sid/tmp" || exit 255; '
           '[ -d /dev/pts ] && mount --bind /dev/pts "$sid/dev/pts" 2>/dev/null; exec chroot "$sid" "$@"')


def ossh_prog(cell, prog):
    """ssh / sftp / scp of the row's OpenSSH: the system's, or sid's in build/sid (files under /tmp)."""
    if cell.client == "openssh9":
        return [prog]
    cell.check(os.path.exists(os.path.join(SID, "usr", "bin", "ssh")), "no build/sid: run 'make sid-chroot'")
    if prog == "ssh":
        return [SSH10]
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _SID_SH, "sid10", SID,
            "/usr/bin/" + prog]


def ossh_opts(cell, extra=()):
    t = cell.target
    argv = ["-F", "/dev/null", "-i", t.key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + t.known_hosts,
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % (10 * t.slow), "-v"]
    for o in extra:
        argv += ["-o", o]
    return argv


def ossh(cell, cmd, input=None, timeout=30, extra=(), prefix=()):
    t = cell.target
    r = run(cell, ossh_prog(cell, "ssh") + ossh_opts(cell, extra) + list(prefix) +
            ["-p", str(t.port), "%s@%s" % (t.user, t.host), cmd], input=input, timeout=timeout,
            mark="Authenticated to", title="ssh " + cmd.split("\n")[0][:40])
    ossh_algs(cell, r.err)
    if r.mark_secs is not None and cell.login_ms is None:
        cell.login_ms = round(r.mark_secs * 1000, 1)
        cell.login_note = "process start to 'Authenticated to' (ssh -v)"
    return r


def openssh_exec(cell):
    r = ossh(cell, EXEC_CMD)
    cell.check((r.rc, r.out) == (0, "42\n"), "exit %s, stdout %r" % (r.rc, r.out[:200]))


def openssh_stdin(cell):
    data, want = stdin_data(cell.target.stdin_size)
    r = ossh(cell, STDIN_CMD, input=data, timeout=50)
    cell.check((r.rc, r.out) == (0, want + "\n"), "exit %s, stdout %r (want %r)" % (r.rc, r.out[:200], want))


def openssh_rekey(cell):
    # RekeyLimit=32K: a re-exchange every 16 KB or so. OpenSSH adds the next packet's length in
    # bytes, not blocks, to the blocks sent when it decides (packet.c, ssh_packet_need_rekeying):
    # with 16K (1024 blocks) and a board's 1 KB packets it re-keyed after every 2-3 KB, some 50
    # exchanges for 96 KB, 16 s on an idle machine and over 50 s on a busy one (the cell's bound is 80 s times the target's
    # slowness)
    data, want = stdin_data(max(cell.target.stdin_size, 96 * 1024))
    r = ossh(cell, STDIN_CMD, input=data, timeout=80 * cell.target.slow, extra=("RekeyLimit=32K",))
    cell.check((r.rc, r.out) == (0, want + "\n"), "exit %s, stdout %r (want %r)" % (r.rc, r.out[:200], want))
    n = r.err.count("SSH2_MSG_NEWKEYS received")
    cell.notes.append("%d key exchanges (RekeyLimit=32K, %d B up)" % (n, len(data)))
    cell.check(n >= 3, "only %d key exchanges seen with RekeyLimit=32K" % n)


def openssh_shell(cell):
    t = cell.target
    argv = ossh_prog(cell, "ssh") + ossh_opts(cell) + ["-tt", "-p", str(t.port), "%s@%s" % (t.user, t.host)]
    pexpect_shell(cell, argv)


def _xfer_times(cell, r, size, direction):
    # the transfer's share: from authentication (ssh -v) to the end of the command
    secs = r.secs - (r.mark_secs or 0)
    cell.mbps[direction] = mbps(size, secs)
    ossh_algs(cell, r.err)
    if r.mark_secs is not None and cell.login_ms is None:
        cell.login_ms = round(r.mark_secs * 1000, 1)
        cell.login_note = "process start to 'Authenticated to' (ssh -v)"


def openssh_sftp(cell):
    t = cell.target
    up = cell.local_file()
    down = os.path.join(cell.dir, "down.bin")
    rname = cell.remote("sftp.bin")
    base = ossh_prog(cell, "sftp") + ossh_opts(cell) + ["-P", str(t.port)]
    for direction, lines in (("up", ["put %s %s" % (up, rname)]), ("down", ["get %s %s" % (rname, down), "rm " + rname])):
        batch = os.path.join(cell.dir, "batch-" + direction)
        with open(batch, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run(cell, base + ["-b", batch, "%s@%s" % (t.user, t.host)], timeout=100, mark="Authenticated to",
                title="sftp " + direction)
        cell.check(r.rc == 0, "sftp %s: exit %s: %s" % (direction, r.rc, r.err.strip().splitlines()[-1:] or ""))
        _xfer_times(cell, r, t.size, direction)
    cell.check(sha(down) == sha(up), "SHA-256 of the file that came back differs")


def _openssh_scp(cell, legacy):
    t = cell.target
    up = cell.local_file()
    down = os.path.join(cell.dir, "down.bin")
    rname = cell.remote("scp%s.bin" % ("O" if legacy else ""))
    base = ossh_prog(cell, "scp") + (["-O"] if legacy else []) + ossh_opts(cell) + ["-P", str(t.port)]
    dest = "%s@%s:%s" % (t.user, t.host, rname)
    for direction, args in (("up", [up, dest]), ("down", [dest, down])):
        r = run(cell, base + args, timeout=100, mark="Authenticated to", title="scp %s" % direction)
        cell.check(r.rc == 0, "scp %s: exit %s: %s" % (direction, r.rc, r.err.strip().splitlines()[-1:] or ""))
        _xfer_times(cell, r, t.size, direction)
    cell.check(sha(down) == sha(up), "SHA-256 of the file that came back differs")
    cell.cleanup = [rname]


def openssh_scp(cell):
    _openssh_scp(cell, False)


def openssh_scp_O(cell):
    _openssh_scp(cell, True)


def openssh_2_sessions(cell):
    """Two channels at once on one connection: a ControlMaster and two multiplexed commands."""
    t = cell.target
    sock = os.path.join(cell.dir, "cm")
    dest = "%s@%s" % (t.user, t.host)
    master_argv = ossh_prog(cell, "ssh") + ossh_opts(cell, ("ControlPersist=no",)) + [
        "-M", "-S", sock, "-N", "-p", str(t.port), dest]
    log = open(os.path.join(cell.dir, "master.log"), "w+")
    master = subprocess.Popen(master_argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=cell.dir,
                              start_new_session=True)
    cell.procs.append(master)  # killed with the cell's other clients when its bound expires
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(sock):
            cell.check(master.poll() is None and time.monotonic() < deadline, "the ControlMaster did not start")
            time.sleep(0.05)
        res = {}

        def one(tag):
            res[tag] = run(cell, ossh_prog(cell, "ssh") + ossh_opts(cell) + ["-S", sock, "-p", str(t.port), dest,
                           "print(%r * 3)" % tag], timeout=30, title="ssh -S (mux) " + tag)

        threads = [threading.Thread(target=one, args=(tag,)) for tag in ("a", "b")]
        for th in threads:
            th.start()
        for th in threads:
            th.join(35)
        for tag in ("a", "b"):
            r = res.get(tag)
            cell.check(r is not None and (r.rc, r.out) == (0, tag * 3 + "\n"), "session %s: %s" % (tag, r and r.out))
            cell.check("mux_client_request_session" in r.err, "session %s did not go through the master" % tag)
        run(cell, ossh_prog(cell, "ssh") + ["-S", sock, "-O", "exit", dest], timeout=10, title="ssh -O exit")
        master.wait(10)
    finally:
        if master.poll() is None:
            master.kill()
            master.wait(5)
        log.seek(0)
        text = log.read()
        log.close()
        cell.log("ssh -M (the ControlMaster, exit %s)" % master.returncode, text[-8000:])
        ossh_algs(cell, text)
    cell.notes.append("two channels at once on one connection (ControlMaster)")


for _op in OPS:
    _fn = globals().get("openssh_" + _op.replace("-", "_"))
    if _fn:
        globals()["openssh9_" + _op.replace("-", "_")] = _fn
        globals()["openssh10_" + _op.replace("-", "_")] = _fn
