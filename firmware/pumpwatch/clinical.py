"""What the clinic does with a forecast: the clinical due date, the reminder
instants, and the cross-check against the clinician programmer's printout.

Owns, for host and unit alike (one function decides what both show):
- the clinical due date: the pump's low-reservoir date (or the patient's
  higher warning volume, pump.warning_ml, if that comes first) less the
  clinic's margin (refill.clinic_margin_days, default 3: clinics refill 3-5
  days before the pump's alarm), or the drug's stability limit if earlier;
- the reminders the unit sounds: counted back from the clinical due date at
  reminders.at_local, earlier ones added for a high withdrawal risk, moved
  out of the quiet hours, none within a day of the refill visit and none
  once an alarm has started; and the
  day-before reminder of the booked appointment; every one of them inside
  the patient's day window (daywindow.py);
- the implant's end-of-life reminders: 90, 30 and 7 days before its
  elective replacement indicator (pump.eri_at, or estimated from
  pump.implanted_at), at reminders.at_local, in the day window;
- the programmer cross-check: PumpWatch's nominal figures must agree with
  what the programmer printed (12 h, 1 %), which catches a unit-of-measure
  mistake of any size.
"""

from pumpwatch import timecalc
from pumpwatch.conditions import IMPLANT_REMINDER_DAYS
from pumpwatch.prescription import CONFIRM_PROGRAMMER_MISMATCH

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

_DAY = const(86400)
HIGH_RISK_EXTRA_REMINDER_DAYS = (21, 28)
ALARM_DATE_TOLERANCE_S = const(12 * 3600)
DOSE_TOLERANCE_CENTIPCT = const(100)  # 1 %


def clinical_due(forecast):
    p = forecast.prescription
    due = forecast.stability_limit_at
    alarm = forecast.low_reservoir_at
    if forecast.warning_at is not None and (alarm is None or forecast.warning_at < alarm):
        alarm = forecast.warning_at  # a high-risk patient's warning volume sounds first: refill before it
    if alarm is not None:
        before_alarm = alarm - p.clinic_margin_days * _DAY
        if before_alarm < due:
            due = before_alarm
    return due if due > p.refill_at else p.refill_at


def reminder_instants(forecast):
    """[(utc, days before the clinical due date)] in time order, after the refill:
    exactly when the unit sounds each reminder."""
    p = forecast.prescription
    clock = forecast.clock
    days = list(p.reminder_days)
    if p.high_withdrawal_risk:
        for extra in HIGH_RISK_EXTRA_REMINDER_DAYS:
            if extra not in days:
                days.append(extra)
    due = forecast.clinical_due_at
    due_day = (due + clock.offset_at(due)) // _DAY
    found = []
    last = first_alarm(forecast)
    for d in days:
        at = reminder_at(forecast, due_day - d)
        if p.refill_at + _DAY <= at < last:  # not within a day of the visit: the patient was just there
            found.append((at, d))
    found.sort()
    return found


def first_alarm(forecast):
    """When the first alarm (warning or low reservoir, overdue, empty) starts: the unit
    sounds no reminder from then on (conditions.Schedule), so none is listed."""
    found = forecast.stability_limit_at
    for at in (forecast.warning_at, forecast.low_reservoir_at, forecast.empty_at):
        if at is not None and at < found:
            found = at
    return found


def appointment_reminder(forecast):
    """The day before the booked appointment at reminders.at_local (None: none booked)."""
    p = forecast.prescription
    if p.next_appointment is None:
        return None
    clock = forecast.clock
    day = (p.next_appointment + clock.offset_at(p.next_appointment)) // _DAY
    at = reminder_at(forecast, day - 1)
    return at if p.refill_at < at < p.next_appointment and at < first_alarm(forecast) else None


def reminder_at(forecast, local_day):
    """When a reminder for a local day (days since 1970) sounds: at reminders.at_local,
    out of the quiet hours, inside the day window."""
    p = forecast.prescription
    clock = forecast.clock
    at = out_of_quiet_hours(p, clock, clock.to_utc(local_day * _DAY + p.reminder_at_s))
    return forecast.days.sounds_at(at)


def implant_reminders(forecast):
    """[(utc, days before the implant's replacement indicator)] after the refill, in time order."""
    p = forecast.prescription
    if p.implant_eri_day is None:
        return []
    found = []
    for d in IMPLANT_REMINDER_DAYS:
        at = reminder_at(forecast, p.implant_eri_day - d)
        if at > p.refill_at:
            found.append((at, d))
    found.sort()
    return found


def out_of_quiet_hours(p, clock, utc):
    """A low-priority instant moved to the end of the quiet hours it falls in."""
    if p.quiet_hours is None:
        return utc
    start, end = p.quiet_hours
    local = utc + clock.offset_at(utc)
    x = local % _DAY
    inside = start <= x < end if start < end else (x >= start or x < end)
    if not inside:
        return utc
    end_local = local - x + end
    if end_local <= local:
        end_local += _DAY
    return clock.to_utc(end_local)


def programmer_check(forecast):
    """{"ok", "ours", "printed", "diff"} (ok None: nothing printed to compare with)."""
    p = forecast.prescription
    printed = p.programmer or {}
    num, den = forecast.program_ng_per_day
    ours = {"low_reservoir_alarm_at": timecalc.format_iso_or_none(forecast.low_reservoir_at_nominal),
            "daily_dose_mcg": (num // den) / 1000, "reservoir_volume_ml": p.refill_volume_ul / 1000}
    shown, diff, ok = {}, {}, None
    at = printed.get("low_reservoir_alarm_at")
    if at is not None:
        shown["low_reservoir_alarm_at"] = timecalc.format_iso(at)
        ours_at = forecast.low_reservoir_at_nominal
        hours = None if ours_at is None else round((ours_at - at) / 3600, 1)
        diff["low_reservoir_alarm_at_h"] = hours
        ok = hours is not None and abs(ours_at - at) <= ALARM_DATE_TOLERANCE_S
    for key, name, ours_value in (("daily_dose_ng", "daily_dose_mcg", (num, den)),
                                  ("reservoir_volume_ul", "reservoir_volume_ml", (p.refill_volume_ul, 1))):
        value = printed.get(key)
        if value is None:
            continue
        shown[name] = value / 1000
        ours_num, ours_den = ours_value
        # (ours - printed) / printed in hundredths of a percent, exactly
        centipct = (ours_num - value * ours_den) * 10000 // (value * ours_den)
        diff[name[:-len("_mcg") if name.endswith("_mcg") else -len("_ml")] + "_pct"] = centipct / 100
        agrees = abs((ours_num - value * ours_den) * 10000) <= DOSE_TOLERANCE_CENTIPCT * value * ours_den
        ok = agrees if ok is None else ok and agrees
    return {"ok": ok, "ours": ours, "printed": shown, "diff": diff}


def programmer_errors(forecast):
    """Each disagreement with the printout, naming the field and both values; none
    when they agree, when nothing was printed, or when the clinician confirmed it."""
    check = forecast.programmer_check
    if check["ok"] is not False or CONFIRM_PROGRAMMER_MISMATCH in forecast.prescription.confirmed:
        return []
    found = []
    ours, printed, diff = check["ours"], check["printed"], check["diff"]
    hours = diff.get("low_reservoir_alarm_at_h")
    if "low_reservoir_alarm_at" in printed and (hours is None or abs(hours) > ALARM_DATE_TOLERANCE_S / 3600):
        found.append("programmer.low_reservoir_alarm_at: the programmer printed %s, PumpWatch computes %s "
                     "(%s): they must agree within 12 h" % (
                         printed["low_reservoir_alarm_at"], ours["low_reservoir_alarm_at"] or "never",
                         "never reached" if hours is None else "%+.1f h" % hours))
    for name, unit in (("daily_dose_mcg", "mcg/day"), ("reservoir_volume_ml", "mL")):
        key = name[:-len("_mcg") if name.endswith("_mcg") else -len("_ml")] + "_pct"
        if name in printed and abs(diff[key]) > DOSE_TOLERANCE_CENTIPCT / 100:
            found.append("programmer.%s: the programmer printed %s %s, PumpWatch computes %s %s (%+.2f %%): "
                         "they must agree within 1 %%" % (name, _num(printed[name]), unit, _num(ours[name]), unit,
                                                         diff[key]))
    if found:
        found.append("programmer: check the program's units (mcg/day, not mcg/hour; mcg, not mg), the "
                     "concentration and the weekday program against the printout; if PumpWatch is "
                     "wrong, sync with --confirm %s (it is logged)" % CONFIRM_PROGRAMMER_MISMATCH)
    return found


def _num(value):
    return str(int(value)) if value == int(value) else str(value)
