"""Choosing the HAL for the board the firmware finds itself on.

Owns board detection only: the emulator (its `emuhw` module is present),
otherwise `sys.platform` ("esp32", "rp2").  A file `board.txt` at the flash
root overrides detection (one word: emulator, esp32 or rp2).
"""

import sys


def _override():
    try:
        with open("/board.txt") as f:
            return f.read().strip()
    except OSError:
        return None


def detect():
    name = _override()
    if name:
        return name
    try:
        import emuhw  # noqa: F401  provided only by the emulator
        return "emulator"
    except ImportError:
        return sys.platform


def select():
    """An instance of the HAL for this board."""
    name = detect()
    if name == "emulator":
        from hal.emulator import EmulatorHAL
        return EmulatorHAL()
    raise OSError("PumpWatch has no HAL for board %r yet" % name)
