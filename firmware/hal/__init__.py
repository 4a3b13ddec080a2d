"""Choosing the HAL for the board the firmware finds itself on.

Owns board detection only: the emulator (its `emuhw` module is present),
otherwise the MicroPython port (`sys.platform`: "esp32", "rp2"; also told by
`sys.implementation._build` and `os.uname()`).  A file `board.txt` at the
flash root overrides detection (one word: emulator, esp32 or rp2).  The
board's pins come from `/board.json` (boards/*.json, written by deploy).
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
        import emuhw  # type: ignore  # noqa: F401  provided only by the emulator
        return "emulator"
    except ImportError:
        return sys.platform


def select(watchdog=None):
    """An instance of the HAL for this board; `watchdog` is the machine.WDT
    main.py started before anything else (None on the emulators)."""
    name = detect()
    if name == "emulator":
        from hal.emulator import EmulatorHAL
        return EmulatorHAL()
    from hal.machine_hal import load_config
    config = load_config()
    if name == "esp32":
        from hal.esp32 import Esp32HAL
        return Esp32HAL(config, watchdog)
    if name == "rp2":
        from hal.rp2 import Rp2HAL
        return Rp2HAL(config, watchdog)
    raise OSError("PumpWatch has no HAL for the %r port" % name)


def reset_now():
    """Reset the chip when no HAL could be made (memory ran out while starting):
    on a board machine.reset(), on the emulators their reset.  If even that
    fails, the watchdog main.py started resets the board."""
    try:
        import emuhw  # type: ignore  # noqa: F401  provided only by the emulators
        emuhw.reset()
    except ImportError:
        import machine  # type: ignore
        machine.reset()
