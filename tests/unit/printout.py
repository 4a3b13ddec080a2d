"""What the clinician programmer prints for a prescription, for tests that need a
correct "programmer" block: the alarm date to the minute, the dose to 0.1 mcg."""

from __future__ import annotations

import copy
import json

from pumpsync import settings_file
from pumpwatch import timecalc
from pumpwatch.forecast import Forecast


def with_printout(doc: dict) -> dict:
    """A copy of `doc` carrying the printout of its own (correct) programming."""
    doc = copy.deepcopy(doc)
    doc.pop("programmer", None)
    loaded = settings_file.parse(json.dumps(dict(doc, confirmed=list(doc.get("confirmed", [])) + ["no-printout"])),
                                 None)
    assert loaded.prescription is not None, loaded.errors
    forecast = Forecast(loaded.prescription, loaded.prescription.refill_at)
    assert forecast.low_reservoir_at_nominal is not None
    num, den = forecast.program_ng_per_day
    doc["programmer"] = {"low_reservoir_alarm_at": timecalc.format_iso(forecast.low_reservoir_at_nominal // 60 * 60),
                         "daily_dose_mcg": round(num / den / 1000, 1)}
    return doc
