"""A checked prescription: every quantity of a settings file as an exact integer.

Owns the `Prescription` value that settings.py builds and the forecast reads.
Kept apart from the checks, so the unit can drop the checking code (the
largest module) from RAM as soon as a file has passed, before it forecasts.
Units: volumes in microlitres, doses and rates in ng and ng/day,
concentration mcg/mL * 1000, percentages in hundredths.
"""

DEFAULT_REMINDER_DAYS = (14, 7, 3, 1)


class Prescription:
    """A validated settings file, every quantity an exact integer."""

    def __init__(self):
        self.pump_model = ""
        self.reservoir_ul = 0
        self.low_alarm_ul = 0
        self.tolerance_centipct = 0
        self.drug_name = ""
        self.concentration_milli = 0  # mcg/mL * 1000
        self.max_days = 0
        self.refill_at = 0
        self.refill_volume_ul = 0
        self.next_appointment = None
        self.steps = []  # [(start_s, ng_per_day)]
        self.boluses = []  # [(time_s, ng)]
        self.patient_bolus_ng = 0
        self.patient_bolus_max = 0
        self.utc_offset_s = 0
        self.transitions = []  # [(utc_at, offset_s)]
        self.reminder_days = list(DEFAULT_REMINDER_DAYS)
        self.reminder_at_s = 36000
        self.quiet_hours = None  # (start_s, end_s) local
        self.high_withdrawal_risk = False
        self.spasticity_origin = None

    def daily_dose_ng(self):
        """Programmed average dose per day (nominal, all boluses taken), ng as a
        (numerator, denominator) pair: exact even when steps are uneven."""
        total = 0
        count = len(self.steps)
        for i in range(count):
            start, rate = self.steps[i]
            end = self.steps[i + 1][0] if i + 1 < count else self.steps[0][0] + 86400
            total += rate * (end - start)
        for _, ng in self.boluses:
            total += ng * 86400
        total += self.patient_bolus_ng * self.patient_bolus_max * 86400
        return total, 86400
