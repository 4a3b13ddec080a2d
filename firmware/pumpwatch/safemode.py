"""Safe mode: what runs when the unit keeps crashing.  Never silent.

Owns the smallest possible loop: sound the technical alarm (the unit needs attention), flash the LED,
let a short press pause it for 15 minutes, feed the watchdog.  It imports
nothing but the sound patterns, so a broken settings file or a bug in the
monitor cannot take it down too.  Ctrl-C stays disabled (main.py turned it
off before any import) and is never turned back on here.  Leave it by
power-cycling the unit (or a deploy / sync by the clinic).
"""

from pumpwatch import sounds
from pumpwatch.events import EVENT_BUTTON

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

PAUSE_MS = const(15 * 60 * 1000)
WATCHDOG_MS = const(8000)


class SafeMode:
    def __init__(self, hal):
        self.hal = hal
        self.started = None
        self.paused_until = None
        self.pressed_at = None

    def step(self, events):
        hal = self.hal
        hal.watchdog_feed()
        now = hal.ticks_ms()
        if self.started is None:
            self.started = now
            hal.watchdog_start(WATCHDOG_MS)
            hal.set_interrupt_char(-1)
            try:
                from pumpwatch import records
                records.EventLog(hal.flash_root() + "data").append({"e": "fault", "c": "safe_mode", "t": None})
            except Exception:  # noqa: BLE001 - safe mode must keep sounding whatever fails
                pass
        if events & EVENT_BUTTON:
            if hal.button_down():
                self.pressed_at = hal.button_changed_at()
            elif self.pressed_at is not None:
                if hal.ticks_diff(hal.button_changed_at(), self.pressed_at) >= 30:
                    self.paused_until = hal.ticks_add(now, PAUSE_MS)
                self.pressed_at = None
        if self.paused_until is not None:
            left = hal.ticks_diff(self.paused_until, now)
            if left > 0:
                hal.buzzer(0)
                hal.led(False)
                return left
            self.paused_until = None
            self.started = now
        elapsed = hal.ticks_diff(now, self.started)
        repeat = sounds.TECHNICAL_ALARM.repeat_ms
        if elapsed > 1000 * repeat:  # keep the difference far from the tick wrap (2**29 ms)
            self.started = hal.ticks_add(self.started, elapsed - elapsed % repeat)
            elapsed %= repeat
        freq, led, change = sounds.play(sounds.TECHNICAL_ALARM, elapsed)
        hal.buzzer(freq)
        hal.led(led)
        return change
