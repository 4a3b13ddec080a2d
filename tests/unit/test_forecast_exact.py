"""The core forecast equals an exact rational computation, to the second."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings, strategies as st

from pumpwatch import settings as core_settings
from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

from fraction_reference import DAY, Reference
from settings_examples import minimal

HORIZON_DAYS = 400
CONCENTRATIONS = [Fraction(500), Fraction(2000), Fraction(50), Fraction(1000), Fraction(2505, 10),
                  Fraction(1333333, 1000)]


def _number(value: Fraction):
    """The JSON number a clinician would type for an exact decimal value."""
    return int(value) if value.denominator == 1 else float(value)


def _hhmm(seconds: int) -> str:
    return "%02d:%02d" % (seconds // 3600, seconds // 60 % 60)


milli = st.integers(min_value=1, max_value=3_000_000).map(lambda n: Fraction(n, 1000))


@st.composite
def prescriptions(draw):
    starts = sorted(draw(st.sets(st.integers(0, 1439), min_size=1, max_size=24)))
    steps = [(m * 60, draw(milli)) for m in starts]
    bolus_minutes = sorted(draw(st.sets(st.integers(0, 1439), max_size=4)))
    boluses = [(m * 60, Fraction(draw(st.integers(1, 200_000)), 1000)) for m in bolus_minutes]
    patient = draw(st.one_of(st.none(), st.tuples(st.integers(1, 50_000), st.integers(0, 6))))
    concentration = draw(st.sampled_from(CONCENTRATIONS))
    reservoir = draw(st.sampled_from([20, 40]))
    volume = Fraction(draw(st.integers(1, reservoir * 1000)), 1000)
    low = Fraction(draw(st.integers(0, reservoir * 1000 - 1)), 1000)
    tolerance = Fraction(draw(st.integers(0, 1000)), 100)
    offset_min = draw(st.integers(-660, 780))
    refill_at = draw(st.integers(1_767_225_600, 1_830_297_600))  # 2026 .. 2027
    change_times = sorted(draw(st.sets(st.integers(1, HORIZON_DAYS * DAY), max_size=3)))
    transitions = [(refill_at + dt, offset_min + draw(st.sampled_from([-60, 60, 30])))
                   for dt in change_times]
    as_of = refill_at + draw(st.integers(0, HORIZON_DAYS * DAY - 1))
    max_days = draw(st.integers(1, 365))

    doc = {
        "schema": 1,
        "pump": {"model": "SynchroMed II", "reservoir_ml": reservoir,
                 "low_reservoir_alarm_ml": _number(low), "flow_tolerance_pct": _number(tolerance)},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": _number(concentration),
                 "max_days_in_reservoir": max_days},
        "refill": {"at": timecalc.format_iso(refill_at), "volume_ml": _number(volume)},
        "therapy": {"steps": [{"start": _hhmm(s), "mcg_per_day": _number(r)} for s, r in steps],
                    "boluses": [{"time": _hhmm(t), "mcg": _number(m)} for t, m in boluses]},
        "clock": {"utc_offset_min": offset_min,
                  "transitions": [{"at": timecalc.format_iso(at), "utc_offset_min": m}
                                  for at, m in transitions]},
    }
    extra = Fraction(0)
    if patient is not None:
        mcg = Fraction(patient[0], 1000)
        doc["therapy"]["patient_bolus"] = {"mcg": _number(mcg), "max_per_day": patient[1]}
        extra = mcg * patient[1]
    reference = Reference(steps=steps, boluses=boluses, extra_mcg_per_day=extra,
                          concentration=concentration, volume_ml=volume, tolerance_pct=tolerance,
                          offset_min=offset_min, transitions=transitions, refill_at=refill_at,
                          horizon_days=HORIZON_DAYS)
    return doc, reference, low, as_of, max_days


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prescriptions())
def test_forecast_matches_exact_rational_reference(case):
    doc, reference, low, as_of, max_days = case
    prescription, errors, _ = core_settings.check(doc, as_of, confirmed=("dose-range",))
    assert errors == []
    forecast = Forecast(prescription, as_of)
    expected = reference.forecast(low, as_of, max_days)
    horizon_end = prescription.refill_at + HORIZON_DAYS * DAY
    for key, want in expected.items():
        got = getattr(forecast, key)
        if want is None:  # beyond the reference's 400-day horizon
            assert got >= horizon_end, key
        else:
            assert got == want, key


def test_refill_due_is_the_earlier_of_low_reservoir_and_stability_limit():
    doc = minimal(drug={"name": "baclofen", "concentration_mcg_per_ml": 2000, "max_days_in_reservoir": 30},
                  pump={"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2,
                        "flow_tolerance_pct": 0})
    at = timecalc.parse_iso("2026-11-21T00:00:00Z")
    prescription, errors, _ = core_settings.check(doc, at)
    forecast = Forecast(prescription, at)
    assert forecast.refill_due_reason == "drug_stability"
    assert forecast.refill_due_at == timecalc.parse_iso("2026-12-20T10:30:00Z")
    # 36 mL... 18 mL to deliver at 0.2 mL/day = 90 days after the refill
    assert forecast.low_reservoir_at == timecalc.parse_iso("2027-02-18T10:30:00Z")
    doc["drug"]["max_days_in_reservoir"] = 180
    prescription, errors, _ = core_settings.check(doc, at)
    forecast = Forecast(prescription, at)
    assert forecast.refill_due_reason == "low_reservoir"
    assert forecast.refill_due_at == forecast.low_reservoir_at
