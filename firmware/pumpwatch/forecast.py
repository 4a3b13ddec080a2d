"""The refill forecast: how much drug is left, and when the refill is due.

Owns the forecast contract (docs/settings.md, "The forecast"): conservative figures assume
every allowed patient bolus is taken and the pump over-delivers by
`pump.flow_tolerance_pct`; nominal figures assume no over-delivery.  Every
instant is exact to the second, in integers (therapy.py and schedule.py
for the units).  What the clinic does with the figures (the clinical due
date, the reminders the unit sounds, the programmer cross-check) is
clinical.py's; the forecast carries its results so host and unit agree.
"""

from pumpwatch import timecalc
from pumpwatch.therapy import Therapy

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
        self.delivery = Therapy(p)
        self.clock = self.delivery.clock
        self.average_ng_per_day = p.daily_dose_ng()
        self.program_ng_per_day = p.program_dose_ng()
        tolerance = p.tolerance_centipct
        self.volume_ul = self.remaining_ul(as_of, tolerance)
        self.volume_ul_nominal = self.remaining_ul(as_of, 0)
        self.low_reservoir_at = self.when_remaining(p.low_alarm_ul, tolerance)
        self.low_reservoir_at_nominal = self.when_remaining(p.low_alarm_ul, 0)
        self.warning_at = None if p.warning_ul is None else self.when_remaining(p.warning_ul, tolerance)
        self.empty_at = self.when_remaining(0, tolerance)
        self.empty_at_nominal = self.when_remaining(0, 0)
        self.stability_limit_at = p.refill_at + p.max_days * 86400
        if self.low_reservoir_at is None or self.stability_limit_at < self.low_reservoir_at:
            self.refill_due_at = self.stability_limit_at
            self.refill_due_reason = REASON_DRUG_STABILITY
        else:
            self.refill_due_at = self.low_reservoir_at
            self.refill_due_reason = REASON_LOW_RESERVOIR
        from pumpwatch import clinical
        from pumpwatch.daywindow import DayWindow, urgent_from
        self.urgent_from = urgent_from(self.empty_at)
        self.days = DayWindow(p.day_window, self.clock, self.urgent_from)  # when forecasts may sound
        self.clinical_due_at = clinical.clinical_due(self)
        self.appointment_after_due = None
        if p.next_appointment is not None:
            self.appointment_after_due = p.next_appointment > self.clinical_due_at
        self.reminders = clinical.reminder_instants(self)  # what the unit sounds: one function for both
        self.appointment_reminder_at = clinical.appointment_reminder(self)
        self.programmer_check = clinical.programmer_check(self)
        self.implant_reminders = clinical.implant_reminders(self)
        self.implant_eri_at = None if p.implant_eri_day is None else self.clock.to_utc(p.implant_eri_day * 86400)

    def _volume_denominator(self, tolerance):
        """(numerator factor, denominator) turning dose units into microlitres."""
        p = self.prescription
        return 1000 * (_TOLERANCE_ONE + tolerance), 86400 * p.concentration_milli * _TOLERANCE_ONE

    def remaining_ul(self, at, tolerance):
        """Microlitres left at `at`, rounded down, never below zero."""
        p = self.prescription
        factor, denominator = self._volume_denominator(tolerance)
        delivered = self.delivery.delivered_by(at) * factor
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

    def warnings(self):
        found = []
        if self.appointment_after_due:
            found.append("refill.next_appointment: %s is after the clinical due date %s: "
                         "book the refill earlier" % (timecalc.format_iso(self.prescription.next_appointment),
                                                      timecalc.format_iso(self.clinical_due_at)))
        if self.as_of >= self.refill_due_at:
            found.append("refill is overdue since %s" % timecalc.format_iso(self.refill_due_at))
        return found

    def as_dict(self, warnings=()):
        """The forecast JSON contract (times ISO UTC, volumes mL)."""
        iso = timecalc.format_iso_or_none
        num, den = self.average_ng_per_day
        program_num, program_den = self.program_ng_per_day
        return {
            "as_of": iso(self.as_of),
            "volume_ml": self.volume_ul / 1000,
            "volume_ml_nominal": self.volume_ul_nominal / 1000,
            "low_reservoir_at": iso(self.low_reservoir_at),
            "low_reservoir_at_nominal": iso(self.low_reservoir_at_nominal),
            "warning_at": iso(self.warning_at),
            "empty_at": iso(self.empty_at),
            "empty_at_nominal": iso(self.empty_at_nominal),
            "stability_limit_at": iso(self.stability_limit_at),
            "refill_due_at": iso(self.refill_due_at),
            "refill_due_reason": self.refill_due_reason,
            "clinical_due_at": iso(self.clinical_due_at),
            "appointment_after_due": self.appointment_after_due,
            "appointment_reminder_at": iso(self.appointment_reminder_at),
            "average_mcg_per_day": (num // den) / 1000,
            "program_daily_mcg": (program_num // program_den) / 1000,
            "reminders": [{"at": iso(at), "days_before": days} for at, days in self.reminders],
            "programmer_check": self.programmer_check,
            "day_window": {"start": timecalc.format_hhmm(self.days.start), "end": timecalc.format_hhmm(self.days.end)},
            "urgent_from": iso(self.urgent_from),
            "alarms": self.alarm_instants(),
            "implant": self.implant_dict(),
            "warnings": list(warnings) + self.warnings(),
        }

    def alarm_instants(self):
        """Every condition the unit will raise: [{"condition", "starts_at", "sounds_at"}], the
        instants the unit uses (plan.condition_starts and the day window, one function each)."""
        from pumpwatch.conditions import DAYTIME, kind_of
        from pumpwatch.plan import condition_starts
        iso = timecalc.format_iso
        found = []
        for at, cid in condition_starts(self.prescription, self):
            sounds = self.days.sounds_at(at) if kind_of(cid) in DAYTIME else at
            found.append({"condition": cid, "starts_at": iso(at), "sounds_at": iso(sounds)})
        return found

    def implant_dict(self):
        p = self.prescription
        if p.implant_eri_day is None:
            return None
        return {"eri_date": timecalc.format_date(p.implant_eri_day), "estimated": p.implant_eri_estimated,
                "reminders": [{"at": timecalc.format_iso(at), "days_before": d} for at, d in self.implant_reminders]}

    def exact(self):
        """Every figure as an integer, for comparing interpreters bit for bit."""
        return [self.as_of, self.volume_ul, self.volume_ul_nominal, self.low_reservoir_at,
                self.low_reservoir_at_nominal, self.warning_at, self.empty_at, self.empty_at_nominal,
                self.stability_limit_at, self.refill_due_at, self.refill_due_reason, self.clinical_due_at,
                self.appointment_after_due, self.appointment_reminder_at, self.average_ng_per_day[0],
                self.average_ng_per_day[1], self.program_ng_per_day[0], self.program_ng_per_day[1],
                [list(r) for r in self.reminders], self.programmer_check["ok"]]
