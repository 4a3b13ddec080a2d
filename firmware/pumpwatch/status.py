"""The unit's status for `pumpsync status`: loaded on request, then dropped.

Owns the status reply: clock, conditions, what sounds, battery, the motor,
a refill-elsewhere period the patient started, and the
unit's own forecast of its stored settings, with exactly the keys of
`pumpsync forecast --json` (the same core code computes both).
"""

import json

from pumpwatch import readback
from pumpwatch.sounds import PRIORITY_NAMES

# The unit's own forecast checks the settings again (tens of KB).  Started on a heap
# that cannot hold it, it fails half-way and leaves the heap in pieces: the sync's next
# request (the new settings) then found no 1.2 KB stretch on a 128 KB board.  Below
# this much free it is not tried; pumpsync computes it from the settings instead.
FORECAST_NEEDS_BYTES = 40 * 1024


def of(unit, unit_id, with_forecast=True):
    now = unit.now_s()
    result = {"unit_id": unit_id, "time": now, "clock_known": now is not None,
              "active": [cid for cid, _ in unit.active(now)],
              "sounding": [[cid, PRIORITY_NAMES[p]] for cid, p in unit.sounding],
              "battery_mv": unit.hal.battery_mv(), "forecast": None, "refill_due_at": None,
              "vibration": unit.motor, "refilled_elsewhere_until": None, "mem_free": _mem_free()}
    if unit.elsewhere is not None and now is not None and now < unit.elsewhere[1]:
        result["refilled_elsewhere_until"] = unit.elsewhere[1]
    if unit.plan is not None:
        result["refill_due_at"] = unit.plan.refill_due_at
        if now is not None and with_forecast:
            if _free_bytes() < FORECAST_NEEDS_BYTES:
                result["forecast_error"] = "out of memory"  # pumpsync computes it from the unit's settings
                return result
            try:
                result["forecast"] = _forecast(unit, now)
            except MemoryError:  # the rest of the status still matters more
                result["forecast_error"] = "out of memory"
    return result


def _mem_free():
    """Free heap in bytes after a collection (read only; None where gc has no mem_free: CPython)."""
    import gc
    free = getattr(gc, "mem_free", None)
    if free is None:
        return None
    gc.collect()
    return free()


def _free_bytes():
    import gc
    gc.collect()
    free = getattr(gc, "mem_free", None)  # MicroPython's; CPython (the host's tests) has room
    return FORECAST_NEEDS_BYTES if free is None else free()


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
