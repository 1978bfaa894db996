"""The module-level import graph of lib/ussh has no cycle: each module can be read (and loaded)
after the ones it imports. Only imports that run when a module loads count (those inside a def
or class run later, when called). Fast tier; `python host_tests/test_imports.py` prints the graph."""
import os
import sys

LIB = __file__.rsplit("/", 2)[0] + "/lib" if "/" in __file__ else "../lib"


def modules():
    """{module name: path} under lib/ussh."""
    out = {}
    for sub in ("", "/crypto"):
        d = LIB + "/ussh" + sub
        for f in os.listdir(d):
            if f.endswith(".py"):
                name = "ussh" + sub.replace("/", ".") + ("" if f == "__init__.py" else "." + f[:-3])
                out[name] = d + "/" + f
    return out


def _targets(line, pkg, known):
    # the ussh modules one import statement loads
    words = line.replace(",", " , ").split()
    out = []
    if words[0] == "import":
        names = [w for w in words[1:] if w != ","]
        for i, w in enumerate(names):
            if w == "as":
                break
            out.append(w)
    else:  # from X import a, b
        base = words[1]
        if base.startswith("."):
            base = pkg + ("." + base[1:] if len(base) > 1 else "")
        out.append(base)
        for w in words[3:]:
            if w in (",", "(", ")") or w == "as":
                continue
            if base + "." + w.strip("()") in known:
                out.append(base + "." + w.strip("()"))
    return [m for m in out if m in known]


def statements(path):
    """The lines of a module that run when it loads: not in a def or class body, nor in a
    docstring (what an import or a table assignment there does happens at import)."""
    out = []
    def_indent = None
    in_doc = False
    with open(path) as f:
        for line in f:
            s = line.strip()
            if in_doc or s.startswith('"""'):
                if s.count('"""') % 2:
                    in_doc = not in_doc
                continue
            if not s or s.startswith("#"):
                continue
            ind = len(line) - len(line.lstrip())
            if def_indent is not None:
                if ind > def_indent:
                    continue
                def_indent = None
            if s.startswith(("def ", "class ", "async def ", "@")):
                def_indent = ind
                continue
            out.append(s.split("#")[0].strip() if "#" in s and not s.startswith(("'", '"')) else s)
    return out


def graph():
    """{module: sorted ussh modules it imports at module level}."""
    known = modules()
    g = {}
    for name, path in known.items():
        pkg = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
        deps = set()
        for s in statements(path):
            if s.startswith("import ") or (s.startswith("from ") and " import " in s):
                deps.update(_targets(s, pkg, known))
        deps.discard(name)
        g[name] = sorted(deps)
    return g


def cycle(g):
    """A list of modules forming a cycle, or None."""
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in g.get(n, ()):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def test_module_level_imports_have_no_cycle():
    g = graph()
    assert "ussh.connection" in g and "ussh.wire" in g["ussh.transport"]
    c = cycle(g)
    assert c is None, "import cycle: " + " -> ".join(c)


def test_cycle_finder_finds_one():
    assert cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert cycle({"a": ["b"], "b": []}) is None


def test_no_module_puts_rows_into_another_module_at_import():
    # the old ways of plugging in (kex.KEX_METHODS.insert(...), keytypes.VERIFIERS[...] = ...):
    # a module-level statement that changes another module's table
    short = [m.rsplit(".", 1)[-1] for m in modules()] + ["ussh"]
    for name, path in modules().items():
        for s in statements(path):
            head = s.split("=")[0] if "=" in s and "==" not in s.split("=")[0] + "=" else s
            target = head.split("(")[0].split("[")[0]
            if "." in target and target.split(".")[0] in short and not s.startswith(("from ", "import ", "if ", "elif ", "return", "raise")):
                assert not ("[" in head or ".insert" in s or ".append" in s or ".update" in s), (name, s)


if __name__ == "__main__":
    g = graph()
    for n in sorted(g):
        print("%s -> %s" % (n, ", ".join(g[n]) or "-"))
    print("cycle:", cycle(g))
    sys.exit(1 if cycle(g) else 0)
