"""The virtual board: the MicroPython unix port with its own filesystem folder, reachable
by mpremote over TCP as PORT=socket://127.0.0.1:N (what a USB serial port is on a real board).

usage: python tools/vboard.py start DIR [--port N]   prints the mpremote PORT; pid in DIR/.vboard.pid
       python tools/vboard.py stop DIR               stops it (by that PID)
       python tools/vboard.py boot DIR               runs DIR/main.py as the board's boot (foreground)

socat listens on 127.0.0.1:N and gives each connection a fresh `micropython -i` on a pty, in
DIR, with DIR/lib on its path: every mpremote call is a board that has just been reset, and
its files persist in DIR. The unix port has no soft reset: use `mpremote connect PORT resume ...`.
Importable: start(dir, port) -> pid, stop(dir), env(dir), boot_argv(dir).
"""
import os
import signal
import socket
import subprocess
import sys
import time

from peers import free_port  # tools/, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
_PIDFILE = ".vboard.pid"


def env(folder):
    """The environment a board process gets: DIR/lib on sys.path (mip installs there)."""
    e = dict(os.environ)
    e["MICROPYPATH"] = os.path.join(os.path.abspath(folder), "lib") + ":.frozen"
    return e


def boot_argv(folder):
    """The command that runs the board's main.py (cwd: the board folder)."""
    return [MICROPYTHON, "main.py"]


def start(folder, port=None, timeout=10):
    """Starts a virtual board on 127.0.0.1:port serving folder; returns (pid, port)."""
    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    port = port or free_port()
    repl = "%s -i" % MICROPYTHON
    argv = [
        "socat",
        "-lf",
        os.devnull,  # each closed connection logs a broken pipe: noise
        "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,nodelay" % port,
        "EXEC:%s,pty,stderr,setsid,ctty,rawer" % repl,
    ]
    p = subprocess.Popen(argv, cwd=folder, env=env(folder), stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(folder, _PIDFILE), "w") as f:
        f.write("%d %d\n" % (p.pid, port))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # listening?
        if p.poll() is not None:
            raise RuntimeError("socat exited with %d" % p.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p.pid, port
        except OSError:
            time.sleep(0.05)
    stop(folder)
    raise RuntimeError("virtual board did not listen on %d" % port)


def stop(folder):
    """Stops the board started in folder: socat and its per-connection children, by PID
    (socat leads its own process group). True if one was running."""
    path = os.path.join(os.path.abspath(folder), _PIDFILE)
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    os.remove(path)
    try:
        os.killpg(pid, signal.SIGTERM)  # the group of the socat we started (start_new_session)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # our child when started from this process: reap it
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        except ChildProcessError:
            pass
        time.sleep(0.02)
    else:
        os.killpg(pid, signal.SIGKILL)
    return True


def main(argv):
    if len(argv) < 2 or argv[0] not in ("start", "stop", "boot"):
        print(__doc__.split("\n\n")[1])
        return 2
    cmd, folder = argv[0], argv[1]
    if cmd == "start":
        port = int(argv[3]) if len(argv) > 3 and argv[2] == "--port" else None
        pid, port = start(folder, port)
        print("virtual board %s: PORT=socket://127.0.0.1:%d (pid %d)" % (folder, port, pid))
        return 0
    if cmd == "stop":
        print("stopped" if stop(folder) else "no virtual board running in %s" % folder)
        return 0
    os.chdir(folder)
    os.execve(MICROPYTHON, boot_argv(folder), env(folder))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
