"""Benchmark: forecasts of the heaviest programs, MicroPython vs CPython.

Two programs: a 24-step flex schedule over ~180 days (schema 1), and the
worst schema-2 program (a different 13-step day for every weekday, 8
periodic boluses, 32 dated events with stops and minimum-rate spells, a
patient bolus with lockout, DST changes).  Goal (issues 2 and 10): <= 20 ms
per forecast under the MicroPython WebAssembly port.
"""

from __future__ import annotations

import json
import time

from pumpsync import micropython
from pumpwatch import settings as core_settings
from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

GOAL_MS = 20.0
REPEAT = 50


def twenty_four_step_document() -> dict:
    """A 24-step schedule with DST changes whose reservoir lasts about 180 days."""
    steps = [{"start": "%02d:00" % hour, "mcg_per_day": 200 + (hour * 7) % 40} for hour in range(24)]
    return {
        "schema": 1,
        "pump": {"model": "SynchroMed II", "reservoir_ml": 40, "low_reservoir_alarm_ml": 2.0,
                 "flow_tolerance_pct": 3},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": 1000, "max_days_in_reservoir": 365},
        "refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": 40.0},
        "therapy": {"steps": steps, "boluses": [{"time": "07:00", "mcg": 10}]},
        "clock": {"utc_offset_min": 60, "transitions": [
            {"at": "2027-03-28T01:00:00Z", "utc_offset_min": 120},
            {"at": "2027-10-31T01:00:00Z", "utc_offset_min": 60}]},
    }


def worst_schema_2_document() -> dict:
    """Every schema-2 form at its maximum: the slowest forecast a valid file can ask for."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    week = {day: [{"start": "%02d:%02d" % (h, 10 * d % 60), "mcg_per_day": 250 + 13 * h + 7 * d}
                  for h in range(0, 24, 2)][:13] + [{"start": "23:%02d" % (40 + d), "mcg_per_day": 300}]
            for d, day in enumerate(days)}
    week = {day: steps[:13] for day, steps in week.items()}
    events, t = [], 1795170600 + 3600
    for i in range(8):  # 4 cycles of stop, resume, minimum rate, resume; boluses between
        for kind in ("stop", "resume", "minimum_rate", "resume"):
            if len(events) < 32:
                events.append({"at": timecalc.format_iso(t), kind: True})
            t += 3 * 3600
        if len(events) < 32:
            events.append({"at": timecalc.format_iso(t), "bolus_mcg": 25})
        t += 86400
    return {
        "schema": 2,
        "patient": {"spasticity_origin": "spinal"},
        "pump": {"model": "SynchroMed II", "reservoir_ml": 40, "low_reservoir_alarm_ml": 2.0,
                 "flow_tolerance_pct": 3, "minimum_rate_mcg_per_day": 48, "warning_ml": 4},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": 2000, "max_days_in_reservoir": 180},
        "refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": 40.0},
        "therapy": {"week": week,
                    "boluses": [{"time": "07:00", "mcg": 10}, {"time": "19:00", "mcg": 10}],
                    "periodic_boluses": [{"mcg": 5 + i, "every_h": 5 + 3 * i, "first": "2026-11-20T12:00:00Z"}
                                         for i in range(8)],
                    "events": events[:32],
                    "patient_bolus": {"mcg": 20, "max_per_day": 6, "lockout_min": 180}},
        "clock": {"utc_offset_min": 60, "transitions": [
            {"at": "2027-03-28T01:00:00Z", "utc_offset_min": 120},
            {"at": "2027-10-31T01:00:00Z", "utc_offset_min": 60}]},
        "confirmed": ["no-printout"],
    }


_PROGRAM = """
import json, time
from pumpwatch import settings
from pumpwatch.forecast import Forecast
document = json.loads(%r)
as_of = %d
prescription, errors, warnings = settings.check(document, as_of)
assert not errors, errors
forecast = Forecast(prescription, as_of)
days = (forecast.empty_at - prescription.refill_at) // 86400
# ticks_us has millisecond granularity in the wasm port: time a batch.
start = time.ticks_ms()
for _ in range(%d):
    Forecast(prescription, as_of)
forecast_ms = time.ticks_diff(time.ticks_ms(), start)
start = time.ticks_ms()
for _ in range(%d):
    p, e, w = settings.check(document, as_of)
    Forecast(p, as_of)
full_ms = time.ticks_diff(time.ticks_ms(), start)
print(json.dumps({"days": days, "forecast_ms": forecast_ms, "check_and_forecast_ms": full_ms}))
"""


def _measure(name, document, as_of) -> tuple[float, float]:
    result = json.loads(micropython.run(_PROGRAM % (json.dumps(document), as_of, REPEAT, REPEAT)))
    prescription, errors, _ = core_settings.check(document, as_of)
    assert not errors, errors
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        Forecast(prescription, as_of)
        samples.append(time.perf_counter() - start)
    samples.sort()
    cpython_ms = samples[len(samples) // 2] * 1000
    mp_ms = result["forecast_ms"] / REPEAT
    print(f"forecast, {name}, {result['days']} days to empty:")
    print(f"  MicroPython (wasm)   {mp_ms:8.2f} ms per forecast   (goal <= {GOAL_MS:.0f} ms: "
          f"{'met' if mp_ms <= GOAL_MS else 'MISSED'})")
    print(f"  MicroPython check+forecast {result['check_and_forecast_ms'] / REPEAT:8.2f} ms")
    print(f"  CPython              {cpython_ms:8.3f} ms per forecast   (MicroPython/CPython "
          f"{mp_ms / cpython_ms:.1f}x)")
    return mp_ms, cpython_ms


def run() -> dict:
    as_of = timecalc.parse_iso("2027-01-15T12:00:00Z")
    mp_ms, cpython_ms = _measure("24 steps, DST changes (schema 1)", twenty_four_step_document(), as_of)
    worst_mp, worst_cpython = _measure("worst schema 2 (weekly 13 steps, 8 periodic, 32 events, lockout, DST)",
                                       worst_schema_2_document(), as_of)
    return {"forecast_ms_micropython": mp_ms, "forecast_ms_cpython": cpython_ms,
            "worst_v2_ms_micropython": worst_mp, "worst_v2_ms_cpython": worst_cpython}
