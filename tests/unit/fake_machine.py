"""A stand-in `machine` (pins, PWM channels, a clock the test moves) for hal/machine_hal.py on CPython.

The board HAL runs on real silicon only; here the fake records what the HAL does to its pins and
PWM channels, and a pin's interrupt handler can be called as the chip would call it."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
BASE = {"name": "test-board", "buzzer_pin": 15, "button_pin": 14, "led_pin": 25}


class Pin:
    OUT, IN, PULL_UP, PULL_DOWN, IRQ_FALLING, IRQ_RISING = 1, 0, 1, 2, 4, 8

    def __init__(self, pin, mode=-1, pull=-1, *, value=None):
        self.pin = pin
        self.level = value
        self.levels = [] if value is None else [value]  # every level it was given, construction first
        board.pins[pin] = self

    def value(self, level=None):
        if level is None:
            return 1 if self.level is None else self.level
        self.level = level
        self.levels.append(level)

    def irq(self, handler, trigger):
        self.handler = handler

    def drive(self, level):
        """The outside world sets the pin's level: the chip calls its interrupt handler."""
        self.level = level
        self.handler(self)


class PWM:
    def __init__(self, pin, *, freq, duty_u16):
        self.pin = pin
        self.freq_hz = freq
        self.duties = [duty_u16]  # construction first
        board.pwms[pin.pin] = self

    def freq(self, hz):
        self.freq_hz = hz

    def duty_u16(self, duty):
        self.duties.append(duty)


class Board:
    def __init__(self):
        self.pins: dict = {}
        self.pwms: dict = {}


board = Board()


@pytest.fixture
def machine_hal(monkeypatch):
    """hal.machine_hal imported against the fake machine, micropython and time."""
    board.pins.clear()
    board.pwms.clear()
    machine = types.ModuleType("machine")
    machine.Pin, machine.PWM = Pin, PWM
    machine.PWRON_RESET, machine.WDT_RESET = 1, 3
    machine.RTC = lambda: None
    machine.ADC = lambda pin: None
    machine.reset = lambda: board.__setattr__("reset", True)
    machine.Timer = type("Timer", (), {"PERIODIC": 1, "__init__": lambda self, id: None,
                                       "init": lambda self, **kw: None})
    micropython = types.ModuleType("micropython")
    micropython.const = lambda value: value
    micropython.kbd_intr = lambda char: None
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "micropython", micropython)
    monkeypatch.syspath_prepend(str(FIRMWARE))
    monkeypatch.delitem(sys.modules, "hal.machine_hal", raising=False)
    import hal.machine_hal as module

    # MicroPython's ticks: they wrap at 2**30 ms, ticks_diff is signed in [-2**29, 2**29)
    clock = types.SimpleNamespace(now=0, ticks_diff=lambda a, b: ((a - b + 2**29) & (2**30 - 1)) - 2**29,
                                  ticks_add=lambda a, b: (a + b) & (2**30 - 1), gmtime=module.time.gmtime)
    clock.ticks_ms = lambda: clock.now & (2**30 - 1)

    def sleep_ms(ms):  # time passes while the HAL sleeps (nothing arrives on the port)
        clock.now += ms
        return []

    clock.sleep_ms = sleep_ms
    poller = types.SimpleNamespace(register=lambda stream, mask: None, poll=lambda ms=0: sleep_ms(ms))
    monkeypatch.setattr(module, "time", clock)
    monkeypatch.setattr(module, "select", types.SimpleNamespace(poll=lambda: poller, POLLIN=1))
    return module
