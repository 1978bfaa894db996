"""Shared pytest fixtures. host_tests/ is on sys.path (pytest's rootdir-relative import), so tests
`import runtimes` and `import sshd_fixtures` directly.

Fixtures (both factories; every server they start is stopped by PID at teardown):
    ussh_server(runtime="unix"|"cpython", extra_args=(), heapsize=None, timeout=20) -> server
    peer_server("dropbear"|"sshd"|"asyncssh", timeout=20) -> server
server: .port .client_key .host_key .dir .log() .ssh(cmd, input=None, timeout=60, client="ssh")
.stop(); see sshd_fixtures.py.
"""
import contextlib

import pytest

import sshd_fixtures


@pytest.fixture
def ussh_server():
    with contextlib.ExitStack() as stack:

        def start(runtime="unix", extra_args=(), heapsize=None, timeout=20):
            return stack.enter_context(sshd_fixtures.ussh_server(runtime, extra_args, heapsize, timeout))

        yield start


@pytest.fixture
def peer_server():
    with contextlib.ExitStack() as stack:

        def start(kind, timeout=20):
            return stack.enter_context(sshd_fixtures.peer_server(kind, timeout))

        yield start
