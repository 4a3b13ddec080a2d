"""The refill forecast: how much drug is left, and when the refill is due.

Owns the forecast contract (docs/settings.md, "The forecast"): conservative figures assume
every allowed patient bolus is taken and the pump over-delivers by
`pump.flow_tolerance_pct`; nominal figures assume neither over-delivery.
Every instant is found in closed form per schedule segment, exact to the
second, in integers (see schedule.py for the units).
"""

from pumpwatch import timecalc
from pumpwatch.schedule import DailyCycle, Delivery, LocalClock

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

_TOLERANCE_ONE = const(10000)  # 100 % in hundredths of a percent
REASON_LOW_RESERVOIR = "low_reservoir"
REASON_DRUG_STABILITY = "drug_stability"


class Forecast:
    """Forecast figures as exact integers (epoch seconds, microlitres)."""

    def __init__(self, prescription, as_of):
        p = prescription
        self.prescription = p
        self.as_of = as_of
        self.clock = LocalClock(p.utc_offset_s, p.transitions)
        cycle = DailyCycle(p.steps, p.boluses, p.patient_bolus_ng * p.patient_bolus_max)
        self.delivery = Delivery(cycle, self.clock)
        self.average_ng_per_day = (cycle.per_day, 86400)
        tolerance = p.tolerance_centipct
        self.volume_ul = self.remaining_ul(as_of, tolerance)
        self.volume_ul_nominal = self.remaining_ul(as_of, 0)
        self.low_reservoir_at = self.when_remaining(p.low_alarm_ul, tolerance)
        self.low_reservoir_at_nominal = self.when_remaining(p.low_alarm_ul, 0)
        self.empty_at = self.when_remaining(0, tolerance)
        self.empty_at_nominal = self.when_remaining(0, 0)
        self.stability_limit_at = p.refill_at + p.max_days * 86400
        if self.stability_limit_at < self.low_reservoir_at:
            self.refill_due_at = self.stability_limit_at
            self.refill_due_reason = REASON_DRUG_STABILITY
        else:
            self.refill_due_at = self.low_reservoir_at
            self.refill_due_reason = REASON_LOW_RESERVOIR
        self.appointment_after_due = None
        if p.next_appointment is not None:
            self.appointment_after_due = p.next_appointment > self.refill_due_at
        self.reminders = self._reminders()

    def _volume_denominator(self, tolerance):
        """(numerator factor, denominator) turning dose units into microlitres."""
        p = self.prescription
        return 1000 * (_TOLERANCE_ONE + tolerance), 86400 * p.concentration_milli * _TOLERANCE_ONE

    def remaining_ul(self, at, tolerance):
        """Microlitres left at `at`, rounded down, never below zero."""
        p = self.prescription
        factor, denominator = self._volume_denominator(tolerance)
        delivered = self.delivery.delivered(p.refill_at, at) * factor
        left = p.refill_volume_ul - (-(-delivered // denominator))
        return left if left > 0 else 0

    def when_remaining(self, threshold_ul, tolerance):
        """First whole second at which at most `threshold_ul` is left."""
        p = self.prescription
        to_deliver = p.refill_volume_ul - threshold_ul
        if to_deliver <= 0:
            return p.refill_at
        factor, denominator = self._volume_denominator(tolerance)
        amount = -(-(to_deliver * denominator) // factor)
        return self.delivery.first_time_delivered(p.refill_at, amount)

    def _reminders(self):
        """[(utc, days_before)] in time order, after the refill."""
        p = self.prescription
        due_day = (self.refill_due_at + self.clock.offset_at(self.refill_due_at)) // 86400
        found = []
        for days in p.reminder_days:
            at = self.clock.to_utc((due_day - days) * 86400 + p.reminder_at_s)
            if at > p.refill_at:
                found.append((at, days))
        found.sort()
        return found

    def warnings(self):
        found = []
        if self.appointment_after_due:
            found.append("refill.next_appointment: %s is after the refill due date %s: "
                         "book the refill earlier" % (timecalc.format_iso(self.prescription.next_appointment),
                                                      timecalc.format_iso(self.refill_due_at)))
        if self.as_of >= self.refill_due_at:
            found.append("refill is overdue since %s" % timecalc.format_iso(self.refill_due_at))
        return found

    def as_dict(self, warnings=()):
        """The forecast JSON contract (times ISO UTC, volumes mL)."""
        iso = timecalc.format_iso
        num, den = self.average_ng_per_day
        return {
            "as_of": iso(self.as_of),
            "volume_ml": self.volume_ul / 1000,
            "volume_ml_nominal": self.volume_ul_nominal / 1000,
            "low_reservoir_at": iso(self.low_reservoir_at),
            "low_reservoir_at_nominal": iso(self.low_reservoir_at_nominal),
            "empty_at": iso(self.empty_at),
            "empty_at_nominal": iso(self.empty_at_nominal),
            "stability_limit_at": iso(self.stability_limit_at),
            "refill_due_at": iso(self.refill_due_at),
            "refill_due_reason": self.refill_due_reason,
            "appointment_after_due": self.appointment_after_due,
            "average_mcg_per_day": (num // den) / 1000,
            "reminders": [{"at": iso(at), "days_before": days} for at, days in self.reminders],
            "warnings": list(warnings) + self.warnings(),
        }

    def exact(self):
        """Every figure as an integer, for comparing interpreters bit for bit."""
        return [self.as_of, self.volume_ul, self.volume_ul_nominal, self.low_reservoir_at,
                self.low_reservoir_at_nominal, self.empty_at, self.empty_at_nominal,
                self.stability_limit_at, self.refill_due_at, self.refill_due_reason,
                self.appointment_after_due, self.average_ng_per_day[0],
                [list(r) for r in self.reminders]]
