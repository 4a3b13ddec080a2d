"""Review of the day window (issue 11): what the host's forecast --json says against what the
emulated unit sounds, and whether anything urgent is held back."""

from __future__ import annotations

import pytest

from helpers_review import BASE, DAY, copy, forecast_of, live, local_s, shifted, unit
from pumpwatch import timecalc
from sound_helpers import alarm_bursts

CASES = {
    # name: (which instant, local time, extra settings)
    "low_at_02_30": ("low_reservoir_at", "02:30", {}),
    "low_at_20_59": ("low_reservoir_at", "20:59", {}),
    "low_at_21_00": ("low_reservoir_at", "21:00", {}),
    "urgent_at_03_00": ("urgent_from", "03:00", {}),
    "urgent_at_day_end": ("urgent_from", "21:00", {}),
    "empty_at_day_end": ("empty_at", "21:00", {}),
    "far_east_offset": ("low_reservoir_at", "02:30", {"clock": {"utc_offset_min": 840}}),
    "far_west_offset": ("low_reservoir_at", "02:30", {"clock": {"utc_offset_min": -720}}),
    "late_window": ("low_reservoir_at", "10:00", {"alarms": {"day_start": "17:00", "day_end": "23:59"}}),
    "night_window": ("low_reservoir_at", "10:00", {"alarms": {"day_start": "00:00", "day_end": "06:00"}}),
}


def _doc(extra):
    doc = copy(BASE)
    doc.update(copy(extra))
    return doc


def _dst(doc, hours_after_low):
    """A clock change (+1 h) `hours_after_low` hours after low_reservoir_at."""
    f = forecast_of(doc)
    moved = copy(doc)
    moved["clock"] = {"utc_offset_min": 60, "transitions": [
        {"at": timecalc.format_iso(f.low_reservoir_at + hours_after_low * 3600), "utc_offset_min": 120}]}
    return moved


@pytest.mark.parametrize("name", sorted(CASES) + ["dst_at_night", "dst_in_window"])
def test_the_unit_first_sounds_each_condition_when_forecast_json_says(tmp_path, hardware_free, name):
    if name.startswith("dst"):
        doc = shifted(BASE, "low_reservoir_at", "02:30")
        doc = _dst(doc, 3 if name == "dst_at_night" else 8)
    else:
        which, hhmm, extra = CASES[name]
        doc = shifted(_doc(extra), which, hhmm)
    forecast = forecast_of(doc)
    listed = {a["condition"]: timecalc.parse_iso(a["sounds_at"]) for a in forecast.as_dict()["alarms"]}
    emu, forecast = unit(tmp_path, doc)
    with emu:
        live(emu, forecast.empty_at + 60, ack_after_s=30)
        heard = alarm_bursts(emu.buzzer_log())
    first_medium = min(t for t, n in heard if n in ("medium", "strong"))
    first_high = min(t for t, n in heard if n == "high")
    assert abs(first_medium - listed["low_reservoir"]) < 1.5, (
        timecalc.format_iso(int(first_medium)), timecalc.format_iso(listed["low_reservoir"]))
    assert abs(first_high - listed["empty"]) < 1.5
    # never held back past urgent_from, never at night before it
    assert listed["low_reservoir"] <= max(forecast.urgent_from, forecast.low_reservoir_at)
    for t, n in heard:
        if n in ("medium", "strong") and t < forecast.urgent_from:
            assert forecast.days.inside(int(t)), (name, timecalc.format_iso(int(t)))
