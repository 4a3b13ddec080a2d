"""PumpWatch firmware entry point: the same on every board.

Before anything else is imported: Ctrl-C on the port stops being an
interrupt and, on a board, the hardware watchdog runs.  It is one again
only after the unit left its loop for maintenance (mpremote's REPL).  Everything after
that is pumpwatch/entry.py (compiled to .mpy by deploy: this file stays
source on the board, so it is kept small).
"""

import micropython

micropython.kbd_intr(-1)
try:
    from machine import WDT  # type: ignore  # a board; the emulators model their watchdog outside
    early_watchdog = WDT(timeout=8000)
except ImportError:
    early_watchdog = None

from pumpwatch import entry  # noqa: E402

if entry.run(early_watchdog):
    micropython.kbd_intr(3)  # maintenance: nothing of PumpWatch runs now; the REPL is mpremote's
