"""mpremote through an SSH tunnel to a board running ussh (its raw REPL, ussh.rawrepl).

usage: tools/ussh-mpremote [ssh options] HOST MPREMOTE-ARGS...
   e.g. tools/ussh-mpremote board fs cp main.py :
        tools/ussh-mpremote -p 2222 127.0.0.1 run script.py
        tools/ussh-mpremote board mount . exec "import app"

Starts `ssh -N -o ExitOnForwardFailure=yes -L 127.0.0.1:PORT:repl:1 [ssh options] HOST` on a
free local PORT, waits until ssh listens there (without connecting: a connection would open a
raw REPL on the board), runs `mpremote connect socket://127.0.0.1:PORT MPREMOTE-ARGS...`, then
stops ssh by its PID. For mpremote's interactive repl (`repl`, or no command) the port is reached
through a pty that socat bridges to it (mpremote's repl needs a serial device with a file
descriptor; its socket:// has none). ssh options before HOST: -p, -i, -l, -F, -J, -o take a value; other
single-letter flags (-v, -4, -C, ...) pass as they are. MPREMOTE (environment) names the
mpremote to run: by default the project's .venv/bin/mpremote, else `mpremote` on PATH. The exit
status is mpremote's (255 when the tunnel did not come up).
"""
import os
import shutil
import socket
import subprocess
import sys
import time

from peers import free_port  # tools/, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_WITH_VALUE = ("-p", "-i", "-l", "-F", "-J", "-o", "-b", "-c", "-m", "-E", "-S")
TUNNEL_TIMEOUT = 60  # seconds for ssh to log in and listen


def split_args(argv):
    """(ssh options, host, mpremote arguments) of the command line."""
    opts = []
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        if a in _WITH_VALUE and i + 1 < len(argv):
            opts += [a, argv[i + 1]]
            i += 2
        else:
            opts.append(a)
            i += 1
    if i >= len(argv):
        raise SystemExit(__doc__)
    return opts, argv[i], argv[i + 1 :]


def mpremote_exe():
    exe = os.environ.get("MPREMOTE")
    if exe:
        return exe
    venv = os.path.join(ROOT, ".venv", "bin", "mpremote")
    return venv if os.path.exists(venv) else (shutil.which("mpremote") or "mpremote")


def _listening(port):
    # ssh listens once binding the port fails (probing by bind, not connect)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def tunnel(ssh_opts, host, ssh="ssh", timeout=TUNNEL_TIMEOUT, tries=3):
    """Starts ssh -N -L on a free port: (Popen, port) once it listens; raises RuntimeError
    (with ssh's messages) when it exits first or does not listen within timeout."""
    err = ""
    for _ in range(tries):  # a port taken between our probe and ssh's bind: another port
        port = free_port()
        argv = [ssh, "-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:%d:repl:1" % port] + ssh_opts + [host]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if p.poll() is not None:
                break
            if _listening(port):
                return p, port
            time.sleep(0.05)
        stop(p)
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if "forward" not in err.lower():  # not a port clash: trying again will not help
            break
    raise RuntimeError("ssh tunnel to %s did not come up: %s" % (host, err.strip() or "timeout"))


def stop(p):
    """Ends ssh by its PID (SIGTERM, then SIGKILL)."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def pty_bridge(port, folder, timeout=30):
    """socat between a pty (folder/tty) and the tunnel's port: mpremote's interactive repl
    waits on its serial port's file descriptor, which pyserial's socket:// has none of
    (mpremote 1.29: 'Serial' object has no attribute 'fd'). (Popen, path)."""
    path = os.path.join(folder, "tty")
    p = subprocess.Popen(["socat", "PTY,link=%s,rawer" % path, "TCP:127.0.0.1:%d,nodelay" % port],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if p.poll() is not None or time.monotonic() > end:
            stop(p)
            raise RuntimeError("socat: %s" % (p.stderr.read().decode(errors="replace").strip() or "no pty"))
        time.sleep(0.05)
    return p, path


def interactive(args):
    """Whether mpremote will run its interactive repl (its default without a command)."""
    return not args or "repl" in args


def main(argv, ssh="ssh"):
    ssh_opts, host, args = split_args(argv)
    try:
        p, port = tunnel(ssh_opts, host, ssh)
    except RuntimeError as e:
        print("ussh-mpremote: %s" % e, file=sys.stderr)
        return 255
    bridge = folder = None
    try:
        device = "socket://127.0.0.1:%d" % port
        if interactive(args):
            import tempfile

            folder = tempfile.mkdtemp(prefix="ussh-mpremote-")
            bridge, device = pty_bridge(port, folder)
        return subprocess.call([mpremote_exe(), "connect", device] + args)
    except RuntimeError as e:
        print("ussh-mpremote: %s" % e, file=sys.stderr)
        return 255
    except KeyboardInterrupt:
        return 130
    finally:
        if bridge is not None:
            stop(bridge)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        stop(p)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
