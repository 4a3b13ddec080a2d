"""PumpWatch firmware core: therapy model, forecast, settings (MicroPython subset).

Nothing in this package touches hardware; the same files run on the unit,
under the emulator and imported by the host tools.
"""

VERSION = "0.1.0"


def unload(names):
    """Drop modules so their bytecode can be freed; they are imported again when
    needed.  RAM on a board is scarce and .mpy bytecode lives in it."""
    import gc
    import sys
    package = sys.modules["pumpwatch"]
    for name in names:
        if name in sys.modules:
            del sys.modules[name]
        short = name.split(".")[1]
        if short in package.__dict__:
            delattr(package, short)
    gc.collect()  # the next module's code then fills the holes these leave, not fresh heap
