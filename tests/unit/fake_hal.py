"""A HAL on CPython for stepping the unit by hand: ticks that wrap like a
board's, a flash directory, a serial queue and a watchdog feed counter.

For rules that need hours or days of unbroken sound (which the emulators
would have to play step by step), or a fault injected at one exact call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))  # the firmware's hal package

from hal.base import HAL, TICKS_PERIOD  # noqa: E402
from pumpwatch.events import EVENT_BUTTON, EVENT_SERIAL, EVENT_TIMEOUT  # noqa: E402


class FakeHAL(HAL):
    board = "fake"

    def __init__(self, root, wall_s: int | None = 1_795_000_000, ticks: int = TICKS_PERIOD - 5000,
                 vibration: bool = False):
        self.root = str(root).rstrip("/") + "/"
        os.makedirs(self.root, exist_ok=True)
        self.ticks = ticks
        self.wall_ms = None if wall_s is None else wall_s * 1000
        self.buzz = []  # (ticks, Hz)
        self.loud = []  # (ticks, Hz, loud)
        self.motor_fitted = vibration
        self.motor = []  # (ticks, on)
        self.leds = []
        self.down = False
        self.changed = 0
        self.inbox = b""
        self.sent = bytearray()
        self.feeds = 0
        self.resets = 0
        self.interrupt_char = 3
        self.battery = 3900

    # time
    def advance(self, ms: int):
        self.ticks = (self.ticks + ms) % TICKS_PERIOD
        if self.wall_ms is not None:
            self.wall_ms += ms

    def wall_time(self):
        return None if self.wall_ms is None else self.wall_ms // 1000

    def wall_time_ms(self):
        return self.wall_ms

    def set_wall_time(self, epoch):
        self.wall_ms = epoch * 1000

    def ticks_ms(self):
        return self.ticks

    # interface
    def buzzer(self, hz, loud=False):
        self.buzz.append((self.ticks, hz))
        self.loud.append((self.ticks, hz, loud))

    def has_vibration(self):
        return self.motor_fitted

    def vibration(self, on):
        self.motor.append((self.ticks, on))

    def led(self, on):
        self.leds.append((self.ticks, on))

    def button_down(self):
        return self.down

    def button_changed_at(self):
        return self.changed

    def press(self, unit, ms: int):
        self.down, self.changed = True, self.ticks
        unit.step(EVENT_BUTTON)
        self.advance(ms)
        self.down, self.changed = False, self.ticks
        return unit.step(EVENT_BUTTON)

    # serial
    def send(self, unit, data: bytes):
        self.inbox += data
        return unit.step(EVENT_SERIAL)

    def serial_read(self, budget_ms=None):
        data, self.inbox = self.inbox[:4096], self.inbox[4096:]
        return data

    def serial_write(self, data):
        self.sent += data

    def set_interrupt_char(self, char):
        self.interrupt_char = char

    # the rest
    def flash_root(self):
        return self.root

    def watchdog_start(self, ms):
        self.feeds += 1

    def watchdog_feed(self):
        self.feeds += 1

    def battery_mv(self):
        return self.battery

    def random_bytes(self, count):
        return os.urandom(count)

    def reset(self):
        self.resets += 1

    def enter_maintenance(self, ms):
        pass


def quiet_step(unit):
    return unit.step(EVENT_TIMEOUT)
