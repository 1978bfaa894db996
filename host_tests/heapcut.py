"""The heap cut up, for the budget tests on the MicroPython unix port (test_budget.py,
fragmented_sftp.py): filled with pieces of `piece` bytes (at most `most`), the gaps left between
them then with up to `fill` pieces of 32 bytes, then every other large piece freed. Room enough
is left, but no free run longer than a piece: what a board's heap looks like after many
sessions. Returns (what must stay held, the number of large pieces made)."""
import gc


def cut(piece, most, fill=0):
    hold = [None] * most
    small = [None] * fill
    n = 0
    try:
        while n < most:
            hold[n] = bytearray(piece)
            n += 1
    except MemoryError:
        pass
    k = 0
    try:
        while k < fill:
            small[k] = bytearray(32)
            k += 1
    except MemoryError:
        pass
    j = 0
    while j < n:  # (no range object: the heap is full here)
        hold[j] = None
        j += 2
    gc.collect()
    return (hold, small), n
