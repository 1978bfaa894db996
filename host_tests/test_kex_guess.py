"""RFC 4253 §7: a client may send its first key exchange packet right after
KEXINIT, guessing the algorithms; a wrong guess must be ignored, a right one
used."""
import os

import pytest

from rawssh import KEXINIT, KEX_ECDH_INIT, RawClient, namelist, string, u32

KEY_EXCHANGES = {
    # client's kex list, whether its first entry is what the server picks
    "right": ([b"curve25519-sha256", b"kexguess2@matt.ucc.asn.au"], True),  # Dropbear's rule
    "wrong": ([b"ecdh-sha2-nistp256", b"curve25519-sha256"], False),
    # chosen, but not the server's first choice (mlkem768x25519-sha256): wrong by RFC 4253 §7,
    # as OpenSSH and Dropbear (without kexguess2) judge it
    "not-first": ([b"curve25519-sha256"], False),
}


def _kexinit_with_guess(c, kex):
    c.kex_names, c.cipher = kex, b"aes128-ctr"
    c.i_c = b"".join([bytes([KEXINIT]), os.urandom(16), namelist(kex), namelist([b"ssh-ed25519"]),
                      namelist([b"aes128-ctr"]), namelist([b"aes128-ctr"]),
                      namelist([b"hmac-sha2-256-etm@openssh.com"]), namelist([b"hmac-sha2-256-etm@openssh.com"]),
                      namelist([b"none"]), namelist([b"none"]), namelist([]), namelist([]),
                      b"\x01", u32(0)])  # first_kex_packet_follows
    c.send_packet(c.i_c)


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
@pytest.mark.parametrize("guess", sorted(KEY_EXCHANGES))
def test_guessed_first_kex_packet(ussh_server, runtime, guess):
    srv = ussh_server(runtime=runtime)
    kex, right = KEY_EXCHANGES[guess]
    with RawClient(srv.port) as c:
        c.send_version()
        c.read_version()
        _kexinit_with_guess(c, kex)
        if not right:
            # the guessed packet for an algorithm the server did not pick
            c.send_packet(bytes([KEX_ECDH_INIT]) + string(b"\x00" * 65))
        c.read_kexinit()
        c.kex()  # the real exchange: the server used (right) or skipped (wrong) the guess
        c.login(_client_key(srv))
        res = c.exec(c.open_session(), b"print(6*7)")
    assert (res.stdout, res.status) == (b"42\n", 0), srv.log()


def _client_key(srv):
    from rawssh import load_private_key

    return load_private_key(srv.client_key)
