# help() and micropython.mem_info() for code run over SSH, where the built-in
# ones print from C to the board's console only. Loaded at the first call. They
# print through the builtin print, which ussh routes to the client.
import gc
import sys

_TEXT = """Welcome to MicroPython, over ussh.

The REPL here behaves as on the board's USB console: Tab completes names,
blocks auto-indent (Backspace removes a level, an empty line ends a block),
Ctrl-C interrupts, Ctrl-D on an empty line ends the session, Ctrl-E is paste
mode. print() and input() of any module reach this terminal.

help(obj) lists an object's attributes, help('modules') the modules loaded."""


def help(obj=None):
    """MicroPython's help(): a text, the modules, or an object's attributes."""
    if obj is None:
        print(_TEXT)
    elif obj == "modules":
        print("\n".join(sorted(sys.modules)))
    else:
        print("object %r is of type %s" % (obj, type(obj).__name__))
        for n in dir(obj):
            if n[:2] != "__":
                try:
                    print("  %s -- %r" % (n, getattr(obj, n)))
                except Exception:  # noqa: BLE001 -- an attribute that raises: name it
                    print("  %s -- ?" % n)


def mem_info(verbose=False):
    """micropython.mem_info() as far as Python can see it: GC heap and stack."""
    import micropython

    gc.collect()
    used, free = gc.mem_alloc(), gc.mem_free()
    print("stack: %d" % micropython.stack_use())
    print("GC: total: %d, used: %d, free: %d" % (used + free, used, free))
    if verbose:
        print("(the block map is printed on the board's console only)")
