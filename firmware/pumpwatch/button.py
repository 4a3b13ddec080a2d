"""The unit's one button: which gesture a press was, and what it asks for.

Owns the gestures (docs/alarms.md, README):
* short press (under 1.5 s): acknowledge what sounds;
* long press (1.5 to 10 s): the status readout in beeps, or, right after the
  pairing chirp, "yes, pair with the computer that asked";
* hold for 10 s or more: the first step of a factory reset.  The unit plays
  the reset chirp and waits 30 s for a second 10-second hold; any short
  press cancels it, so a patient pressing to silence an alarm never resets.
A press counts for pairing or a reset only if it began after the chirp that
asked for it ended: a press already under way, or the patient's habit,
cannot confirm what they did not hear.
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

BOUNCE_MS = const(30)
LONG_PRESS_MS = const(1500)
HOLD_MS = const(10000)
RESET_CONFIRM_WINDOW_MS = const(30000)

SHORT = "short"
LONG = "long"
HOLD = "hold"


def gesture(held_ms):
    """The gesture of a press held `held_ms`, or None for contact bounce."""
    if held_ms < BOUNCE_MS:
        return None
    if held_ms < LONG_PRESS_MS:
        return SHORT
    if held_ms < HOLD_MS:
        return LONG
    return HOLD


class Request:
    """Something only a press on the unit may confirm (pairing, a factory reset):
    valid for presses that begin after `asked_until` and end before `deadline`
    (ticks).  Expired requests confirm nothing.  The window is also measured on
    the unit's uptime, which never wraps: ticks alone come back to the same
    value every 2**30 ms and would reopen an abandoned request for its window."""

    def __init__(self, unit, chirp_ms, window_ms, what):
        self.unit = unit
        self.hal = hal = unit.hal
        now = hal.ticks_ms()
        self.asked_until = hal.ticks_add(now, chirp_ms)
        self.deadline = hal.ticks_add(now, window_ms)
        self.started = unit.uptime
        self.window_ms = window_ms
        self.what = what

    def open(self):
        return (self.unit.uptime - self.started < self.window_ms
                and self.hal.ticks_diff(self.deadline, self.hal.ticks_ms()) > 0)

    def confirmed_by(self, pressed_at):
        """A press that began at `pressed_at` (ticks) and ends now confirms it."""
        return self.open() and self.hal.ticks_diff(pressed_at, self.asked_until) >= 0

    def ms_left(self):
        return self.hal.ticks_diff(self.deadline, self.hal.ticks_ms())
