"""The unit's behaviour, one wake-up at a time.

Owns what the unit does when it wakes (boot, button, serial, deadlines) and
how long it sleeps next.  Hardware only through the HAL object it is given;
the HAL's `run(step)` calls `step` once per wake-up.

Serial, for now: a line `version` is answered with one JSON line
{"firmware": ..., "board": ...}.  (The framed sync protocol replaces this.)
"""

import json

from pumpwatch import VERSION
from pumpwatch.events import EVENT_SERIAL

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

BOOT_BEEP_HZ = const(2093)  # C7: short and clearly audible
BOOT_BEEP_MS = const(120)
WATCHDOG_MS = const(8000)
_MAX_LINE = const(128)


class Unit:
    def __init__(self, hal):
        self.hal = hal
        self.booted = False
        self.beep_off_at = None  # ticks_ms at which the boot beep ends
        self.line = bytearray()

    def step(self, events):
        """Handle one wake-up; return ms to sleep (None: until an event)."""
        hal = self.hal
        hal.watchdog_feed()
        now = hal.ticks_ms()
        if not self.booted:
            self.booted = True
            hal.watchdog_start(WATCHDOG_MS)
            hal.buzzer(BOOT_BEEP_HZ)
            self.beep_off_at = now + BOOT_BEEP_MS
        if self.beep_off_at is not None and hal.ticks_diff(now, self.beep_off_at) >= 0:
            hal.buzzer(0)
            self.beep_off_at = None
        if events & EVENT_SERIAL:
            self._serial()
        if self.beep_off_at is None:
            return None
        return hal.ticks_diff(self.beep_off_at, now)

    def _serial(self):
        for byte in self.hal.serial_read():
            if byte in (10, 13):
                if self.line:
                    self._command(bytes(self.line).decode("utf-8", "replace").strip())
                    self.line = bytearray()
            elif len(self.line) < _MAX_LINE:
                self.line.append(byte)

    def _command(self, text):
        if text == "version":
            answer = {"firmware": VERSION, "board": self.hal.board}
            self.hal.serial_write(json.dumps(answer) + "\r\n")
