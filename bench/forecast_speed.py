"""Benchmark: a 24-step flex schedule forecast over ~180 days, MicroPython vs CPython.

Goal (issue 2): <= 20 ms per forecast under the MicroPython WebAssembly port.
"""

from __future__ import annotations

import json
import time

from pumpsync import micropython
from pumpwatch import settings as core_settings
from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

GOAL_MS = 20.0
REPEAT = 200


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


def run() -> dict:
    document = twenty_four_step_document()
    as_of = timecalc.parse_iso("2027-01-15T12:00:00Z")
    result = json.loads(micropython.run(_PROGRAM % (json.dumps(document), as_of, REPEAT, REPEAT)))
    prescription, errors, _ = core_settings.check(document, as_of)
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        Forecast(prescription, as_of)
        samples.append(time.perf_counter() - start)
    samples.sort()
    cpython_ms = samples[len(samples) // 2] * 1000
    mp_ms = result["forecast_ms"] / REPEAT
    print(f"forecast, 24 steps, {result['days']} days to empty, DST changes:")
    print(f"  MicroPython (wasm)   {mp_ms:8.2f} ms per forecast   (goal <= {GOAL_MS:.0f} ms: "
          f"{'met' if mp_ms <= GOAL_MS else 'MISSED'})")
    print(f"  MicroPython check+forecast {result['check_and_forecast_ms'] / REPEAT:8.2f} ms")
    print(f"  CPython              {cpython_ms:8.3f} ms per forecast   (MicroPython/CPython "
          f"{mp_ms / cpython_ms:.1f}x)")
    return {"forecast_ms_micropython": mp_ms, "forecast_ms_cpython": cpython_ms}
