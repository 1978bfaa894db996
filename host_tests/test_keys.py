"""ussh.keys: fingerprints, the ssh-ed25519 host key and its OpenSSH private
key file, checked against ssh-keygen, paramiko and cryptography."""
import base64
import os
import stat
import struct
import subprocess

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from runtimes import RUNTIMES, run

# cpython and unix share the host's file system; the webassembly port has its
# own in-memory one, so scripts write their input files themselves.
FILE_RUNTIMES = ("cpython", "unix")


def keygen(path, *args):
    subprocess.run(
        ["ssh-keygen", "-q", "-f", str(path)] + list(args),
        check=True,
        capture_output=True,
        timeout=60,
    )


def pub_line(path):
    # "type base64 comment" of path.pub
    return open(str(path) + ".pub").read().split()


def workdir(runtime, tmp_path):
    return "/tmp" if runtime == "wasm" else str(tmp_path)


def script(runtime, d, body, files=()):
    # a script that writes files [(name, bytes)] into d, then runs body with
    # D = d. The webassembly port has no os.urandom: it gets host entropy
    # through ussh's board-entropy hook.
    code = "import os\nD = %r\n" % d
    if runtime == "wasm":
        code += "from ussh.crypto.rand import set_source\nset_source(lambda n, e=%r: e[:n])\n" % os.urandom(64)
    for name, data in files:
        code += "with open(D + '/' + %r, 'wb') as f:\n    f.write(%r)\n" % (name, data)
    return code + body


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def read_strings(b):
    out = []
    while b:
        (n,) = struct.unpack(">I", b[:4])
        out.append(b[4 : 4 + n])
        b = b[4 + n :]
    return out


# --- fingerprints ----------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fingerprint_matches_ssh_keygen(runtime, tmp_path):
    blobs = []
    expected = []
    for kind in ("ed25519", "ecdsa", "rsa"):
        k = tmp_path / kind
        keygen(k, "-t", kind, "-N", "")
        blobs.append(base64.b64decode(pub_line(k)[1]))
        out = subprocess.run(
            ["ssh-keygen", "-lf", str(k) + ".pub"], capture_output=True, text=True, check=True
        ).stdout
        expected.append(out.split()[1])
    got = run(runtime, "from ussh.keys import fingerprint\nfor b in %r:\n    print(fingerprint(b))\n" % blobs)
    assert got.split() == expected


# --- loading ssh-keygen files --------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_load_ssh_keygen_file(runtime, tmp_path):
    k = tmp_path / "k"
    keygen(k, "-t", "ed25519", "-N", "", "-C", "admin@laptop")
    d = workdir(runtime, tmp_path)
    body = (
        "from ussh.keyfile import load\n"
        "k = load(D + '/hk')\n"
        "print(k.blob.hex())\nprint(k.seed.hex())\nprint(k.comment)\n"
        "print(k.public_line('admin@laptop'))\nprint(k.public_line())\nprint(k.fingerprint())\n"
    )
    out = run(runtime, script(runtime, d, body, [("hk", k.read_bytes())])).splitlines()
    kind, b64, comment = pub_line(k)
    blob = base64.b64decode(b64)
    assert bytes.fromhex(out[0]) == blob
    pub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(out[1])).public_key()
    assert blob.endswith(pub.public_bytes_raw())
    assert out[2] == comment == "admin@laptop"
    assert out[3] == " ".join((kind, b64, comment))
    assert out[4] == " ".join((kind, b64))
    lf = subprocess.run(["ssh-keygen", "-lf", str(k)], capture_output=True, text=True, check=True)
    assert out[5] == lf.stdout.split()[1]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_host_key_signature_verifies(runtime, tmp_path):
    k = tmp_path / "k"
    keygen(k, "-t", "ed25519", "-N", "")
    d = workdir(runtime, tmp_path)
    messages = [b"", b"exchange hash", bytes(range(256))]
    body = (
        "from ussh.keyfile import load\nk = load(D + '/hk')\n"
        "for m in %r:\n    print(k.sign(m).hex())\n" % messages
    )
    out = run(runtime, script(runtime, d, body, [("hk", k.read_bytes())])).split()
    pub = Ed25519PublicKey.from_public_bytes(read_strings(base64.b64decode(pub_line(k)[1]))[1])
    assert len(out) == len(messages)
    for m, sig_hex in zip(messages, out):
        alg, sig = read_strings(bytes.fromhex(sig_hex))  # RFC 8709 §6 layout
        assert alg == b"ssh-ed25519" and len(sig) == 64
        pub.verify(sig, m)  # raises InvalidSignature
    with pytest.raises(Exception):
        pub.verify(read_strings(bytes.fromhex(out[1]))[1], messages[0])


# --- saving --------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_save_readable_by_openssh_and_paramiko(runtime, tmp_path):
    priv = Ed25519PrivateKey.generate()
    seed = priv.private_bytes_raw()
    pub = priv.public_key().public_bytes_raw()
    d = workdir(runtime, tmp_path)
    body = (
        "from ussh.keys import HostKey\nfrom ussh.keygen import save\n"
        "k = HostKey(%r, %r)\n"
        "save(k, D + '/hk', 'board-1')\n"
        "print(k.public_line('board-1'))\n"
        "print(sorted(os.listdir(D)))\n"
        "print(open(D + '/hk', 'rb').read().hex())\n" % (seed, pub)
    )
    line, listing, data = run(runtime, script(runtime, d, body)).splitlines()
    assert listing == "['hk']"  # no temporary file left behind
    f = tmp_path / "hk"
    if runtime == "wasm":
        f.write_bytes(bytes.fromhex(data))
        f.chmod(0o600)
    assert f.read_bytes().hex() == data
    if runtime == "cpython":
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    else:
        f.chmod(0o600)  # MicroPython cannot set file modes; ssh-keygen insists on them
    text = f.read_text()
    lines = text.splitlines()
    assert lines[0] == "-----BEGIN OPENSSH PRIVATE KEY-----"
    assert lines[-1] == "-----END OPENSSH PRIVATE KEY-----" and text.endswith("\n")
    assert all(len(x) == 70 for x in lines[1:-2]) and 0 < len(lines[-2]) <= 70
    expected = "ssh-ed25519 " + base64.b64encode(ssh_string(b"ssh-ed25519") + ssh_string(pub)).decode()
    assert line == expected + " board-1"
    y = subprocess.run(["ssh-keygen", "-y", "-f", str(f)], capture_output=True, text=True, check=True)
    assert y.stdout.split()[:2] == expected.split()
    pk = paramiko.Ed25519Key.from_private_key_file(str(f))
    assert pk.asbytes() == ssh_string(b"ssh-ed25519") + ssh_string(pub)
    # paramiko read the private half too: its signature verifies under pub
    alg, sig = read_strings(pk.sign_ssh_data(b"data").asbytes())
    Ed25519PublicKey.from_public_bytes(pub).verify(sig, b"data")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_save_then_load_round_trip(runtime, tmp_path):
    # every comment length gives a different padding length (0..7 bytes)
    d = workdir(runtime, tmp_path)
    body = (
        "from ussh.keys import HostKey\nfrom ussh.keyfile import load\nfrom ussh.keygen import save\n"
        "k = HostKey(bytes(range(32)), bytes(range(100, 132)))\n"
        "for n in range(9):\n"
        "    save(k, D + '/hk', 'c' * n)\n"
        "    j = load(D + '/hk')\n"
        "    print(j.seed == k.seed, j.pub == k.pub, j.blob == k.blob, len(j.comment))\n"
    )
    out = run(runtime, script(runtime, d, body)).splitlines()
    assert out == ["True True True %d" % n for n in range(9)]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_load_or_create_persists(runtime, tmp_path):
    d = workdir(runtime, tmp_path)
    body = (
        "from ussh.keyfile import load_or_create\n"
        "logged = []\n"
        "k = load_or_create(D + '/host_key', logged.append)\n"
        "print(k.seed.hex(), k.fingerprint(), len(logged))\n"
        "for m in logged:\n    print('LOG', m)\n"
    )
    first = run(runtime, script(runtime, d, body + "k2 = load_or_create(D + '/host_key', logged.append)\n"
                                "print(k2.seed.hex(), k2.fingerprint(), len(logged))\n")).splitlines()
    seed, fp, n = first[0].split()
    assert n == "1" and first[1].startswith("LOG ")
    assert "new host key" in first[1] and d + "/host_key" in first[1] and fp in first[1]
    # the second call in the same run loads the saved key and logs nothing
    assert first[2] == "%s %s 1" % (seed, fp)
    pub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)).public_key().public_bytes_raw()
    if runtime in FILE_RUNTIMES:
        # a later process gets the same key back
        again = run(runtime, script(runtime, d, body)).splitlines()
        assert again == ["%s %s 0" % (seed, fp)]
        if runtime == "cpython":
            assert stat.S_IMODE(os.stat(tmp_path / "host_key").st_mode) == 0o600
        else:
            (tmp_path / "host_key").chmod(0o600)  # as above: MicroPython sets no modes
        pubfile = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(tmp_path / "host_key")], capture_output=True, text=True, check=True
        ).stdout
        assert base64.b64decode(pubfile.split()[1]) == ssh_string(b"ssh-ed25519") + ssh_string(pub)
        assert sorted(os.listdir(tmp_path)) == ["host_key"]


@pytest.mark.parametrize("runtime", FILE_RUNTIMES)
def test_load_or_create_does_not_replace_a_bad_file(runtime, tmp_path):
    f = tmp_path / "host_key"
    f.write_bytes(b"not a key\n")
    body = (
        "from ussh.keyfile import load_or_create, KeyFileError\n"
        "try:\n    load_or_create(D + '/host_key', print)\n"
        "except KeyFileError as e:\n    print('KeyFileError', e)\n"
    )
    out = run(runtime, script(runtime, str(tmp_path), body))
    assert out.startswith("KeyFileError")
    assert f.read_bytes() == b"not a key\n"


# --- bad key files ---------------------------------------------------------


def armour(raw):
    b64 = base64.b64encode(raw).decode()
    body = "".join(b64[i : i + 70] + "\n" for i in range(0, len(b64), 70))
    return ("-----BEGIN OPENSSH PRIVATE KEY-----\n%s-----END OPENSSH PRIVATE KEY-----\n" % body).encode()


def build(
    cipher=b"none", kdf=b"none", nkeys=1, check=(7, 7), kind=b"ssh-ed25519", pub_kind=b"ssh-ed25519",
    pair_pub=None, padding=None, trailer=b"", magic=b"openssh-key-v1\x00",
):
    # an OpenSSH private key file (PROTOCOL.key) with any field changed
    priv = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    pub = priv.public_key().public_bytes_raw()
    blob = ssh_string(pub_kind) + ssh_string(pub)
    section = struct.pack(">II", *check) + ssh_string(kind) + ssh_string(pub)
    section += ssh_string(priv.private_bytes_raw() + (pair_pub or pub)) + ssh_string(b"comment")
    section += bytes(range(1, 1 + -len(section) % 8)) if padding is None else padding
    raw = magic + ssh_string(cipher) + ssh_string(kdf) + ssh_string(b"") + struct.pack(">I", nkeys)
    return armour(raw + ssh_string(blob) + ssh_string(section) + trailer)


def keygen_file(tmp_path, *args):
    k = tmp_path / "src"
    keygen(k, *args)
    return k.read_bytes()


GOOD = build()
BAD_FILES = {
    # name: (file contents maker, words the message must contain)
    "encrypted": (lambda t: keygen_file(t, "-t", "ed25519", "-N", "secret pass"),
                  ["passphrase", "ssh-keygen -p -N ''"]),
    "rsa": (lambda t: keygen_file(t, "-t", "rsa", "-b", "1024", "-N", ""), ["ssh-rsa", "not supported"]),
    "ecdsa": (lambda t: keygen_file(t, "-t", "ecdsa", "-N", ""), ["ecdsa-sha2-nistp256", "not supported"]),
    "pem_rsa": (lambda t: keygen_file(t, "-t", "rsa", "-b", "1024", "-m", "PEM", "-N", ""),
                ["not an OpenSSH private key"]),
    "public_key_file": (lambda t: (keygen_file(t, "-t", "ed25519", "-N", ""), (t / "src.pub").read_bytes())[1],
                        ["not an OpenSSH private key"]),
    "empty": (lambda t: b"", ["not an OpenSSH private key"]),
    "no_end_line": (lambda t: GOOD[: len(GOOD) // 2], ["truncated"]),
    "short_body": (lambda t: b"\n".join(GOOD.split(b"\n")[:3] + [GOOD.split(b"\n")[-2]]),
                   ["corrupt or truncated"]),
    "bad_base64": (lambda t: GOOD.replace(GOOD.split(b"\n")[2][:4], b"A!A!", 1), ["bad base64"]),
    "bad_magic": (lambda t: build(magic=b"openssh-key-v2\x00"), ["openssh-key-v1"]),
    "two_keys": (lambda t: build(nkeys=2), ["exactly one key"]),
    "no_keys": (lambda t: build(nkeys=0), ["exactly one key"]),
    "kdf_without_cipher": (lambda t: build(kdf=b"bcrypt"), ["passphrase"]),
    "checkints_differ": (lambda t: build(check=(7, 8)), ["check numbers differ"]),
    "private_type": (lambda t: build(kind=b"ssh-ed448"), ["private key type"]),
    "pair_mismatch": (lambda t: build(pair_pub=bytes(32)), ["do not match"]),
    "bad_padding": (lambda t: build(padding=b"\x01\x02\x04\x04\x05\x06"), ["padding"]),
    "too_much_padding": (lambda t: build(padding=bytes(range(1, 15))), ["padding"]),
    "unpadded": (lambda t: build(padding=b"\x01"), ["not padded"]),
    "trailing_bytes": (lambda t: build(trailer=b"\x00\x00"), ["corrupt or truncated"]),
}

LOAD_OR_ERROR = (
    "from ussh.keyfile import load, KeyFileError\n"
    "try:\n    k = load(D + '/hk')\n    print('loaded', k.seed.hex())\n"
    "except KeyFileError as e:\n    print('KeyFileError', e)\n"
)


@pytest.mark.parametrize("runtime", FILE_RUNTIMES + ("wasm",))
def test_builder_makes_a_loadable_file(runtime, tmp_path):
    # the bad-file cases below differ from this good one in one field each
    out = run(runtime, script(runtime, workdir(runtime, tmp_path), LOAD_OR_ERROR, [("hk", GOOD)]))
    assert out.split() == ["loaded", bytes(range(1, 33)).hex()]


@pytest.mark.parametrize("runtime", FILE_RUNTIMES)
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_key_file(case, runtime, tmp_path):
    make, words = BAD_FILES[case]
    data = make(tmp_path)
    out = run(runtime, script(runtime, str(tmp_path), LOAD_OR_ERROR, [("hk", data)])).strip()
    assert out.startswith("KeyFileError " + str(tmp_path / "hk") + ": ")
    for w in words:
        assert w in out


@pytest.mark.parametrize("runtime", FILE_RUNTIMES)
def test_missing_file_is_a_key_file_error(runtime, tmp_path):
    out = run(runtime, script(runtime, str(tmp_path), LOAD_OR_ERROR)).strip()
    assert out.startswith("KeyFileError " + str(tmp_path / "hk") + ": cannot read")
