"""The unit's status for `pumpsync status`: loaded on request, then dropped.

Owns the status reply: clock, conditions, what sounds, battery, the motor,
a refill-elsewhere period the patient started, and the
unit's own forecast of its stored settings, with exactly the keys of
`pumpsync forecast --json` (the same core code computes both).
"""

import json

from pumpwatch import readback
from pumpwatch.sounds import PRIORITY_NAMES


def of(unit, unit_id, with_forecast=True):
    now = unit.now_s()
    result = {"unit_id": unit_id, "time": now, "clock_known": now is not None,
              "active": [cid for cid, _ in unit.active(now)],
              "sounding": [[cid, PRIORITY_NAMES[p]] for cid, p in unit.sounding],
              "battery_mv": unit.hal.battery_mv(), "forecast": None, "refill_due_at": None,
              "vibration": unit.motor, "refilled_elsewhere_until": None}
    if unit.elsewhere is not None and now is not None and now < unit.elsewhere[1]:
        result["refilled_elsewhere_until"] = unit.elsewhere[1]
    if unit.plan is not None:
        result["refill_due_at"] = unit.plan.refill_due_at
        if now is not None and with_forecast:
            try:
                result["forecast"] = _forecast(unit, now)
            except MemoryError:  # the rest of the status still matters more
                result["forecast_error"] = "out of memory"
    return result


def _forecast(unit, now):
    from pumpwatch import settings, unload
    from pumpwatch.bootsettings import PLAN_MODULES

    try:
        stored = readback.read_record(unit.settings_path)
        if stored is None:
            return None
        prescription, _, warnings = settings.check(json.loads(stored["text"]), None)
        del settings, stored
        unload(("pumpwatch.settings", "pumpwatch.checker"))  # the checks are done: free them before forecasting
        if prescription is None:
            return None
        from pumpwatch.forecast import Forecast
        return Forecast(prescription, now).as_dict(warnings)
    finally:
        unload(PLAN_MODULES + ("pumpwatch.bootsettings", "pumpwatch.readback", "pumpwatch.status"))
