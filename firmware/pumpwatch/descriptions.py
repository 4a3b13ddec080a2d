"""What each condition means, in words for patients, nurses and timelines.

Kept apart from conditions.py so the unit does not carry these strings in RAM;
the host tools (timelines, status) use them.
"""

from pumpwatch.sounds import PRIORITY_NAMES  # noqa: F401  (re-exported for the host)
from pumpwatch.conditions import (BATTERY_LOW, EMPTY, IMPLANT_END_OF_LIFE, LOW_RESERVOIR, NO_SETTINGS,
                                  REFILL_OVERDUE, REMINDER, SAFE_MODE, SETTINGS_CORRUPT, SETTINGS_REJECTED,
                                  SETTINGS_NEED_MOTOR, STORAGE_CORRUPT, SYNC_NEEDED, TIME_UNKNOWN)

DESCRIPTION = {
    REMINDER: "refill reminder", LOW_RESERVOIR: "low reservoir: refill now",
    REFILL_OVERDUE: "refill overdue (drug stability limit)", EMPTY: "RESERVOIR EMPTY: seek care",
    TIME_UNKNOWN: "clock lost: set the time", NO_SETTINGS: "no therapy settings",
    SETTINGS_REJECTED: "new settings file rejected", SETTINGS_CORRUPT: "stored settings damaged",
    STORAGE_CORRUPT: "stored alarm state damaged", BATTERY_LOW: "unit battery low",
    SAFE_MODE: "unit fault (safe mode)", SYNC_NEEDED: "refilled elsewhere: get the unit synced",
    IMPLANT_END_OF_LIFE: "implant battery: book its replacement",
    SETTINGS_NEED_MOTOR: "no vibration motor for a hearing-impaired patient: fit one",
}
