"""Running servers for end-to-end tests: ussh (unix port or CPython) and its peers.

The machinery is tools/peers.py (shared with bench/login.py); this module gives tests its API:

    with ussh_server(runtime="unix", extra_args=(), heapsize=None) as srv:
        p = srv.ssh("print(6*7)")          # stock ssh, no algorithm options -> CompletedProcess
        assert p.stdout == "42\\n", srv.log()

srv: .port, .client_key, .host_key, .dir (the temp dir), .known_hosts, .log() (server output so
far), .ssh(cmd, input=None, timeout=60, client="ssh"|"ssh10", options=()), .ssh_argv(cmd, ...),
.pid, .stop() (by PID; also done on leaving the with-block). conftest.py wraps these as the pytest
fixtures `ussh_server` and `peer_server` (factories; everything they start is stopped).
"""
import contextlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import peers  # noqa: E402
from peers import Lab, ServerFailed, free_port, keygen, ssh_argv, ussh_available  # noqa: E402,F401


@contextlib.contextmanager
def ussh_server(runtime="unix", extra_args=(), heapsize=None, timeout=20):
    """ussh listening on a free 127.0.0.1 port, with a throwaway client key in its authorized_keys;
    waits (at most `timeout` s) until the port accepts, else ServerFailed with the server's output."""
    with Lab(prefix="ussh-test-") as lab:
        yield lab.start("ussh", timeout=timeout, runtime=runtime, extra_args=extra_args,
                        heapsize=heapsize)


@contextlib.contextmanager
def peer_server(kind, timeout=20):
    """A peer ("dropbear", "sshd", "asyncssh") the same way; log in with srv.ssh("echo ok")."""
    if kind not in peers.SERVER_KINDS or kind == "ussh":
        raise ValueError(kind)
    with Lab(prefix="ussh-peer-") as lab:
        yield lab.start(kind, timeout=timeout)
