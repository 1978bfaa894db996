# Tab completion for the REPL, loaded at the first Tab. It behaves as
# MicroPython's own REPL does (py/repl.c): the dotted name before the cursor
# is completed from the session's globals and the builtins, or from the
# attributes of the object the dots lead to. One match is completed; several
# are completed to their common prefix, or listed when that adds nothing.
# Names starting with "_" are offered only once "_" is typed. With nothing
# but spaces before the cursor, Tab indents by 4. A first word that matches
# nothing completes to "import ".
import builtins

from ussh.compat import const

_SLOT = const(16)  # a listed name starts on a multiple of this column
_WIDTH = const(64)  # listed rows are at most this wide


def _ident(c):
    return c.isalpha() or c.isdigit() or c == "_" or c == "."


def _lookup(path, g):
    # the object a dotted path names, or raises (AttributeError, KeyError)
    o = g[path[0]] if path[0] in g else getattr(builtins, path[0])
    for n in path[1:]:
        o = getattr(o, n)
    return o


def complete(line, g):
    """(text to insert at the cursor, rows of names to list) for the text
    before the cursor, with g the session's globals."""
    if not line.strip(" "):
        return "    ", ()
    i = len(line)
    while i and _ident(line[i - 1]):
        i -= 1
    path = line[i:].split(".")
    prefix = path.pop()
    try:
        names = dir(_lookup(path, g)) if path else list(g) + dir(builtins)
    except Exception:  # noqa: BLE001 -- an unknown name or a failing attribute: nothing to offer
        return "", ()
    found = sorted({n for n in names if n.startswith(prefix) and (n[:1] != "_" or prefix[:1] == "_")})
    if not found:
        if not path and not line[:i].strip(" ") and "import".startswith(prefix):
            return "import "[len(prefix) :], ()
        return "", ()
    first, last = found[0], found[-1]
    n = len(prefix)
    while n < len(first) and n < len(last) and first[n] == last[n]:
        n += 1
    if len(found) == 1 or n > len(prefix):
        return first[len(prefix) : n], ()
    rows, row = [], ""
    for name in found:
        gap = -len(row) % _SLOT if row else 0
        if row and gap < 2:
            gap += _SLOT
        if row and len(row) + gap + len(name) > _WIDTH:
            rows.append(row)
            row, gap = "", 0
        row += " " * gap + name
    rows.append(row)
    return "", rows
