"""File transfer: a 4 MiB upload and download with OpenSSH `sftp -b` to ussh on the MicroPython unix
port, beside the same transfer to OpenSSH's own sftp-server (sshd restricted to ussh's algorithms),
in the same run; whether the upload completes with ussh in `-X heapsize=64k` (modules from .mpy);
the .mpy size of the SFTP module.

MB/s = 4 MiB / (time of a batch with the transfer - time of an empty batch, the login), best of
--runs. Used by bench/run.py (section "transfer"); also runnable alone: python bench/transfer.py
"""
import hashlib
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import peers  # noqa: E402

SIZE = 4 << 20


def _sftp(srv, batch, lines, timeout=120):
    with open(batch, "w") as f:
        f.write("\n".join(lines) + "\n")
    argv = ["sftp", "-F", "/dev/null", "-P", str(srv.port), "-i", srv.client_key, "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=" + srv.known_hosts, "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-b", batch]
    if srv.user:
        argv += ["-o", "User=" + srv.user]
    t0 = time.monotonic()
    p = subprocess.run(argv + ["127.0.0.1"], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return time.monotonic() - t0, p


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def measure(srv, work, runs):
    """(upload MB/s, download MB/s, error or None) for one server."""
    src = os.path.join(work, "src")
    dst = os.path.join(work, "dst-%d" % srv.port)
    batch = os.path.join(work, "batch-%d" % srv.port)
    name = "bench-%d.bin" % srv.port
    if srv.user:  # sshd's login user writes where it may
        peer = os.path.join(work, "peer")
        os.makedirs(peer, exist_ok=True)
        os.chmod(work, 0o711)
        os.chmod(peer, 0o777)
        name = os.path.join(peer, name)
    best = [None, None]
    for _ in range(runs):
        t0, p = _sftp(srv, batch, [])
        if p.returncode:
            return None, None, p.stderr.strip()[-200:]
        for i, lines in enumerate((["put %s %s" % (src, name)], ["get %s %s" % (name, dst)])):
            t, p = _sftp(srv, batch, lines)
            if p.returncode:
                return None, None, p.stderr.strip()[-200:]
            rate = SIZE / max(t - t0, 1e-6) / 1e6
            best[i] = max(best[i] or 0, rate)
        if _sha(dst) != _sha(src):
            return None, None, "downloaded file differs"
    _sftp(srv, batch, ["rm " + name])
    return best[0], best[1], None


def section(args=None):
    runs = min(getattr(args, "runs", None) or 3, 3)  # --runs is sized for logins
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build_mpy

    rows, notes = {}, []
    res = build_mpy.build("host")
    parts = [res.sizes.get(m) for m in ("ussh/sftp.py", "ussh/sftp_ops.py", "ussh/sftp_dirs.py")]  # framing + operations
    size = sum(parts) if all(parts) else None
    with peers.Lab(prefix="ussh-transfer-") as lab:
        work = lab.dir
        with open(os.path.join(work, "src"), "wb") as f:
            f.write(os.urandom(SIZE))
        root = os.path.join(work, "root")
        os.makedirs(root)
        results = {}
        for kind, kw in (("ussh-unix", {"runtime": "unix", "extra_args": ("--root", root)}), ("sshd", {})):
            try:
                srv = lab.start("ussh" if kind.startswith("ussh") else kind, **kw)
            except peers.ServerFailed as e:
                results[kind] = (None, None, str(e).splitlines()[0])
                continue
            try:
                results[kind] = measure(srv, work, runs)
            finally:
                srv.stop()
        for kind, (up, down, err) in results.items():
            rows.setdefault("4 MiB upload (MB/s)", {})[kind] = round(up, 1) if up else "FAIL"
            rows.setdefault("4 MiB download (MB/s)", {})[kind] = round(down, 1) if down else "FAIL"
            if err:
                notes.append("%s: %s" % (kind, err))
        # the upload in a 64 KiB heap, modules from .mpy
        heap_ok = "FAIL"
        env_mpy = build_mpy.mpy_dir("host")
        port = peers.free_port()
        argv = [peers.MICROPYTHON, "-X", "heapsize=64k", "-m", "ussh", "--bind", "127.0.0.1", "--port", str(port),
                "--host-key", os.path.join(work, "hk64"), "--authorized-keys", lab.authorized_keys, "--root", root]
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "hk64")], check=True)
        s = lab._server("ussh-heap-64k", argv, port, env=dict(os.environ, MICROPYPATH=env_mpy + ":.frozen"),
                        host_key=os.path.join(work, "hk64"))
        try:
            s.start(timeout=20)
            t, p = _sftp(s, os.path.join(work, "batch64"), ["put %s big64" % os.path.join(work, "src")])
            if p.returncode == 0 and _sha(os.path.join(root, "big64")) == _sha(os.path.join(work, "src")):
                heap_ok = "ok"
            else:
                notes.append("64k heap: " + (p.stderr.strip()[-150:] or "file differs"))
        except peers.ServerFailed as e:
            notes.append("64k heap: server did not start: " + [x for x in str(e).splitlines() if x][-1][:150])
        finally:
            s.stop()
        rows["4 MiB upload in -X heapsize=64k"] = {"ussh-unix": heap_ok, "sshd": "-"}
        rows["sftp.mpy + sftp_ops.mpy + sftp_dirs.mpy (bytes)"] = {"ussh-unix": size or "FAIL", "sshd": "-"}
    return {"title": "transfer: 4 MiB with OpenSSH sftp", "columns": ["ussh-unix", "sshd"], "rows": rows,
            "notes": notes}


if __name__ == "__main__":
    sec = section()
    for r, v in sec["rows"].items():
        print("%-36s %s" % (r, "  ".join("%s=%s" % kv for kv in v.items())))
    for n in sec["notes"]:
        print("note:", n)
