# Password authentication, RFC 4252 §8 (an optional module, off by default:
# auth imports it only when Config.password_hash is set). The board keeps a
# salted PBKDF2-HMAC-SHA256 hash (RFC 8018 §5.2), never the password:
# "pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>".
#   python -m ussh.passwd          asks for a password and prints its hash
from ussh.crypto.hmac import HMACSHA256
from ussh.keys import b64decode, b64encode

ITERATIONS = 2000  # 7 ms on the unix port; a fraction of a second on an ESP32


def pbkdf2_sha256(password, salt, iterations):
    """PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a 32-byte result (one block)."""
    h = HMACSHA256(password)
    u = h.mac(salt, b"\x00\x00\x00\x01")
    t = int.from_bytes(u, "big")
    for _ in range(iterations - 1):
        u = h.mac(u)
        t ^= int.from_bytes(u, "big")
    return t.to_bytes(32, "big")


def make(password, iterations=ITERATIONS, salt=None):
    """The password_hash string for password (str or bytes)."""
    if isinstance(password, str):
        password = password.encode()
    if salt is None:
        from ussh.crypto.rand import random_bytes

        salt = random_bytes(16)
    dk = pbkdf2_sha256(password, salt, iterations)
    return "pbkdf2-sha256$%d$%s$%s" % (iterations, b64encode(salt).decode(), b64encode(dk).decode())


def check(password, stored):
    """Whether password matches the stored hash; the comparison reads every
    byte whatever differs (no early exit)."""
    try:
        kind, n, salt, want = stored.split("$")
        n = int(n)
        salt = b64decode(salt)
        want = b64decode(want)
    except ValueError:
        return False
    if kind != "pbkdf2-sha256" or not 0 < n <= 10000000 or len(want) != 32:
        return False
    got = pbkdf2_sha256(password, salt, n)
    diff = 0
    for i in range(32):
        diff |= got[i] ^ want[i]
    return diff == 0


def userauth(conn, user, r):
    """The rest of a "password" USERAUTH_REQUEST (RFC 4252 §8); True when
    the password is right. A password change request is refused."""
    change = r.boolean()
    password = r.string()
    if change:
        r.string()
    r.done()
    if not change and check(password, conn.cfg.password_hash):
        return True
    conn.log("auth refused for %s: %s" % (user, "password change not supported" if change else "wrong password"))
    return False


def _main():
    try:
        from getpass import getpass
    except ImportError:  # MicroPython: the password is echoed
        getpass = input
    p = getpass("password: ")
    if not p or p != getpass("again: "):
        raise SystemExit("ussh.passwd: the passwords differ or are empty")
    print(make(p))


if __name__ == "__main__":
    _main()
