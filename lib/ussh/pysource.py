# Whether typed Python source is whole or goes on, for the pty shells (ussh.repl,
# ussh.lineshell): MicroPython's REPL rules (py/repl.c) on both runtimes. A block
# that leaves a bracket or a triple-quoted string open, or ends in "\", goes on
# even at an empty line; a compound statement (its first word a compound
# keyword, a decorator, or a line whose last code is ":") goes on to an empty
# line (one of only spaces, as ussh.repl's auto-indent leaves, goes on).
_KW = ("if", "while", "for", "try", "with", "def", "class", "async")


def more(src, line):
    """True when src (the block typed so far, its last line `line`, without
    its newline) is not yet whole."""
    n = 0  # brackets open
    q = ""  # the quote of the string the scan is in (one or three characters)
    hide = colon = False  # in a comment; a line's last code was ":"
    last = ""  # the line's last character of code
    i = 0
    end = len(src)
    while i < end:
        c = src[i]
        if c == "\n":
            colon |= last == ":"
            hide = False
            last = ""
            if len(q) == 1:  # a one-quote string ends with its line
                q = ""
        elif hide:
            pass
        elif q:
            if c == "\\":
                i += 1
            elif src.startswith(q, i):
                i += len(q) - 1
                q = ""
        elif c == "#":
            hide = True
        elif c > " ":
            last = c
            if c in "'\"":
                q = c * 3 if src.startswith(c * 3, i) else c
                i += len(q) - 1
            else:
                n += (c in "([{") - (c in ")]}")
        i += 1
    if n > 0 or len(q) == 3 or src.rstrip().endswith("\\"):
        return True
    j = 0
    while j < end and (src[j].isalpha() or src[j].isdigit() or src[j] == "_"):
        j += 1
    block = colon or last == ":" or src[:1] == "@" or src[:j] in _KW
    return block and line != ""  # a line of spaces goes on: ussh.repl indents empty lines


def dec(b):
    """Typed bytes as text; invalid UTF-8 as "?"."""
    try:
        return str(b, "utf-8")
    except UnicodeError:
        return str(bytes([x if x < 128 else 63 for x in b]), "utf-8")
