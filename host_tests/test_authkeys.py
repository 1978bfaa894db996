"""ussh.authkeys: authorized_keys parsing (sshd(8) AUTHORIZED_KEYS FILE
FORMAT), table-driven and run on every runtime."""
import base64
import json
import struct
import subprocess
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from runtimes import RUNTIMES, run


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def openssh_line(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def b64(blob):
    return base64.b64encode(blob).decode()


ED1 = openssh_line(ed25519.Ed25519PrivateKey.generate())  # "ssh-ed25519 AAAA..."
ED2 = openssh_line(ed25519.Ed25519PrivateKey.generate())
RSA = openssh_line(rsa.generate_private_key(public_exponent=65537, key_size=1024))
ECDSA = openssh_line(ec.generate_private_key(ec.SECP256R1()))
SK = "sk-ssh-ed25519@openssh.com " + b64(
    ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(bytes(range(32))) + ssh_string(b"ssh:")
)
CERT = "ssh-ed25519-cert-v01@openssh.com " + b64(
    ssh_string(b"ssh-ed25519-cert-v01@openssh.com") + ssh_string(bytes(32)) + ssh_string(bytes(range(32)))
)
ED1_BLOB = ED1.split()[1]
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
assert SK.endswith("=") and not SK.endswith("==")


def key(line, comment="", options=(), number=1):
    # the expected entry for a key line "type base64"
    kind, data = line.split()
    return [kind, base64.b64decode(data).hex(), comment, [list(o) for o in options], number]


def skipped(number, *words):
    return (number, words)


# name: (authorized_keys text, expected entries, expected warnings)
# Expected entries are key(...) lists; warnings are skipped(line, words...):
# exactly one warning per listed line, naming the line and containing words.
CASES = {
    "one_key": (ED1 + " alice@laptop\n", [key(ED1, "alice@laptop")], []),
    "no_comment": (ED1 + "\n", [key(ED1)], []),
    "no_final_newline": (ED1 + " a", [key(ED1, "a")], []),
    "comment_with_spaces": (ED1 + "  my  old laptop \n", [key(ED1, "my  old laptop")], []),
    "tabs": (ED1.replace(" ", "\t") + "\tc\n", [key(ED1, "c")], []),
    "crlf": (ED1 + " a\r\n\r\n" + ED2 + "\r\n", [key(ED1, "a"), key(ED2, number=3)], []),
    "comments_and_blanks": (
        "# keys\n\n   \n  # indented comment\n\t" + ED1 + " x\n#" + ED2 + "\n",
        [key(ED1, "x", number=5)],
        [],
    ),
    "other_key_types": (
        "\n".join([RSA + " r", ECDSA, SK + " s", CERT + " c"]),
        [key(RSA, "r"), key(ECDSA, number=2), key(SK, "s", number=3), key(CERT, "c", number=4)],
        [],
    ),
    "options_skip_only_their_line": (
        ED1 + " a\n" + 'environment="A=1" ' + ED2 + " b\n" + ED2 + " c\n",
        [key(ED1, "a"), key(ED2, "c", number=3)],
        [skipped(2, "option 'environment' not supported")],
    ),
    "quoted_value_with_commas_and_quotes": (
        'command="echo \\"a, b\\" c",no-pty ' + ED1 + " x\n",
        [key(ED1, "x", options=[("command", 'echo "a, b" c'), ("no-pty", None)])],
        [],
    ),
    "option_names_any_case": ("No-PTY " + ED1 + "\n", [key(ED1, options=[("no-pty", None)])], []),
    "bad_base64": (ED1.replace(ED1_BLOB, ED1_BLOB[:8] + "!!!!" + ED1_BLOB[12:]) + "\n", [], [skipped(1, "bad base64")]),
    "base64_without_padding": (SK.rstrip("=") + "\n", [], [skipped(1, "bad base64")]),
    "base64_nonzero_trailing_bits": (
        # the sk blob is 74 bytes: the character before "=" carries 2 unused bits
        SK[:-2] + B64_ALPHABET[B64_ALPHABET.index(SK[-2]) ^ 1] + "=\n",
        [],
        [skipped(1, "bad base64")],
    ),
    "type_mismatch": ("ssh-rsa " + ED1_BLOB + " x\n", [], [skipped(1, "not a ssh-rsa key")]),
    "unknown_key_type": ("ssh-foo " + ED1_BLOB + " c\n", [], [skipped(1, "unknown key type 'ssh-foo'")]),
    "unknown_key_type_alone": ("ssh-foo\n", [], [skipped(1, "unknown key type 'ssh-foo'")]),
    "no_key_data": ("ssh-ed25519\n", [], [skipped(1, "no key data")]),
    "options_without_key": ("no-pty\n", [], [skipped(1, "no key after the options")]),
    "options_then_unknown_type": ("no-pty ssh-foo AAAA\n", [], [skipped(1, "unknown key type 'ssh-foo'")]),
    "short_ed25519_key": (
        "ssh-ed25519 " + b64(ssh_string(b"ssh-ed25519") + ssh_string(bytes(31))) + "\n",
        [],
        [skipped(1, "malformed ssh-ed25519 key")],
    ),
    "ed25519_key_with_trailing_bytes": (
        "ssh-ed25519 " + b64(ssh_string(b"ssh-ed25519") + ssh_string(bytes(32)) + b"\0") + "\n",
        [],
        [skipped(1, "malformed ssh-ed25519 key")],
    ),
    "blob_too_short_for_its_type": ("ssh-rsa " + b64(b"\0\0\0\x07ssh") + "\n", [], [skipped(1, "malformed ssh-rsa key")]),
    "unquoted_value": ("from=10.0.0.1 " + ED1 + "\n", [], [skipped(1, "'from'", "not quoted")]),
    "unterminated_quote": ('command="ls ' + ED1 + "\n", [], [skipped(1, "'command'", "closing quote")]),
    "escaped_final_quote": ('command="ls\\" ' + ED1 + "\n", [], [skipped(1, "'command'", "closing quote")]),
    "junk_after_value": ('command="ls"x ' + ED1 + "\n", [], [skipped(1, "bad option syntax")]),
    "empty_option": (",no-pty " + ED1 + "\n", [], [skipped(1, "bad option syntax")]),
    "flag_with_value": ('no-pty="yes" ' + ED1 + "\n", [], [skipped(1, "'no-pty' takes no value")]),
    "value_option_without_value": ("command " + ED1 + "\n", [], [skipped(1, "'command' needs a value")]),
    "unknown_option": ("frobnicate " + ED1 + "\n", [], [skipped(1, "unknown", "'frobnicate'")]),
    "unknown_option_with_value": ('frob="1" ' + ED1 + "\n", [], [skipped(1, "unknown option 'frob'")]),
    "many_bad_lines_numbered": (
        "\n".join(["# c", "ssh-ed25519 !!!", ED1 + " ok", 'tunnel="1" ' + ED2, "", "ssh-rsa " + ED1_BLOB]),
        [key(ED1, "ok", number=3)],
        [skipped(2, "bad base64"), skipped(4, "'tunnel'"), skipped(6, "not a ssh-rsa key")],
    ),
}

# The options sshd(8) knows: those ussh enforces keep their line (ussh.keyopts
# applies them at login; the no-... ones refuse what ussh never offers), the
# others make it unusable.
FLAG_OPTIONS = ["agent-forwarding", "cert-authority", "no-agent-forwarding", "no-port-forwarding", "no-pty",
                "no-touch-required", "no-user-rc", "no-X11-forwarding", "port-forwarding", "pty", "restrict",
                "user-rc", "verify-required", "X11-forwarding"]
VALUE_OPTIONS = ["command", "environment", "expiry-time", "from", "permitlisten", "permitopen", "principals",
                 "tunnel"]
UNSUPPORTED = ["environment", "expiry-time", "permitlisten", "tunnel"]
for _name in FLAG_OPTIONS + VALUE_OPTIONS:
    _opt = _name + ('="x,y"' if _name in VALUE_OPTIONS else "")
    _o = (_name.lower(), "x,y" if _name in VALUE_OPTIONS else None)
    _cmd = ("command", 'a "b"')
    if _name in UNSUPPORTED:
        CASES["option_" + _name] = (
            ED2 + " before\n" + _opt + " " + ED1 + " c\n",
            [key(ED2, "before")],
            [skipped(2, "line 2:", "option '%s' not supported" % _name.lower(), "line skipped")],
        )
        CASES["option_" + _name + "_among_others"] = (
            'restrict,%s,command="a \\"b\\"" ' % _opt + ED1 + "\n",
            [],
            [skipped(1, "option '%s' not supported" % _name.lower())],
        )
    else:
        CASES["option_" + _name] = (
            ED2 + " before\n" + _opt + " " + ED1 + " c\n",
            [key(ED2, "before"), key(ED1, "c", options=[_o], number=2)],
            [],
        )
        CASES["option_" + _name + "_among_others"] = (
            'restrict,%s,command="a \\"b\\"" ' % _opt + ED1 + "\n",
            [key(ED1, options=[("restrict", None), _o, _cmd])],
            [],
        )

# Lines whose parsed options (name, value) are checked with parse_line.
OPTION_LINES = {
    "quoted_commas_and_quotes": (
        'command="echo \\"a, b\\" c",no-pty,from="10.0.0.*,!10.0.0.5" ' + ED1 + " x y",
        [["command", 'echo "a, b" c'], ["no-pty", None], ["from", "10.0.0.*,!10.0.0.5"]],
        "x y",
    ),
    "backslash_kept_unless_before_quote": (
        'command="a\\\\b \\n \\"" ' + ED1,
        [["command", 'a\\\\b \\n "']],
        "",
    ),
    "empty_value": ('environment="" ' + ED1 + " c", [["environment", ""]], "c"),
    "value_with_spaces_and_tabs": ('command="a  b\tc" ' + ED1, [["command", "a  b\tc"]], ""),
    "names_lowercased": ("NO-PTY,Restrict " + ED1, [["no-pty", None], ["restrict", None]], ""),
    "no_options": (ED1 + " c", [], "c"),
}

RUNNER = """
import json
from ussh.authkeys import parse, parse_line, BadLine

def entry(e):
    return [e.algorithm.decode(), e.blob.hex(), e.comment, [list(o) for o in e.options], e.line]

cases = %r
lines = %r
out = {}
for name in cases:
    logged = []
    got = parse(cases[name], logged.append)
    out[name] = [[entry(e) for e in got], logged]
    b = parse(cases[name].encode(), [].append)
    if [entry(e) for e in b] != out[name][0]:
        out[name].append("bytes input differs")
for name in lines:
    e = parse_line(lines[name], 7)
    out["line:" + name] = [e.options, e.comment, e.line]
print(json.dumps(out))
"""


@lru_cache(maxsize=None)
def results(runtime):
    # one run per runtime parses every case
    cases = {name: c[0] for name, c in CASES.items()}
    lines = {name: c[0] for name, c in OPTION_LINES.items()}
    return json.loads(run(runtime, RUNNER % (cases, lines)))


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_parse(case, runtime):
    text, entries, warnings = CASES[case]
    got = results(runtime)[case]
    assert got[0] == entries
    logged = got[1]
    assert len(logged) == len(warnings), logged
    for message, (number, words) in zip(logged, warnings):
        assert message.startswith("authorized_keys line %d: " % number), message
        assert message.endswith("; line skipped"), message
        for w in words:
            assert w in message, message
    assert got[2:] == []  # bytes input gives the same entries


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", sorted(OPTION_LINES))
def test_parse_line_options(case, runtime):
    text, options, comment = OPTION_LINES[case]
    assert results(runtime)["line:" + case] == [options, comment, 7]


@pytest.mark.parametrize("runtime", ("cpython", "unix"))
def test_load_file_find_and_invalid_utf8(runtime, tmp_path):
    f = tmp_path / "authorized_keys"
    f.write_bytes(ED1.encode() + b" caf\xc3\xa9\n\xff\xfe " + ED2.encode() + b"\n" + RSA.encode() + b"\n")
    blob1 = base64.b64decode(ED1_BLOB)
    blob2 = base64.b64decode(ED2.split()[1])
    code = (
        "from ussh.authkeys import load, find\n"
        "logged = []\n"
        "es = load(%r, logged.append)\n"
        "print([(e.line, e.comment.encode()) for e in es])\n"
        "print(logged)\n"
        "e = find(es, b'ssh-ed25519', %r)\n"
        "print(e.line, e is es[0])\n"
        "print(find(es, b'ssh-ed25519', %r), find(es, b'ssh-rsa', %r))\n"
        "print(find(es, b'ssh-rsa', %r).line)\n"
    ) % (str(f), blob1, blob2, blob1, base64.b64decode(RSA.split()[1]))
    out = run(runtime, code).splitlines()
    assert out[0] == repr([(1, "caf\u00e9".encode()), (3, b"")])
    assert out[1] == "['%s line 2: not UTF-8 text; line skipped']" % f
    assert out[2] == "1 True"
    assert out[3] == "None None"
    assert out[4] == "3"


def test_keys_from_ssh_keygen(tmp_path):
    # the .pub lines ssh-keygen writes parse to the blobs ssh-keygen reports
    lines = []
    for kind in ("ed25519", "rsa", "ecdsa"):
        k = tmp_path / kind
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "u@" + kind, "-f", str(k)], check=True)
        lines.append((tmp_path / (kind + ".pub")).read_text())
    out = run("unix", "from ussh.authkeys import parse\nfor e in parse(%r, print):\n"
                      "    print(e.algorithm.decode(), e.blob.hex(), e.comment)\n" % "".join(lines))
    expected = []
    for line in lines:
        kind, data, comment = line.split()
        expected.append(" ".join((kind, base64.b64decode(data).hex(), comment)))
    assert out.splitlines() == expected
