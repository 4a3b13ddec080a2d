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
SETTINGS_NEED_MOTOR = "settings_need_motor"  # hearing impaired, but the unit booted without its motor
SYNC_NEEDED = "sync_needed"  # refilled somewhere else (elsewhere.py): once a day, "get the unit synced"
IMPLANT_END_OF_LIFE = "implant_eri"  # the implant's battery: its replacement indicator N days away

PRIORITY = {
    REMINDER: LOW, IMPLANT_END_OF_LIFE: LOW, LOW_RESERVOIR: MEDIUM, REFILL_OVERDUE: MEDIUM, EMPTY: HIGH,
    TIME_UNKNOWN: MEDIUM, NO_SETTINGS: MEDIUM, SETTINGS_REJECTED: MEDIUM, SETTINGS_CORRUPT: MEDIUM,
    STORAGE_CORRUPT: MEDIUM, BATTERY_LOW: MEDIUM, SAFE_MODE: MEDIUM, SYNC_NEEDED: MEDIUM,
    SETTINGS_NEED_MOTOR: MEDIUM,
}
# The unit's own conditions (IEC 60601-1-8 technical alarm conditions): their own sound,
# never escalated.  The others are about the drug in the pump.
TECHNICAL = (TIME_UNKNOWN, NO_SETTINGS, SETTINGS_REJECTED, SETTINGS_CORRUPT, STORAGE_CORRUPT, BATTERY_LOW,
             SAFE_MODE, SYNC_NEEDED, SETTINGS_NEED_MOTOR)
# Forecasts: while "empty" is still 24 h or more away they sound only in the patient's
# day window (daywindow.py); the refilled-elsewhere reminder always keeps to it.
DAYTIME = (REMINDER, IMPLANT_END_OF_LIFE, LOW_RESERVOIR, REFILL_OVERDUE, SYNC_NEEDED)
# What "refilled elsewhere" stands in for while it lasts (elsewhere.py).
REFILL_CONDITIONS = (REMINDER, LOW_RESERVOIR, REFILL_OVERDUE, EMPTY)
REFILL_ALARMS = (LOW_RESERVOIR, REFILL_OVERDUE, EMPTY)
DEFAULT_DAY_WINDOW = (8 * 3600, 21 * 3600)
APPOINTMENT_REMINDER = REMINDER + ":appointment"  # the day before the booked refill
IMPLANT_REMINDER_DAYS = (90, 30, 7)


def reminder_id(days):
    return "%s:%d" % (REMINDER, days)


def implant_reminder_id(days):
    return "%s:%d" % (IMPLANT_END_OF_LIFE, days)


def kind_of(condition_id):
    return condition_id.split(":")[0]


class Plan:
    """What the unit keeps of a prescription (built by plan.py): sorted
    [(start, condition id)], the refill due time and the risk flag; the day
    window (local seconds), the clock and when "empty" is less than 24 h
    away (daywindow.py), the implant's replacement date, hearing impairment."""

    def __init__(self, starts, refill_at, refill_due_at, high_risk):
        self.starts = starts
        self.refill_at = refill_at
        self.refill_due_at = refill_due_at
        self.high_risk = high_risk
        self.confirmed = []  # checks the clinician overrode (settings.CONFIRMATIONS): logged
        self.schedule = Schedule(starts)  # which conditions are in force when
        self.day_window = DEFAULT_DAY_WINDOW  # type: tuple  # (start s, end s) local
        self.utc_offset_s = 0
        self.transitions = []  # [(utc, offset s)]
        self.urgent_from = None  # type: int | None  # utc: "empty" is under 24 h away from here on
        self.implant_eri_at = None  # type: int | None  # utc: the implant's replacement indicator
        self.hearing_impaired = False
        self.clinical_due_at = None  # type: int | None  # utc: "refill due" as the patient was told (readout)


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
        implant = None  # the implant's reminders are their own: a refill alarm does not end them
        for at, cid in self.starts:
            if at > now:
                break
            kind = kind_of(cid)
            if kind == REMINDER:
                reminder = (cid, at)
            elif kind == IMPLANT_END_OF_LIFE:
                implant = (cid, at)
            else:
                found.append((cid, at))
        if reminder is not None and not found:
            found.insert(0, reminder)
        if implant is not None:
            found.append(implant)
        return found

    def next_start(self, now):
        for at, _ in self.starts:
            if at > now:
                return at
        return None
