"""The settings file: validation and conversion to an exact `Prescription`.

Owns the settings contract (docs/settings.md): which fields exist, what
each may hold, the medical plausibility checks, and the conversion of decimal
quantities to fixed-point integers:
  volumes        microlitres (0.001 mL)
  doses, rates   ng and ng/day (0.001 mcg)
  concentration  mcg/mL * 1000  (numerically ng/uL * 1000)
  percentages    hundredths of a percent
Inputs with more decimals than that are rounded to it.

`check(doc, as_of, confirmed)` returns (prescription or None, errors,
warnings); each error is one line "field.path: what is wrong".  It never
raises on bad input: every number has a ceiling far above any real
prescription (so 1e306 cannot overflow the fixed-point maths) and must stay
above zero once scaled (a rate that rounds to 0 ng/day is refused, not
divided by).
"""

from pumpwatch import timecalc
from pumpwatch.prescription import DEFAULT_REMINDER_DAYS, Prescription  # noqa: F401  (part of this module's API)

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

SCHEMA_VERSION = const(1)
MAX_STEPS = const(24)
MAX_BOLUSES = const(24)
# Observed maintenance range for intrathecal baclofen (drug label), mcg/day.
DOSE_RANGE_MIN_MCG = const(12)
DOSE_RANGE_MAX_MCG = const(2003)
DOSE_HIGH_MCG = const(1000)
# Ceilings far above any real prescription: they bound the arithmetic, the
# dose-range check is what judges plausibility.
MAX_RATE_MCG_PER_DAY = const(50000)
MAX_BOLUS_MCG = const(5000)
MAX_CONCENTRATION = const(10000)
COMMERCIAL_CONCENTRATIONS = (500, 2000)
DEFAULT_REMINDER_AT = "10:00"
CONFIRM_DOSE_RANGE = "dose-range"

# Known fields per section, in report order: (name, required).  Tuples, not
# dicts: MicroPython dicts are unordered, and errors must read the same on
# every interpreter.
_FIELDS = {
    "": (("schema", True), ("pump", True), ("drug", True), ("refill", True), ("therapy", True),
         ("clock", True), ("reminders", False), ("risk", False), ("patient", False), ("confirmed", False)),
    "pump": (("model", True), ("reservoir_ml", True), ("low_reservoir_alarm_ml", True),
             ("flow_tolerance_pct", False)),
    "drug": (("name", True), ("concentration_mcg_per_ml", True), ("max_days_in_reservoir", True)),
    "refill": (("at", True), ("volume_ml", True), ("next_appointment", False)),
    "therapy": (("steps", True), ("boluses", False), ("patient_bolus", False)),
    "step": (("start", True), ("mcg_per_day", True)),
    "bolus": (("time", True), ("mcg", True)),
    "patient_bolus": (("mcg", True), ("max_per_day", True)),
    "clock": (("utc_offset_min", False), ("tz", False), ("transitions", False)),
    "transition": (("at", True), ("utc_offset_min", True)),
    "reminders": (("days_before", False), ("at_local", False), ("quiet_hours", False)),
    "quiet_hours": (("start", True), ("end", True)),
    "risk": (("high_withdrawal_risk", False),),
    "patient": (("spasticity_origin", False),),
}


class _Checker:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, path, message):
        self.errors.append("%s: %s" % (path or "settings", message))

    def section(self, doc, path, kind):
        """Check `doc` is an object with the fields of `kind`; return it or None."""
        if not isinstance(doc, dict):
            self.error(path, "must be an object, not %s" % _describe(doc))
            return None
        known = _FIELDS[kind]
        for name in sorted(doc):
            if not [1 for field, _ in known if field == name]:
                self.error(_join(path, name), "unknown field")
        for name, required in known:
            if required and name not in doc:
                self.error(_join(path, name), "missing")
        return doc

    def number(self, doc, path, name, scale, minimum=None, above=None, maximum=None):
        """Fixed-point integer (value * scale) of a numeric field, or None."""
        value = doc.get(name)
        where = _join(path, name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(where, "must be a number, not %s" % _describe(value))
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.error(where, "must be a finite number")
            return None
        if above is not None and not value > above:
            self.error(where, "must be greater than %s (got %s)" % (_num(above), _num(value)))
            return None
        if minimum is not None and value < minimum:
            self.error(where, "must be at least %s (got %s)" % (_num(minimum), _num(value)))
            return None
        if maximum is not None and value > maximum:
            self.error(where, "must be at most %s (got %s)" % (_num(maximum), _num(value)))
            return None
        scaled = value * scale if isinstance(value, int) else int(round(value * scale))
        if above is not None and scaled <= above * scale:
            self.error(where, "%s rounds to %s at the unit's precision (%s)" % (_num(value), _num(above),
                                                                               _num(1 / scale)))
            return None
        return scaled

    def integer(self, doc, path, name, minimum, maximum):
        if doc.get(name) is None:
            return None
        return self.whole(doc[name], _join(path, name), minimum, maximum)

    def whole(self, value, where, minimum, maximum):
        if isinstance(value, float) and abs(value) < 1e15 and value == int(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(where, "must be a whole number, not %s" % _describe(value))
            return None
        if value < minimum or value > maximum:
            self.error(where, "must be between %d and %d (got %d)" % (minimum, maximum, value))
            return None
        return value

    def text(self, doc, path, name):
        value = doc.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(_join(path, name), "must be non-empty text, not %s" % _describe(value))
            return None
        return value

    def instant(self, doc, path, name):
        value = doc.get(name)
        if value is None:
            return None
        epoch = timecalc.parse_iso(value)
        if epoch is None:
            self.error(_join(path, name), "%s is not an ISO 8601 time with Z or an offset "
                       "(e.g. 2026-11-20T10:30:00Z)" % _describe(value))
        return epoch

    def time_of_day(self, doc, path, name):
        value = doc.get(name)
        if value is None:
            return None
        seconds = timecalc.parse_hhmm(value)
        if seconds is None:
            self.error(_join(path, name), "%s is not HH:MM" % _describe(value))
        return seconds

    def array(self, doc, path, name, most):
        value = doc.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.error(_join(path, name), "must be a list, not %s" % _describe(value))
            return None
        if len(value) > most:
            self.error(_join(path, name), "at most %d entries (got %d)" % (most, len(value)))
            return None
        return value


def _join(path, name):
    return path + "." + name if path else name


def _num(value):
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def _describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, (int, float)):
        return _num(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a value of another kind"


def _mcg(ng):
    """Text of a dose in mcg from ng, at most 3 decimals."""
    whole, rest = divmod(ng, 1000)
    if rest == 0:
        return str(whole)
    return ("%d.%03d" % (whole, rest)).rstrip("0")


def check(doc, as_of=None, confirmed=()):
    """Validate a settings document.  Returns (Prescription|None, errors, warnings).

    as_of: epoch seconds the forecast is for (the refill must not be after it);
    confirmed: names of plausibility checks the clinician confirmed.
    """
    c = _Checker()
    p = Prescription()
    if c.section(doc, "", "") is None:
        return None, c.errors, c.warnings
    schema = doc.get("schema")
    if schema is not None and (isinstance(schema, bool) or schema != SCHEMA_VERSION):
        c.error("schema", "unsupported version %s (this tool understands %d)"
                % (_describe(schema), SCHEMA_VERSION))
        return None, c.errors, c.warnings

    _check_pump(c, p, doc.get("pump"))
    _check_drug(c, p, doc.get("drug"))
    _check_refill(c, p, doc.get("refill"), as_of)
    _check_therapy(c, p, doc.get("therapy"))
    _check_clock(c, p, doc.get("clock"))
    _check_reminders(c, p, doc.get("reminders"))
    _check_patient(c, p, doc.get("risk"), doc.get("patient"))
    confirmed = tuple(confirmed) + _check_confirmed(c, doc.get("confirmed"))
    if not c.errors:
        _check_plausible(c, p, confirmed)
    if c.errors:
        return None, c.errors, c.warnings
    return p, c.errors, c.warnings


def _check_pump(c, p, doc):
    if c.section(doc, "pump", "pump") is None:
        return
    p.pump_model = c.text(doc, "pump", "model")
    p.reservoir_ul = c.number(doc, "pump", "reservoir_ml", 1000, above=0, maximum=100)
    p.low_alarm_ul = c.number(doc, "pump", "low_reservoir_alarm_ml", 1000, minimum=0, maximum=100)
    if p.reservoir_ul is not None and p.low_alarm_ul is not None and p.low_alarm_ul >= p.reservoir_ul:
        c.error("pump.low_reservoir_alarm_ml", "must be less than pump.reservoir_ml")
    if "flow_tolerance_pct" in doc:
        p.tolerance_centipct = c.number(doc, "pump", "flow_tolerance_pct", 100, minimum=0, maximum=50)


def _check_drug(c, p, doc):
    if c.section(doc, "drug", "drug") is None:
        return
    p.drug_name = c.text(doc, "drug", "name")
    p.concentration_milli = c.number(doc, "drug", "concentration_mcg_per_ml", 1000, above=0,
                                     maximum=MAX_CONCENTRATION)
    p.max_days = c.integer(doc, "drug", "max_days_in_reservoir", 1, 365)


def _check_refill(c, p, doc, as_of):
    if c.section(doc, "refill", "refill") is None:
        return
    p.refill_at = c.instant(doc, "refill", "at")
    p.refill_volume_ul = c.number(doc, "refill", "volume_ml", 1000, above=0, maximum=100)
    if "next_appointment" in doc:
        p.next_appointment = c.instant(doc, "refill", "next_appointment")
    if p.refill_volume_ul is not None and p.reservoir_ul and p.refill_volume_ul > p.reservoir_ul:
        c.error("refill.volume_ml", "%s mL is more than the %s mL reservoir holds"
                % (_num(doc["volume_ml"]), _num(p.reservoir_ul / 1000)))
    if p.refill_at is not None and as_of is not None and p.refill_at > as_of:
        c.error("refill.at", "%s is later than the time of the forecast (%s): check the date"
                % (doc["at"], timecalc.format_iso(as_of)))
    if p.refill_at is not None and p.next_appointment is not None and p.next_appointment <= p.refill_at:
        c.error("refill.next_appointment", "must be after refill.at")


def _check_therapy(c, p, doc):
    if c.section(doc, "therapy", "therapy") is None:
        return
    steps = c.array(doc, "therapy", "steps", MAX_STEPS)
    if steps is not None and not steps:
        c.error("therapy.steps", "needs at least one step")
    previous = None
    for i, step in enumerate(steps or ()):
        path = "therapy.steps[%d]" % i
        if c.section(step, path, "step") is None:
            continue
        start = c.time_of_day(step, path, "start")
        rate = c.number(step, path, "mcg_per_day", 1000, above=0, maximum=MAX_RATE_MCG_PER_DAY)
        if start is not None and previous is not None and start <= previous:
            c.error(path + ".start", '"%s" must be later than the step before it (steps in time order, '
                    "no duplicates)" % step["start"])
        if start is not None:
            previous = start
            if rate is not None:
                p.steps.append((start, rate))
    boluses = c.array(doc, "therapy", "boluses", MAX_BOLUSES) or ()
    seen = {}
    for i, bolus in enumerate(boluses):
        path = "therapy.boluses[%d]" % i
        if c.section(bolus, path, "bolus") is None:
            continue
        time_s = c.time_of_day(bolus, path, "time")
        ng = c.number(bolus, path, "mcg", 1000, above=0, maximum=MAX_BOLUS_MCG)
        if time_s is not None and time_s in seen:
            c.error(path + ".time", '"%s" is also the time of therapy.boluses[%d]'
                    % (bolus["time"], seen[time_s]))
        elif time_s is not None and ng is not None:
            seen[time_s] = i
            p.boluses.append((time_s, ng))
    extra = doc.get("patient_bolus")
    if extra is not None and c.section(extra, "therapy.patient_bolus", "patient_bolus") is not None:
        p.patient_bolus_ng = c.number(extra, "therapy.patient_bolus", "mcg", 1000, above=0,
                                      maximum=MAX_BOLUS_MCG) or 0
        p.patient_bolus_max = c.integer(extra, "therapy.patient_bolus", "max_per_day", 0, 48) or 0


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


def _check_patient(c, p, risk, patient):
    if risk is not None and c.section(risk, "risk", "risk") is not None:
        flag = risk.get("high_withdrawal_risk", False)
        if not isinstance(flag, bool):
            c.error("risk.high_withdrawal_risk", "must be true or false, not %s" % _describe(flag))
        else:
            p.high_withdrawal_risk = flag
    if patient is not None and c.section(patient, "patient", "patient") is not None:
        origin = patient.get("spasticity_origin")
        if origin is not None and origin not in ("spinal", "cerebral"):
            c.error("patient.spasticity_origin", 'must be "spinal" or "cerebral", not %s' % _describe(origin))
        else:
            p.spasticity_origin = origin


def _check_confirmed(c, value):
    """Plausibility checks the clinician confirmed in the file itself."""
    if value is None:
        return ()
    if not isinstance(value, list) or [v for v in value if v not in (CONFIRM_DOSE_RANGE,)]:
        c.error("confirmed", 'must be a list of confirmed checks ("%s")' % CONFIRM_DOSE_RANGE)
        return ()
    return tuple(value)


def _check_plausible(c, p, confirmed):
    num, den = p.daily_dose_ng()
    low = DOSE_RANGE_MIN_MCG * 1000 * den
    high = DOSE_RANGE_MAX_MCG * 1000 * den
    average = _mcg(num // den)
    if (num < low or num > high) and CONFIRM_DOSE_RANGE not in confirmed:
        c.error("therapy", "average daily dose %s mcg/day is outside the observed %d-%d mcg/day range "
                "(a mcg/hour vs mcg/day mix-up?); if it is really intended, confirm with "
                "--confirm %s" % (average, DOSE_RANGE_MIN_MCG, DOSE_RANGE_MAX_MCG, CONFIRM_DOSE_RANGE))
    elif num > DOSE_HIGH_MCG * 1000 * den:
        c.warnings.append("therapy: average daily dose %s mcg/day is above 1000 mcg/day, where "
                          "experience is limited" % average)
    if p.concentration_milli % 1000 or p.concentration_milli // 1000 not in COMMERCIAL_CONCENTRATIONS:
        c.warnings.append("drug.concentration_mcg_per_ml: %s mcg/mL is not a commercial strength "
                          "(500 or 2000 mcg/mL): a dilution? check the label"
                          % _mcg(p.concentration_milli))
