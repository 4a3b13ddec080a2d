"""A checked prescription: every quantity of a settings file as an exact integer.

Owns the `Prescription` value that settings.py builds and the forecast reads.
Kept apart from the checks, so the unit can drop the checking code (the
largest module) from RAM as soon as a file has passed, before it forecasts.
Units: volumes in microlitres, doses and rates in ng and ng/day,
concentration mcg/mL * 1000, percentages in hundredths, times in seconds.
"""

DEFAULT_REMINDER_DAYS = (14, 7, 3, 1)
# checks a clinician may override (settings "confirmed", pumpsync --confirm); each override is logged
CONFIRM_DOSE_RANGE = "dose-range"
CONFIRM_PROGRAMMER_MISMATCH = "programmer-mismatch"
CONFIRM_NO_PRINTOUT = "no-printout"
CONFIRMATIONS = (CONFIRM_DOSE_RANGE, CONFIRM_PROGRAMMER_MISMATCH, CONFIRM_NO_PRINTOUT)
DEFAULT_TOLERANCE_CENTIPCT = 300  # pumps deliver ~1 % more than programmed over months (domain brief)
DEFAULT_CLINIC_MARGIN_DAYS = 3  # clinics refill 3-5 days before the pump's alarm date
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# events: (utc, kind, ng) -- kind one of these; ng only for a bolus
EVENT_BOLUS = "bolus"
EVENT_STOP = "stop"
EVENT_RESUME = "resume"
EVENT_MINIMUM = "minimum_rate"


class Prescription:
    """A validated settings file, every quantity an exact integer."""

    def __init__(self):
        self.schema = 2
        self.pump_model = ""
        self.reservoir_ul = 0
        self.low_alarm_ul = 0
        self.warning_ul = None  # a higher warning volume (high-risk patients), or None
        self.tolerance_centipct = DEFAULT_TOLERANCE_CENTIPCT
        self.minimum_rate_ng = None  # ng/day in the pump's minimum-rate mode
        self.drug_name = ""
        self.concentration_milli = 0  # mcg/mL * 1000
        self.dilution_confirmed = False
        self.max_days = 0
        self.refill_at = 0
        self.refill_volume_ul = 0
        self.next_appointment = None
        self.clinic_margin_days = DEFAULT_CLINIC_MARGIN_DAYS
        self.week = None  # 7 lists of [(start_s, ng_per_day)], Monday first; None: `steps` every day
        self.steps = []  # [(start_s, ng_per_day)]: the every-day program (or Monday's)
        self.boluses = []  # [(time_s, ng)] every day, local time
        self.periodic = []  # [(first_utc, every_s, ng)]
        self.events = []  # [(utc, kind, ng)] in time order
        self.patient_bolus_ng = 0
        self.patient_bolus_max = 0  # per day, as the clinician set it
        self.lockout_min = None
        self.utc_offset_s = 0
        self.transitions = []  # [(utc_at, offset_s)]
        self.reminder_days = list(DEFAULT_REMINDER_DAYS)
        self.reminder_at_s = 36000
        self.quiet_hours = None  # (start_s, end_s) local
        self.day_window = (8 * 3600, 21 * 3600)  # alarms.day_start, day_end: local seconds
        self.hearing_impaired = False
        self.implant_eri_day = None  # days since 1970 of the implant's replacement indicator, or None
        self.implant_eri_estimated = False  # from pump.implanted_at and a service life
        self.high_withdrawal_risk = False
        self.spasticity_origin = None
        self.age_years = None
        self.label = None
        self.clinic_name = None  # clinic.name, clinic.phone: for the hand-outs only
        self.clinic_phone = None
        self.programmer = None  # {"low_reservoir_alarm_at": utc, "daily_dose_ng": n, "reservoir_volume_ul": n}
        self.confirmed = ()

    def patient_boluses_per_day(self):
        """The most patient boluses in any rolling 24 h: the per-day limit and the
        lockout both bound it, and the forecast never counts fewer than a patient can take."""
        count = self.patient_bolus_max
        if self.lockout_min:
            most = 1440 // self.lockout_min + 1
            if most < count:
                count = most
        return count

    def day_steps(self, weekday):
        return self.week[weekday] if self.week is not None else self.steps

    def program_dose_ng(self):
        """Programmed dose per day, averaged over the week: flex steps, daily and
        periodic boluses; no patient boluses and no one-off events.
        (numerator, denominator) ng, exact however uneven the program."""
        total = 0
        days = 7 if self.week is not None else 1
        for d in range(days):
            steps = self.day_steps(d)
            count = len(steps)
            for i in range(count):
                start, rate = steps[i]
                end = steps[i + 1][0] if i + 1 < count else 86400
                total += rate * (end - start)
            # before the first step of the day: the day before's last rate
            before = self.day_steps((d - 1) % 7 if self.week is not None else d)[-1][1]
            total += before * steps[0][0]
        for _, ng in self.boluses:
            total += ng * 86400 * days
        num, den = total, 86400 * days
        for _, every_s, ng in self.periodic:
            num, den = num * every_s + ng * 86400 * den, den * every_s
        return num, den

    def daily_dose_ng(self):
        """As program_dose_ng, with every patient bolus a patient may take."""
        num, den = self.program_dose_ng()
        return num + self.patient_bolus_ng * self.patient_boluses_per_day() * den, den
