"""The settings file: validation and conversion to an exact `Prescription`.

Owns the settings contract (docs/settings.md, schema 2; schema-1 files are
read as schema 2 with its defaults, and a warning says so): which fields
exist, what each may hold, the pump models, the medical plausibility checks
(dose range by spasticity origin and age, commercial concentrations), and the
conversion of decimal quantities to fixed-point integers:
  volumes        microlitres (0.001 mL)
  doses, rates   ng and ng/day (0.001 mcg)
  concentration  mcg/mL * 1000  (numerically ng/uL * 1000)
  percentages    hundredths of a percent
Inputs with more decimals than that are rounded to it.  The therapy section
is settings_therapy.py's, loaded for its check and dropped after it (RAM).

`check(doc, as_of, confirmed)` returns (prescription or None, errors,
warnings); each error is one line "field.path: what is wrong".  It never
raises on bad input (checker.py bounds every number).  The programmer
cross-check needs the forecast: clinical.py.
"""

from pumpwatch.checker import Checker, describe, mcg, num
from pumpwatch.prescription import (CONFIRM_DOSE_RANGE, CONFIRM_NO_PRINTOUT,  # noqa: F401  (part of this API)
                                    CONFIRM_PROGRAMMER_MISMATCH, CONFIRMATIONS, DEFAULT_TOLERANCE_CENTIPCT,
                                    Prescription)

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

SCHEMA_VERSION = const(2)
DOSE_HIGH_MCG = const(1000)
COMMERCIAL_CONCENTRATIONS = (50, 500, 2000)
# Known pumps: (reservoir sizes in mL, default low-reservoir alarm volume in uL, service
# life in months or None).  Alarm volumes from 1 to 5 mL are accepted for either (an
# assumption: docs/settings.md).  SynchroMed II: "a maximum of 7 years" (Medtronic's
# patient information), ERI about 90 days before it stops; Prometra II: no figure we can
# cite, so the clinic gives pump.service_life_months or pump.eri_at.
PUMP_MODELS = (("SynchroMed II", (20, 40), 2000, 84), ("Prometra II", (20, 40), 3000, None),
               ("other", None, None, None))
ERI_BEFORE_END_DAYS = const(90)
MIN_DAY_WINDOW_S = const(6 * 3600)
ALARM_ML_RANGE = (1, 5)
# Observed maintenance dose ranges, mcg/day (drug monograph): spinal, cerebral, children under 12.
DOSE_RANGE_SPINAL = (12, 2003)
DOSE_RANGE_CEREBRAL = (22, 1400)
DOSE_RANGE_CHILD = (24, 1199)

# Known fields per section, in report order: (name, required).  Tuples, not
# dicts: MicroPython dicts are unordered, and errors must read the same on
# every interpreter.
FIELDS = {
    "": (("schema", True), ("pump", True), ("drug", True), ("refill", True), ("therapy", True),
         ("clock", True), ("reminders", False), ("alarms", False), ("risk", False), ("patient", False),
         ("programmer", False), ("confirmed", False), ("clinic", False)),
    "pump": (("model", True), ("reservoir_ml", True), ("low_reservoir_alarm_ml", False), ("warning_ml", False),
             ("flow_tolerance_pct", False), ("minimum_rate_mcg_per_day", False), ("eri_at", False),
             ("implanted_at", False), ("service_life_months", False)),
    "drug": (("name", True), ("concentration_mcg_per_ml", True), ("max_days_in_reservoir", True),
             ("dilution_confirmed", False)),
    "refill": (("at", True), ("volume_ml", True), ("next_appointment", False), ("clinic_margin_days", False)),
    "clock": (("utc_offset_min", False), ("tz", False), ("transitions", False)),
    "transition": (("at", True), ("utc_offset_min", True)),
    "reminders": (("days_before", False), ("at_local", False), ("quiet_hours", False)),
    "quiet_hours": (("start", True), ("end", True)),
    "alarms": (("day_start", False), ("day_end", False)),
    "risk": (("high_withdrawal_risk", False),),
    "patient": (("label", False), ("spasticity_origin", False), ("age_years", False),
                ("high_withdrawal_risk", False), ("hearing_impaired", False)),
    "clinic": (("name", False), ("phone", False)),
    "programmer": (("low_reservoir_alarm_at", False), ("daily_dose_mcg", False), ("reservoir_volume_ml", False)),
}


def check(doc, as_of=None, confirmed=()):
    """Validate a settings document.  Returns (Prescription|None, errors, warnings).

    as_of: epoch seconds the forecast is for (the refill must not be after it);
    confirmed: names of plausibility checks the clinician confirmed.  The unit runs
    the same three parts with its RAM freed in between (plan.make_plan).
    """
    c, p = begin(doc, as_of)
    if p is None:
        return None, c.errors, c.warnings
    from pumpwatch import settings_therapy
    settings_therapy.check(c, p, doc.get("therapy"))
    return finish(c, p, doc, confirmed)


def begin(doc, as_of):
    """The first part: the document's shape, schema, pump, drug and refill.
    (checker, Prescription or None when the document cannot be read further)."""
    c = Checker(FIELDS)
    p = Prescription()
    if c.section(doc, "", "") is None:
        return c, None
    schema = doc.get("schema")
    if isinstance(schema, bool) or schema not in (1, SCHEMA_VERSION):
        c.error("schema", "unsupported version %s (this tool understands 1 and %d)"
                % (describe(schema), SCHEMA_VERSION))
        return c, None
    p.schema = schema
    if schema == 1:
        c.warnings.append("schema: a schema-1 file, read as schema 2 (flow tolerance 3 %% unless given, "
                          "clinic margin %d days)" % p.clinic_margin_days)
    _check_pump(c, p, doc.get("pump"))
    _check_drug(c, p, doc.get("drug"))
    _check_refill(c, p, doc.get("refill"), as_of)
    return c, p


def finish(c, p, doc, confirmed=()):
    """The last part, after the therapy (settings_therapy.py): clock, reminders,
    patient, printout, confirmations and plausibility.  (Prescription|None, errors, warnings)."""
    _check_clock(c, p, doc.get("clock"))
    _check_reminders(c, p, doc.get("reminders"))
    _check_alarms(c, p, doc.get("alarms"))
    _check_patient(c, p, doc.get("risk"), doc.get("patient"))
    _check_implant(c, p, doc.get("pump"))
    _check_programmer(c, p, doc.get("programmer"))
    _check_clinic(c, p, doc.get("clinic"))
    p.confirmed = tuple(confirmed) + _check_confirmed(c, doc.get("confirmed"))
    if not c.errors:
        _check_plausible(c, p)
    if c.errors:
        return None, c.errors, c.warnings
    return p, c.errors, c.warnings


def strict(c, p, path, message):
    """A rule schema 2 enforces; a schema-1 file only gets a warning (those files stay valid)."""
    if p.schema == 1:
        c.warnings.append("%s: %s" % (path, message))
    else:
        c.error(path, message)


def _model(name):
    for model in PUMP_MODELS:
        if model[0] == name:
            return model
    return None


def _check_pump(c, p, doc):
    if c.section(doc, "pump", "pump") is None:
        return
    p.pump_model = c.text(doc, "pump", "model")
    model = _model(p.pump_model)
    if p.pump_model is not None and model is None:
        strict(c, p, "pump.model", '"%s" is not a known model (%s)'
               % (p.pump_model, ", ".join('"%s"' % m[0] for m in PUMP_MODELS)))
    p.reservoir_ul = c.number(doc, "pump", "reservoir_ml", 1000, above=0, maximum=100)
    if model is not None and model[1] is not None and p.reservoir_ul is not None \
            and p.reservoir_ul not in [ml * 1000 for ml in model[1]]:
        strict(c, p, "pump.reservoir_ml", "a %s holds %s mL, not %s" % (model[0], " or ".join(
            str(ml) for ml in model[1]), num(p.reservoir_ul / 1000)))
    if "low_reservoir_alarm_ml" in doc:
        p.low_alarm_ul = c.number(doc, "pump", "low_reservoir_alarm_ml", 1000, minimum=0, maximum=100)
    elif p.schema != 1 and model is not None and model[2] is not None:
        p.low_alarm_ul = model[2]  # the model's usual alarm volume
    else:
        c.error("pump.low_reservoir_alarm_ml", "missing")
    if model is not None and model[1] is not None and p.low_alarm_ul is not None \
            and not ALARM_ML_RANGE[0] * 1000 <= p.low_alarm_ul <= ALARM_ML_RANGE[1] * 1000:
        strict(c, p, "pump.low_reservoir_alarm_ml", "%s mL is outside the %d-%d mL a %s alarm is set to"
               % (num(p.low_alarm_ul / 1000), ALARM_ML_RANGE[0], ALARM_ML_RANGE[1], model[0]))
    if p.reservoir_ul is not None and p.low_alarm_ul is not None and p.low_alarm_ul >= p.reservoir_ul:
        c.error("pump.low_reservoir_alarm_ml", "must be less than pump.reservoir_ml")
    if "warning_ml" in doc:
        p.warning_ul = c.number(doc, "pump", "warning_ml", 1000, above=0, maximum=100)
        if p.warning_ul is not None and p.low_alarm_ul is not None and p.reservoir_ul is not None \
                and not p.low_alarm_ul < p.warning_ul < p.reservoir_ul:
            c.error("pump.warning_ml", "must be above pump.low_reservoir_alarm_ml and below pump.reservoir_ml")
    if "flow_tolerance_pct" in doc:
        p.tolerance_centipct = c.number(doc, "pump", "flow_tolerance_pct", 100, minimum=0, maximum=50)
    else:
        p.tolerance_centipct = DEFAULT_TOLERANCE_CENTIPCT
    if "minimum_rate_mcg_per_day" in doc:
        p.minimum_rate_ng = c.number(doc, "pump", "minimum_rate_mcg_per_day", 1000, above=0, maximum=1000)


def _check_drug(c, p, doc):
    if c.section(doc, "drug", "drug") is None:
        return
    p.drug_name = c.text(doc, "drug", "name")
    p.concentration_milli = c.number(doc, "drug", "concentration_mcg_per_ml", 1000, above=0, maximum=10000)
    p.max_days = c.integer(doc, "drug", "max_days_in_reservoir", 1, 365)
    p.dilution_confirmed = c.flag(doc, "drug", "dilution_confirmed")
    milli = p.concentration_milli
    if milli is not None and not p.dilution_confirmed and (
            milli % 1000 or milli // 1000 not in COMMERCIAL_CONCENTRATIONS):
        strict(c, p, "drug.concentration_mcg_per_ml", "%s mcg/mL is not a commercial strength (50, 500 or "
               "2000 mcg/mL): a typo, or a dilution? A dilution needs drug.dilution_confirmed: true"
               % mcg(milli))


def _check_refill(c, p, doc, as_of):
    if c.section(doc, "refill", "refill") is None:
        return
    from pumpwatch import timecalc
    p.refill_at = c.instant(doc, "refill", "at")
    p.refill_volume_ul = c.number(doc, "refill", "volume_ml", 1000, above=0, maximum=100)
    if "next_appointment" in doc:
        p.next_appointment = c.instant(doc, "refill", "next_appointment")
    if "clinic_margin_days" in doc:
        p.clinic_margin_days = c.integer(doc, "refill", "clinic_margin_days", 0, 14) or 0
    if p.refill_volume_ul is not None and p.reservoir_ul and p.refill_volume_ul > p.reservoir_ul:
        c.error("refill.volume_ml", "%s mL is more than the %s mL reservoir holds"
                % (num(doc["volume_ml"]), num(p.reservoir_ul / 1000)))
    if p.refill_at is not None and as_of is not None and p.refill_at > as_of:
        c.error("refill.at", "%s is later than the time of the forecast (%s): check the date"
                % (doc["at"], timecalc.format_iso(as_of)))
    if p.refill_at is not None and p.next_appointment is not None and p.next_appointment <= p.refill_at:
        c.error("refill.next_appointment", "must be after refill.at")


def _check_clock(c, p, doc):
    if c.section(doc, "clock", "clock") is None:
        return
    offset = c.integer(doc, "clock", "utc_offset_min", -720, 840)
    if "utc_offset_min" not in doc:
        if "tz" in doc:
            c.error("clock.tz", "must be turned into utc_offset_min and transitions by the host "
                    "(pumpsync does this) before it reaches the unit")
        else:
            c.error("clock.utc_offset_min", "missing (or give clock.tz)")
    if "tz" in doc:
        c.text(doc, "clock", "tz")
    if offset is not None:
        p.utc_offset_s = offset * 60
    transitions = c.array(doc, "clock", "transitions", 64) or ()
    previous = None
    for i, item in enumerate(transitions):
        path = "clock.transitions[%d]" % i
        if c.section(item, path, "transition") is None:
            continue
        at = c.instant(item, path, "at")
        minutes = c.integer(item, path, "utc_offset_min", -720, 840)
        if at is not None and previous is not None and at <= previous:
            c.error(path + ".at", "must be later than the transition before it")
        elif at is not None and minutes is not None:
            previous = at
            p.transitions.append((at, minutes * 60))


def _check_reminders(c, p, doc):
    if doc is None:
        return
    if c.section(doc, "reminders", "reminders") is None:
        return
    days = c.array(doc, "reminders", "days_before", 16)
    if days is not None:
        p.reminder_days = []
        for i, value in enumerate(days):
            day = c.whole(value, "reminders.days_before[%d]" % i, 0, 90)
            if day is not None:
                if day in p.reminder_days:
                    c.error("reminders.days_before[%d]" % i, "%d is listed twice" % day)
                p.reminder_days.append(day)
    if "at_local" in doc:
        at = c.time_of_day(doc, "reminders", "at_local")
        if at is not None:
            p.reminder_at_s = at
    quiet = doc.get("quiet_hours")
    if quiet is not None and c.section(quiet, "reminders.quiet_hours", "quiet_hours") is not None:
        start = c.time_of_day(quiet, "reminders.quiet_hours", "start")
        end = c.time_of_day(quiet, "reminders.quiet_hours", "end")
        if start is not None and end is not None:
            if start == end:
                c.error("reminders.quiet_hours.end", "must differ from start")
            p.quiet_hours = (start, end)


def _check_alarms(c, p, doc):
    """The patient's day window: forecasts days ahead of harm sound only inside it."""
    if doc is None or c.section(doc, "alarms", "alarms") is None:
        return
    start, end = p.day_window
    for name in ("day_start", "day_end"):
        if name in doc and doc[name] is None:
            c.error("alarms." + name, 'is null: give "HH:MM" or leave the field out')
    if doc.get("day_start") is not None:
        start = c.time_of_day(doc, "alarms", "day_start")
    if doc.get("day_end") is not None:
        end = c.time_of_day(doc, "alarms", "day_end")
    if start is None or end is None:
        return
    if end - start < MIN_DAY_WINDOW_S:
        c.error("alarms.day_end", "the day window must run forward from alarms.day_start for at least %d h "
                "within one day (e.g. 08:00 to 21:00)" % (MIN_DAY_WINDOW_S // 3600))
        return
    p.day_window = (start, end)


def _check_implant(c, p, doc):
    """The implant's replacement date: pump.eri_at, or pump.implanted_at plus the
    model's (or the given) service life, less the ~90 days ERI comes before the end."""
    if not isinstance(doc, dict):
        return
    eri = c.date(doc, "pump", "eri_at")
    implanted = c.date(doc, "pump", "implanted_at")
    life = c.integer(doc, "pump", "service_life_months", 12, 240)
    if "service_life_months" in doc and "implanted_at" not in doc:
        c.error("pump.service_life_months", "needs pump.implanted_at")
    if implanted is not None:
        if life is None and "service_life_months" not in doc:
            model = _model(p.pump_model)
            life = None if model is None else model[3]
            if life is None:
                c.error("pump.implanted_at", "no known service life for a %s: give pump.service_life_months "
                        "or pump.eri_at (from the programmer)" % (p.pump_model or "pump"))
        if life is not None:
            estimated = implanted + life * 30436 // 1000 - ERI_BEFORE_END_DAYS  # months of 30.436 days
            if eri is None or estimated < eri:
                eri, p.implant_eri_estimated = estimated, True
    p.implant_eri_day = eri
    if implanted is not None and p.refill_at is not None and implanted * 86400 > p.refill_at + 86400:  # a day: zones
        c.error("pump.implanted_at", "is after refill.at: check the date")
    if eri is not None and p.refill_at is not None and eri * 86400 <= p.refill_at:
        c.warnings.append("pump.eri_at: the implant's replacement indicator date has passed: book the "
                          "replacement (the pump stops about 90 days after ERI)")
    elif eri is not None and p.refill_at is not None and eri * 86400 <= p.refill_at + 7 * 86400:
        c.warnings.append("pump.eri_at: the replacement indicator is less than 7 days away: the unit's "
                          "reminders before it are already past; tell the patient now")


def _check_patient(c, p, risk, patient):
    if risk is not None and c.section(risk, "risk", "risk") is not None:
        p.high_withdrawal_risk = c.flag(risk, "risk", "high_withdrawal_risk")
    if patient is None or c.section(patient, "patient", "patient") is None:
        return
    if "label" in patient:
        p.label = c.text(patient, "patient", "label")
        if p.label is not None and (len(p.label) > 64 or [ch for ch in p.label if ord(ch) < 32 or ord(ch) == 127]):
            c.error("patient.label", "at most 64 characters, no control characters")
    origin = patient.get("spasticity_origin")
    if origin is not None and origin not in ("spinal", "cerebral"):
        c.error("patient.spasticity_origin", 'must be "spinal" or "cerebral", not %s' % describe(origin))
    else:
        p.spasticity_origin = origin
    p.age_years = c.integer(patient, "patient", "age_years", 0, 120)
    p.hearing_impaired = bool(c.flag(patient, "patient", "hearing_impaired"))
    if "high_withdrawal_risk" in patient:
        p.high_withdrawal_risk = c.flag(patient, "patient", "high_withdrawal_risk") or p.high_withdrawal_risk


def _check_clinic(c, p, doc):
    """Who to call: printed on the patient's hand-outs only (the unit does nothing with it)."""
    if doc is None or c.section(doc, "clinic", "clinic") is None:
        return
    name = c.text(doc, "clinic", "name")
    if name is not None and (len(name) > 64 or [ch for ch in name if ord(ch) < 32 or ord(ch) == 127]):
        c.error("clinic.name", "at most 64 characters, no control characters")
        name = None
    phone = c.text(doc, "clinic", "phone")
    if phone is not None:
        digits = [ch for ch in phone if "0" <= ch <= "9"]
        if len(phone) > 32 or len(digits) < 3 or [ch for ch in phone if not ("0" <= ch <= "9" or ch in " +-()./")]:
            c.error("clinic.phone", "%s is not a phone number: digits, spaces and + - ( ) . / only, at most "
                    "32 characters (e.g. \"+49 30 1234 5678\")" % describe(phone))
            phone = None
    p.clinic_name, p.clinic_phone = name, phone


def _check_programmer(c, p, doc):
    """What the clinician programmer printed; compared with the forecast in clinical.py."""
    if doc is None or c.section(doc, "programmer", "programmer") is None:
        return
    printed = {}
    if "low_reservoir_alarm_at" in doc:
        printed["low_reservoir_alarm_at"] = c.instant(doc, "programmer", "low_reservoir_alarm_at")
    if "daily_dose_mcg" in doc:
        printed["daily_dose_ng"] = c.number(doc, "programmer", "daily_dose_mcg", 1000, above=0, maximum=50000)
    if "reservoir_volume_ml" in doc:
        printed["reservoir_volume_ul"] = c.number(doc, "programmer", "reservoir_volume_ml", 1000, above=0,
                                                  maximum=100)
    if "low_reservoir_alarm_at" not in printed and "daily_dose_ng" not in printed:
        c.error("programmer", "give low_reservoir_alarm_at and/or daily_dose_mcg as the programmer printed them "
                "(the volume alone catches no unit mistake)")
    p.programmer = printed


def _check_confirmed(c, value):
    """Plausibility checks the clinician confirmed in the file itself."""
    if value is None:
        return ()
    if not isinstance(value, list) or [v for v in value if v not in CONFIRMATIONS]:
        c.error("confirmed", "must be a list of confirmed checks (%s)" % ", ".join('"%s"' % n for n in CONFIRMATIONS))
        return ()
    return tuple(value)


def dose_range(p):
    """(lowest, highest mcg/day, why) observed for this patient (drug monograph)."""
    if p.spasticity_origin == "spinal":
        low, high, why = DOSE_RANGE_SPINAL[0], DOSE_RANGE_SPINAL[1], "spinal origin"
    elif p.spasticity_origin == "cerebral":
        low, high, why = DOSE_RANGE_CEREBRAL[0], DOSE_RANGE_CEREBRAL[1], "cerebral origin"
    elif p.schema == 1:  # schema 1 had no origin: its files keep their range (a warning flags the rest)
        low, high, why = DOSE_RANGE_SPINAL[0], DOSE_RANGE_SPINAL[1], "schema 1, no spasticity origin given"
    else:  # the stricter of the two
        low, high = max(DOSE_RANGE_SPINAL[0], DOSE_RANGE_CEREBRAL[0]), min(DOSE_RANGE_SPINAL[1], DOSE_RANGE_CEREBRAL[1])
        why = "no spasticity origin given: the stricter limits"
    if p.age_years is not None and p.age_years < 12:
        low, high = max(low, DOSE_RANGE_CHILD[0]), min(high, DOSE_RANGE_CHILD[1])
        why += ", under 12"
    return low, high, why


def _check_plausible(c, p):
    if p.pump_model == "Prometra II" and p.patient_bolus_max:
        strict(c, p, "therapy.patient_bolus", "the Prometra patient therapy controller may not be used for "
               "baclofen boluses")
    total, den = p.daily_dose_ng()
    low, high, why = dose_range(p)
    average = mcg(total // den)
    if (total < low * 1000 * den or total > high * 1000 * den) and CONFIRM_DOSE_RANGE not in p.confirmed:
        c.error("therapy", "average daily dose %s mcg/day is outside the observed %d-%d mcg/day range (%s) "
                "(a mcg/hour vs mcg/day mix-up?); if it is really intended, confirm with --confirm %s"
                % (average, low, high, why, CONFIRM_DOSE_RANGE))
    elif p.schema == 1 and p.spasticity_origin is None and not (
            DOSE_RANGE_CEREBRAL[0] * 1000 * den <= total <= DOSE_RANGE_CEREBRAL[1] * 1000 * den):
        c.warnings.append("therapy: average daily dose %s mcg/day is outside %d-%d mcg/day, the range observed for "
                          "cerebral origin: give patient.spasticity_origin (schema 2 refuses it without)"
                          % (average, DOSE_RANGE_CEREBRAL[0], DOSE_RANGE_CEREBRAL[1]))
    elif total > DOSE_HIGH_MCG * 1000 * den:
        c.warnings.append("therapy: average daily dose %s mcg/day is above 1000 mcg/day, where "
                          "experience is limited" % average)
    if p.concentration_milli % 1000 or p.concentration_milli // 1000 not in COMMERCIAL_CONCENTRATIONS:
        c.warnings.append("drug.concentration_mcg_per_ml: %s mcg/mL is a dilution (not 50, 500 or 2000 mcg/mL): "
                          "check the label" % mcg(p.concentration_milli))
