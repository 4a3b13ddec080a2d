"""Turning stored settings into the unit's plan: the instants its conditions start.

Owns the one place the unit uses the big therapy modules (settings check,
forecast, schedule).  They are needed only when settings are loaded; after
`make_plan` the unit drops them (pumpwatch.unload), keeping only a `Plan` of
plain integers, so the modules' bytecode does not sit in RAM for months
(frozen builds keep code in flash; .py and .mpy do not).
"""

from pumpwatch.conditions import (EMPTY, HIGH_RISK_EXTRA_REMINDER_DAYS, LOW_RESERVOIR, REFILL_OVERDUE, Plan,
                                  reminder_id)

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

_DAY = const(86400)


def make_plan(doc, now=None):
    """(Plan or None, errors) for a settings document; `now` checks the refill time."""
    from pumpwatch import settings, unload

    prescription, errors, _ = settings.check(doc, now)
    del settings
    unload(("pumpwatch.settings",))  # the checks are done: free them before forecasting
    if prescription is None:
        return None, errors
    from pumpwatch.forecast import Forecast
    forecast = Forecast(prescription, prescription.refill_at)
    return Plan(condition_starts(prescription, forecast), prescription.refill_at,
                forecast.refill_due_at, prescription.high_withdrawal_risk), []


def condition_starts(p, forecast):
    """[(utc, condition id)] in time order: reminders (moved out of quiet hours,
    earlier ones added for a high withdrawal risk), low reservoir, overdue, empty."""
    starts = []
    days = list(p.reminder_days)
    if p.high_withdrawal_risk:
        for extra in HIGH_RISK_EXTRA_REMINDER_DAYS:
            if extra not in days:
                days.append(extra)
    clock = forecast.clock
    due_day = (forecast.refill_due_at + clock.offset_at(forecast.refill_due_at)) // _DAY
    for d in days:
        at = clock.to_utc((due_day - d) * _DAY + p.reminder_at_s)
        if p.quiet_hours is not None:
            at = _after_quiet_hours(at, p.quiet_hours, clock)
        if at > p.refill_at:
            starts.append((at, reminder_id(d)))
    starts.append((forecast.low_reservoir_at, LOW_RESERVOIR))
    starts.append((forecast.stability_limit_at, REFILL_OVERDUE))
    starts.append((forecast.empty_at, EMPTY))
    starts.sort()
    return starts


def _in_quiet(local_s, quiet):
    start, end = quiet
    x = local_s % _DAY
    if start < end:
        return start <= x < end
    return x >= start or x < end


def _after_quiet_hours(utc, quiet, clock):
    """A low-priority instant moved to the end of the quiet hours it falls in."""
    local = utc + clock.offset_at(utc)
    if not _in_quiet(local, quiet):
        return utc
    end_local = local - local % _DAY + quiet[1]
    if end_local <= local:
        end_local += _DAY
    return clock.to_utc(end_local)
