"""The patient's day window: when a forecast may sound (docs/alarms.md).

Owns the one rule both the unit (alarm_policy.py) and the host's forecast use
for "no needless nights": a condition that is still 24 h or more away from
"reservoir empty" (a reminder, low reservoir, overdue, the implant's end of
life) starts and sounds again only inside `alarms.day_start`..`day_end`
local (default 08:00-21:00).  From 24 h before "empty" everything sounds at
once, day or night.  The "get the unit synced" reminder after a refill
elsewhere always keeps to the window (the old forecast no longer holds).
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

_DAY = const(86400)
URGENT_BEFORE_EMPTY_S = const(86400)


def urgent_from(empty_at):
    """From when "empty" is less than 24 h away (None: the pump never runs dry)."""
    return None if empty_at is None else empty_at - URGENT_BEFORE_EMPTY_S


class DayWindow:
    """window: (start, end) seconds after local midnight, start < end;
    clock: a localclock.LocalClock; urgent: utc from which nothing waits (or None)."""

    def __init__(self, window, clock, urgent):
        self.start, self.end = window
        self.clock = clock
        self.urgent = urgent

    def inside(self, utc):
        x = (utc + self.clock.offset_at(utc)) % _DAY
        return self.start <= x < self.end

    def is_urgent(self, utc):
        return self.urgent is not None and utc >= self.urgent

    def opened_at(self, utc):
        """When the window `utc` is in opened (utc), or None outside it."""
        if not self.inside(utc):
            return None
        local = utc + self.clock.offset_at(utc)
        return self.clock.to_utc(local - local % _DAY + self.start)

    def next_opening(self, utc):
        """The first day start strictly after `utc`."""
        local = utc + self.clock.offset_at(utc)
        target = local - local % _DAY + self.start
        at = self.clock.to_utc(target)
        while at <= utc:  # the window of this day has opened already (or a clock change moved it)
            target += _DAY
            at = self.clock.to_utc(target)
        return at

    def waits(self, utc, always_daytime=False):
        """True when a day-window condition must stay quiet at `utc`."""
        if self.inside(utc):
            return False
        return always_daytime or not self.is_urgent(utc)

    def sounds_at(self, utc, always_daytime=False):
        """When a day-window condition due at `utc` sounds: `utc` itself inside the
        window or once urgent; else the next day start, or the instant it becomes
        urgent if that comes first."""
        if not self.waits(utc, always_daytime):
            return utc
        at = self.next_opening(utc)
        if not always_daytime and self.urgent is not None and self.urgent < at:
            return self.urgent
        return at


def for_plan(plan):
    """The day window of a conditions.Plan (None: no settings)."""
    if plan is None:
        return None
    from pumpwatch.localclock import LocalClock
    return DayWindow(plan.day_window, LocalClock(plan.utc_offset_s, plan.transitions), plan.urgent_from)
