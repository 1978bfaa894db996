"""The emulated Cortex-M3's heap in SFTP sessions: the stock OpenSSH sftp puts a file of SIZE bytes
on the 140 KB board (build/qemu/firmware.elf, `make firmware`; files on its flash filesystem,
outside the heap) and gets it back (SHA-256 checked), RUNS times, each a connection of its own;
the board runs main.serve(heap=True): the lowest free heap after gc.collect() at every read and
write of each connection, and the largest free block at that point (boards/qemu/main.py _State).

    .venv/bin/python tools/sftp_heap.py [--size 65536] [--runs 3]

Prints one line per session and the lowest of each figure; exit status 1 when a transfer failed."""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop  # noqa: E402
import qemu  # noqa: E402


def _report(t, before, bound=60):
    # the board's figures for the connection that just ended (printed once it ended)
    end = time.monotonic() + bound
    while time.monotonic() < end:
        text = t.console_text()
        blocks = re.findall(r"^ussh-bench block (\d+)$", text, re.M)
        if len(blocks) > before:
            heaps = re.findall(r"^ussh-bench heap (\d+)$", text, re.M)
            return int(heaps[before]), int(blocks[before])
        time.sleep(0.1)
    raise RuntimeError("no heap report from the board in %d s" % bound)


def main(argv=None):
    a = argparse.ArgumentParser()
    a.add_argument("--size", type=int, default=65536)
    a.add_argument("--runs", type=int, default=3)
    args = a.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="ussh-sftp-heap-", dir="/tmp")
    key = interop._client_key(folder)
    t = qemu.ssh_target(folder, key + ".pub", heap=True)
    known = os.path.join(folder, "known_hosts")
    with open(known, "w") as f:
        f.write(t.known_hosts_line + "\n")
    base = ["-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o",
            "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-P", str(t.port)]
    data = os.urandom(args.size)
    src, back = os.path.join(folder, "up.bin"), os.path.join(folder, "back.bin")
    with open(src, "wb") as f:
        f.write(data)
    batch = os.path.join(folder, "batch")
    with open(batch, "w") as f:
        f.write("put %s /up.bin\nget /up.bin %s\n" % (src, back))
    lows, failed = [], 0
    try:
        for i in range(args.runs):
            if os.path.exists(back):
                os.remove(back)
            n = len(re.findall(r"^ussh-bench block", t.console_text(), re.M))
            p = subprocess.run(["sftp"] + base + ["-b", batch, "root@127.0.0.1"], capture_output=True, text=True,
                               timeout=600)
            ok = p.returncode == 0 and os.path.exists(back) and hashlib.sha256(open(back, "rb").read()).digest() \
                == hashlib.sha256(data).digest()
            low, block = _report(t, n)
            lows.append((low, block))
            failed += not ok
            print("session %d: %s; lowest free heap %d B, largest free block then %d B" % (
                i + 1, "ok" if ok else "FAILED: " + p.stderr[-300:], low, block))
    finally:
        t.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print("lowest free heap %d B; largest free block at the lowest points: %d B (least)" % (
        min(x[0] for x in lows), min(x[1] for x in lows)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
