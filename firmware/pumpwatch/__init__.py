"""PumpWatch firmware core: therapy model, forecast, settings (MicroPython subset).

Nothing in this package touches hardware; the same files run on the unit,
under the emulator and imported by the host tools.
"""

VERSION = "0.1.0"

# A block of RAM taken at power-on while the heap is one piece (main.py) and
# given back just before the boot's settings check: MicroPython's heap never
# moves, and without it the checker's modules met a heap in pieces, with
# plenty free but no stretch long enough (docs/architecture.md).  Held again
# in steady state it starved 16 KB frames on a 128 KB heap, so it is not.
reserve = None
RESERVE_BYTES = 24 * 1024


def release_reserve():
    global reserve
    reserve = None


def take_reserve(size=RESERVE_BYTES):
    """Hold the reserve again if a long enough stretch is free (else go without)."""
    global reserve
    if reserve is None:
        try:
            reserve = bytearray(size)
        except MemoryError:
            reserve = None


def unload(names):
    """Drop modules so their bytecode can be freed; they are imported again when
    needed.  RAM on a board is scarce and .mpy bytecode lives in it."""
    import sys
    package = sys.modules["pumpwatch"]
    for name in names:
        if name in sys.modules:
            del sys.modules[name]
        short = name.split(".")[1]
        if short in package.__dict__:
            delattr(package, short)
