"""Shared set-up for the review tests (mirrors tests/device/test_alarm_meaning.py)."""

from __future__ import annotations

import json

from pumpsync import scenario
from pumpsync.emulator import Emulator
from pumpwatch import readback, records, settings, sounds, timecalc
from pumpwatch.forecast import Forecast

from test_alarm_meaning import BASE, DAY, REFILL  # noqa: E402,F401  (one copy of the review's settings)


def copy(doc):
    return json.loads(json.dumps(doc))


def forecast_of(doc):
    p, errors, _ = settings.check(doc, None)
    assert errors == [], errors
    return Forecast(p, p.refill_at)


def local_s(forecast, utc):
    return (int(utc) + forecast.clock.offset_at(int(utc))) % DAY


def shifted(doc, which, local_hhmm):
    forecast = forecast_of(doc)
    target = timecalc.parse_hhmm(local_hhmm)
    shift = (target - local_s(forecast, getattr(forecast, which))) % DAY
    moved = copy(doc)
    moved["refill"]["at"] = timecalc.format_iso(forecast.prescription.refill_at + shift)
    return moved


def unit(tmp_path, doc, start=None, **options):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(doc))
    _, forecast = scenario.prepare_unit(tmp_path / "unit", path)
    if start is None:
        start = forecast.prescription.refill_at + 300
    return Emulator(state_dir=tmp_path / "unit", start_time=start, speed=0, **options), forecast


def live(emu, until, ack_after_s=30):
    patient = scenario.PatientLog()
    scenario.live_until(emu, until, patient, ack_after_s=ack_after_s)
    return patient


def log(emu):
    entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / "data")))
    return entries


def elsewhere_started(emu):
    return [e for e in log(emu) if e["e"] == "refilled_elsewhere"]


CHIRP_S = sounds.ELSEWHERE_CHIRP.length_ms / 1000
