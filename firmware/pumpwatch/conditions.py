"""Which conditions the unit is in at a given time, and when that next changes.

Owns the list of conditions, their priorities, and the instants they start
(docs/alarms.md).  Therapy conditions come from the forecast of the current
settings; device faults are passed in by the unit.  Nothing is stored: after
any reboot the same settings and time give the same conditions.
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

# Priorities (sounds.py plays one pattern per priority).  Defined here so the
# boot's settings phase needs no sound data in RAM.
LOW = const(1)
MEDIUM = const(2)
HIGH = const(3)

REMINDER = "reminder"
LOW_RESERVOIR = "low_reservoir"
REFILL_OVERDUE = "refill_overdue"
EMPTY = "empty"
TIME_UNKNOWN = "time_unknown"
NO_SETTINGS = "no_settings"
SETTINGS_REJECTED = "settings_rejected"
SETTINGS_CORRUPT = "settings_corrupt"
STORAGE_CORRUPT = "storage_corrupt"
BATTERY_LOW = "battery_low"
SAFE_MODE = "safe_mode"

PRIORITY = {
    REMINDER: LOW, LOW_RESERVOIR: MEDIUM, REFILL_OVERDUE: MEDIUM, EMPTY: HIGH,
    TIME_UNKNOWN: MEDIUM, NO_SETTINGS: MEDIUM, SETTINGS_REJECTED: MEDIUM, SETTINGS_CORRUPT: MEDIUM,
    STORAGE_CORRUPT: MEDIUM, BATTERY_LOW: MEDIUM, SAFE_MODE: MEDIUM,
}
APPOINTMENT_REMINDER = REMINDER + ":appointment"  # the day before the booked refill


def reminder_id(days):
    return "%s:%d" % (REMINDER, days)


def kind_of(condition_id):
    return condition_id.split(":")[0]


class Plan:
    """What the unit keeps of a prescription (built by plan.py): sorted
    [(start, condition id)], the refill due time and the risk flag."""

    def __init__(self, starts, refill_at, refill_due_at, high_risk):
        self.starts = starts
        self.refill_at = refill_at
        self.refill_due_at = refill_due_at
        self.high_risk = high_risk
        self.confirmed = []  # checks the clinician overrode (settings.CONFIRMATIONS): logged
        self.schedule = Schedule(starts)  # which conditions are in force when


class Schedule:
    """The therapy conditions of a plan (plan.py): which are in force when."""

    def __init__(self, starts):
        self.starts = starts  # [(utc, condition id)] in time order

    def active(self, now):
        """[(condition id, since)] in force at `now`: the latest reminder that
        started (until a medium or high condition takes over) and every
        medium or high condition that has started."""
        found = []
        reminder = None
        for at, cid in self.starts:
            if at > now:
                break
            if kind_of(cid) == REMINDER:
                reminder = (cid, at)
            else:
                found.append((cid, at))
        if reminder is not None and not found:
            found.insert(0, reminder)
        return found

    def next_start(self, now):
        for at, _ in self.starts:
            if at > now:
                return at
        return None
