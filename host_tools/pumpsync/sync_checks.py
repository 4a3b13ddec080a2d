"""What a nurse must see and confirm before new settings go onto a unit.

Owns the comparison of the settings already on the unit with the new file:
a daily-dose change beyond the drug label's refill ranges (+10-40 % spinal,
+5-20 % cerebral origin, -10-20 % decrease), a concentration change, or a
file no newer than the unit's, each needs an explicit `--confirm`; the
before/after table; and the refill reconciliation (returned vs expected
volume).  The figures come from the core (settings, forecast).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from pumpwatch import timecalc
from pumpwatch.forecast import Forecast
from pumpwatch.settings import Prescription

CONFIRM_DOSE_CHANGE = "dose-change"
CONFIRM_CONCENTRATION_CHANGE = "concentration-change"
CONFIRM_OLDER_REFILL = "older-refill"
CONFIRM_NEW_PATIENT = "new-patient"
SYNC_CONFIRMATIONS = (CONFIRM_DOSE_CHANGE, CONFIRM_CONCENTRATION_CHANGE, CONFIRM_OLDER_REFILL, CONFIRM_NEW_PATIENT)

# The two dates a nurse reads, in the same words everywhere (status, sync, simulate, the table):
# the date to refill by (the core's clinical_due_at: a margin before the pump's low-reservoir alarm,
# or the drug's stability limit), and when the unit's own REFILL alarm sounds (refill_due_at).
DUE_WORDS = "REFILL DUE"
ALARM_WORDS = "refill alarm"

# Refill dose-change ranges from the drug label (see ../shared/domain.md)
MAX_INCREASE_PCT = {"spinal": 40, "cerebral": 20}
MAX_DECREASE_PCT = 20
DEFAULT_FLAG_PCT = 15


def daily_dose_mcg(p: Prescription) -> Fraction:
    num, den = p.daily_dose_ng()
    return Fraction(num, den * 1000)


@dataclass
class Check:
    name: str
    message: str


def required_confirmations(before: Prescription | None, after: Prescription, zone=None) -> list[Check]:
    """Changes that need `--confirm NAME` (none for a first sync); times in `zone` (times.Zone; None: UTC)."""
    if before is None:
        return []
    when = zone.local if zone is not None else timecalc.format_iso
    found = []
    if before.label and after.label and before.label != after.label:
        found.append(Check(CONFIRM_NEW_PATIENT,
                           f"the unit holds the settings of patient {before.label!r}, the file is for "
                           f"{after.label!r}: is this the right unit and the right file? (a unit going to a new "
                           "patient: factory-reset it first)"))
    old, new = daily_dose_mcg(before), daily_dose_mcg(after)
    change = (new - old) / old * 100
    origin = after.spasticity_origin or "cerebral"  # no origin given: the stricter limits
    if change > MAX_INCREASE_PCT[origin]:
        found.append(Check(CONFIRM_DOSE_CHANGE,
                           f"the daily dose rises {float(change):.0f} % ({float(old):.1f} -> {float(new):.1f} "
                           f"mcg/day), more than the +{MAX_INCREASE_PCT[origin]} % the label allows at a refill "
                           f"({origin} origin{'' if after.spasticity_origin else ': none given, the stricter limit'})"))
    elif change < -MAX_DECREASE_PCT:
        found.append(Check(CONFIRM_DOSE_CHANGE,
                           f"the daily dose falls {float(-change):.0f} % ({float(old):.1f} -> {float(new):.1f} "
                           f"mcg/day), more than the -{MAX_DECREASE_PCT} % the label allows at a refill"))
    if before.concentration_milli != after.concentration_milli:
        found.append(Check(CONFIRM_CONCENTRATION_CHANGE,
                           f"the concentration changes from {before.concentration_milli / 1000:g} to "
                           f"{after.concentration_milli / 1000:g} mcg/mL: check the syringe label"))
    if after.refill_at <= before.refill_at:
        found.append(Check(CONFIRM_OLDER_REFILL,
                           f"the file's refill time {when(after.refill_at)} is not after the one "
                           f"already on the unit ({when(before.refill_at)}): is it the right file?"))
    return found


def comparison_table(before: Prescription | None, after: Prescription, after_forecast: Forecast,
                     before_forecast: Forecast | None, zone_name: str | None = None,
                     before_zone_name: str | None = None) -> str:
    """Every field that changes what the unit does, before and after (settings_table.py)."""
    from pumpsync import settings_table
    from pumpsync.times import Zone

    zone = Zone.of_clock(after_forecast.clock, zone_name)
    new = settings_table.rows_of(after, zone, f"{float(daily_dose_mcg(after)):.1f} mcg/day")
    old = None
    if before is not None:
        before_zone = Zone.of_clock(Forecast(before, before.refill_at).clock, before_zone_name)
        old = settings_table.rows_of(before, before_zone, f"{float(daily_dose_mcg(before)):.1f} mcg/day")
    def both(f: Forecast | None, instant: str) -> str:
        return zone.local(getattr(f, instant)) if f is not None else "-"

    due = [(DUE_WORDS, both(before_forecast, "clinical_due_at"), both(after_forecast, "clinical_due_at")),
           (ALARM_WORDS, both(before_forecast, "refill_due_at"), both(after_forecast, "refill_due_at"))]
    return settings_table.table(old, new, due)


def reconcile(returned_ml: float, refill_volume_ml: float, expected_remaining_ml: float,
              flag_pct: float = DEFAULT_FLAG_PCT) -> dict:
    """Compare the volume drained from the pump with what the unit expected.
    A shortfall means more left the reservoir than programmed (leak, pocket
    fill, over-delivery); an excess means less was delivered (pump error)."""
    expected_delivered = refill_volume_ml - expected_remaining_ml
    actual_delivered = refill_volume_ml - returned_ml
    if expected_delivered <= 0:
        discrepancy = 0.0
    else:
        discrepancy = (actual_delivered - expected_delivered) / expected_delivered * 100
    flagged = abs(discrepancy) > flag_pct
    if not flagged:
        meaning = "within tolerance"
    elif discrepancy > 0:
        meaning = ("LESS drug came back than expected: check for a leak or a pocket fill "
                   "(drug under the skin: overdose risk) before refilling")
    else:
        meaning = "MORE drug came back than expected: the pump delivered less than programmed; check the pump"
    return {"returned_ml": round(returned_ml, 3), "expected_ml": round(expected_remaining_ml, 3),
            "discrepancy_pct": round(discrepancy, 1), "flag_pct": flag_pct, "flagged": flagged, "meaning": meaning}
