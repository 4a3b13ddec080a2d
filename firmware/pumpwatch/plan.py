"""Turning stored settings into the unit's plan: the instants its conditions start.

Owns the one place the unit uses the big therapy modules (settings check,
forecast, schedule).  They are needed only when settings are loaded; after
`make_plan` the unit drops them (pumpwatch.unload), keeping only a `Plan` of
plain integers, so the modules' bytecode does not sit in RAM for months
(frozen builds keep code in flash; .py and .mpy do not).
"""

from pumpwatch.conditions import (APPOINTMENT_REMINDER, EMPTY, LOW_RESERVOIR, REFILL_OVERDUE, Plan,
                                  implant_reminder_id, reminder_id)


def make_plan(doc, now=None, consume=False):
    """(Plan or None, errors) for a settings document; `now` checks the refill time.
    consume: the document is this call's to take apart (the unit's, parsed for it)."""
    from pumpwatch import unload

    # settings.check in its three parts, each module dropped before the next is loaded
    # and the therapy section freed once converted: on a 128 KB heap a weekly program
    # does not fit otherwise (the parsed document alone is ~15 KB)
    from pumpwatch import settings
    checker, prescription = settings.begin(doc, now)
    del settings
    unload(("pumpwatch.settings",))
    if prescription is not None:
        from pumpwatch import settings_therapy
        settings_therapy.check(checker, prescription, doc.get("therapy"))
        del settings_therapy
        unload(("pumpwatch.settings_therapy",))
        if consume:
            doc["therapy"] = None
        from pumpwatch import settings
        prescription, errors, _ = settings.finish(checker, prescription, doc)
        del settings
    else:
        errors = checker.errors
    del doc, checker
    unload(("pumpwatch.settings", "pumpwatch.checker"))  # the checks are done: free them before forecasting
    if prescription is None:
        return None, errors
    from pumpwatch.clinical import programmer_errors
    from pumpwatch.forecast import Forecast
    forecast = Forecast(prescription, prescription.refill_at)
    errors = programmer_errors(forecast)
    if errors:
        return None, errors
    plan = Plan(condition_starts(prescription, forecast), prescription.refill_at,
                forecast.refill_due_at, prescription.high_withdrawal_risk)
    plan.confirmed = list(prescription.confirmed)  # checks the clinician overrode: logged with the settings
    plan.day_window = prescription.day_window
    plan.utc_offset_s = prescription.utc_offset_s
    plan.transitions = list(prescription.transitions)
    plan.urgent_from = forecast.urgent_from
    plan.clinical_due_at = forecast.clinical_due_at
    plan.implant_eri_at = forecast.implant_eri_at
    plan.hearing_impaired = prescription.hearing_impaired
    return plan, []


def condition_starts(p, forecast):
    """[(utc, condition id)] in time order: the reminders (clinical.py decides them,
    for the host's forecast too), the appointment reminder, low reservoir (at the
    higher warning volume when one is set), overdue, empty, and the implant's
    end-of-life reminders.  An instant a forecast never reaches (a pump stopped for
    good) starts nothing."""
    starts = [(at, reminder_id(d)) for at, d in forecast.reminders]
    starts.extend((at, implant_reminder_id(d)) for at, d in forecast.implant_reminders)
    if forecast.appointment_reminder_at is not None:
        starts.append((forecast.appointment_reminder_at, APPOINTMENT_REMINDER))
    low = forecast.low_reservoir_at
    if forecast.warning_at is not None and (low is None or forecast.warning_at < low):
        low = forecast.warning_at
    for at, cid in ((low, LOW_RESERVOIR), (forecast.stability_limit_at, REFILL_OVERDUE), (forecast.empty_at, EMPTY)):
        if at is not None:
            starts.append((at, cid))
    starts.sort()
    return starts
