"""HAL for the emulated unit: its hardware is the emulator's `emuhw` module.

Owns the mapping from the HAL interface to the emulator (host_tools/pumpsync/
emulator): virtual time, buzzer (with its loud flag), LED and vibration
motor changes reported to the host (the motor only if the emulator fitted
one, and only when it changes), a button
and a serial port fed by host events, a flash that is a host directory, and a
watchdog the host enforces.  Sleeping is the emulator's: `run(step)` hands
`step` over and returns; the emulator calls it once per wake-up.
"""

import json

import emuhw
import micropython

from hal.base import HAL, TICKS_PERIOD
from pumpwatch.events import EVENT_BUTTON, EVENT_SERIAL, EVENT_TIMEOUT

# Ticks wrap like a board's (2**30 ms), and start 10 minutes before the wrap,
# so every emulated run crosses it early; a board's start at 0 is no safer.
TICKS_AT_BOOT = TICKS_PERIOD - 10 * 60 * 1000


class EmulatorHAL(HAL):
    board = "emulator"

    def __init__(self):
        self._now_ms = emuhw.now_ms()
        self._boot_ms = self._now_ms
        self._button = False
        self._button_changed = 0
        rtc = emuhw.rtc_offset_ms()
        self._rtc_offset_ms = rtc  # None: the clock was lost
        self._inject = None  # a fault the emulator asked to raise in the next step
        self._motor = 0 if emuhw.has_vibration() else None  # the motor's state 0|1; None: no motor

    # clock
    def wall_time(self):
        ms = self.wall_time_ms()
        return None if ms is None else ms // 1000

    def wall_time_ms(self):
        if self._rtc_offset_ms is None:
            return None
        return self._now_ms + self._rtc_offset_ms

    def set_wall_time(self, epoch):
        self._rtc_offset_ms = epoch * 1000 - self._now_ms
        emuhw.emit("rtc", offset_ms=str(self._rtc_offset_ms))

    def ticks_ms(self):
        return (self._now_ms - self._boot_ms + TICKS_AT_BOOT) % TICKS_PERIOD

    # sleeping
    def run(self, step):
        def wake(event_json):
            event = json.loads(event_json)
            self._now_ms = int(event["now"])
            kind = event["ev"]
            events = EVENT_TIMEOUT
            if kind == "button":
                self._button = bool(event["down"])
                self._button_changed = self.ticks_ms()
                events = EVENT_BUTTON
            elif kind == "serial":
                events = EVENT_SERIAL
            elif kind == "inject":  # raised inside the step, as a bug in the firmware would be
                self._inject = "fault injected by the emulator: " + event.get("what", "")
            timeout = step(events)
            if timeout is None:
                return ""
            return str(self._now_ms + timeout)

        emuhw.run(wake)

    # user interface
    def buzzer(self, freq_hz, loud=False):
        emuhw.emit("buzzer", freq=freq_hz, loud=1 if loud and freq_hz else 0)

    def has_vibration(self):
        return self._motor is not None

    def vibration(self, on):
        state = 1 if on else 0
        if self._motor is not None and state != self._motor:
            self._motor = state
            emuhw.emit("vibration", state=state)

    def led(self, on):
        emuhw.emit("led", state=1 if on else 0)

    def button_down(self):
        return self._button

    def button_changed_at(self):
        return self._button_changed

    # serial
    def serial_read(self, budget_ms=None):
        return emuhw.serial_read()  # a chunk the host already sent: no byte-by-byte cost

    def serial_write(self, data):
        emuhw.serial_write(data)

    def set_interrupt_char(self, char):
        micropython.kbd_intr(char)

    # storage, power, safety
    def watchdog_start(self, timeout_ms):
        emuhw.emit("wdt", timeout_ms=timeout_ms)

    def watchdog_feed(self):
        if self._inject:
            what, self._inject = self._inject, None
            raise RuntimeError(what)
        emuhw.watchdog_feed()

    def battery_mv(self):
        return emuhw.battery_mv()

    def random_bytes(self, count):
        return emuhw.random_bytes(count)

    def enter_maintenance(self, ms):
        """Leave the loop for the REPL (mpremote) for `ms`; then the watchdog
        brings the unit back to monitoring.  main.py turns Ctrl-C on after the loop."""
        emuhw.maintenance(ms)

    def reset(self):
        emuhw.reset()

    def reset_cause(self):
        return emuhw.reset_cause()
