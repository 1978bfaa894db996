"""hmac-sha2-256 (RFC 6668) in encrypt-and-MAC mode, RFC 4253 §6.4: the whole packet, length included,
is encrypted and the MAC covers seq || the plaintext packet (Dropbear 2022.83's dbclient offers no
etm MAC). Checked against `cryptography`, fed byte by byte as a stream driver does, and end to end."""
import os
import struct
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from ussh.crypto import AESCTR, HMACSHA256  # noqa: E402
from ussh.transport import Transport  # noqa: E402
from ussh.wire import SSHError  # noqa: E402

KEY, IV, MK = bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 64))


def _pair():
    out, inp = Transport(), Transport()
    out.set_out(AESCTR(KEY, IV), HMACSHA256(MK), 32, etm=False)
    inp.peer_version = b"SSH-2.0-x"
    inp.set_in(AESCTR(KEY, IV), HMACSHA256(MK), 32, etm=False)
    return out, inp


def test_packets_match_rfc4253_6_4_and_read_back_byte_by_byte():
    out, inp = _pair()
    dec = Cipher(algorithms.AES(KEY), modes.CTR(IV)).decryptor()
    payloads = [b"", b"x", os.urandom(11), os.urandom(16), os.urandom(1000), os.urandom(32000)]
    for seq, payload in enumerate(payloads):
        pkt = bytes(out.pack(payload))
        body, tag = pkt[:-32], pkt[-32:]
        plain = dec.update(body)
        n, pad = struct.unpack(">IB", plain[:5])
        assert len(body) % 16 == 0 and n == len(body) - 4 and 4 <= pad < 4 + 16
        assert plain[5:5 + len(payload)] == payload
        h = c_hmac.HMAC(MK, hashes.SHA256())
        h.update(struct.pack(">I", seq) + plain)
        assert tag == h.finalize()
        # a stream driver reads exactly wanted() bytes at a time and never more
        got, fed = None, 0
        while got is None:
            want = inp.wanted()
            assert want >= 1 and fed + want <= len(pkt)
            inp.feed(pkt[fed:fed + want])
            fed += want
            got = inp.read_packet()
        assert got == payload and fed == len(pkt) and not inp.rbuf


@pytest.mark.parametrize("where", ["length", "payload", "mac"])
def test_a_changed_byte_fails_the_mac(where):
    out, inp = _pair()
    pkt = bytearray(out.pack(b"hello world" * 10))
    pkt[{"length": 2, "payload": 40, "mac": len(pkt) - 1}[where]] ^= 1
    inp.feed(pkt)
    with pytest.raises(SSHError) as e:
        while inp.read_packet() is None:
            inp.feed(bytes(64))  # a corrupted length may ask for more: it still ends in an error
    assert "authentication code" in str(e.value) or "packet length" in str(e.value)


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
def test_openssh_with_hmac_sha2_256_and_rekeys(ussh_server, runtime):
    srv = ussh_server(runtime=runtime, extra_args=("--legacy-mac",))
    data = "".join("%06d\n" % i for i in range(30000))
    p = srv.ssh("import sys\nprint(len(sys.stdin.read()))\nfor i in range(3000): print(i)", input=data,
                options=("MACs=hmac-sha2-256", "RekeyLimit=32K", "LogLevel=DEBUG"), timeout=120)
    assert p.returncode == 0, p.stderr[-2000:] + srv.log()
    assert p.stdout.splitlines() == [str(len(data))] + [str(i) for i in range(3000)]
    assert "MAC: hmac-sha2-256 compression" in p.stderr
    assert p.stderr.count("SSH2_MSG_NEWKEYS received") >= 3
