"""`pumpsync forecast --json` keeps its contract for every example prescription."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pumpsync.cli import main
from pumpwatch import timecalc

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))
AS_OF = "2026-11-22T12:00:00Z"
TIME_KEYS = ["as_of", "low_reservoir_at", "low_reservoir_at_nominal", "empty_at", "empty_at_nominal",
             "stability_limit_at", "refill_due_at"]


def _forecast(capsys, path, *extra):
    assert main(["forecast", str(path), "--at", AS_OF, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _is_utc_iso(text):
    return isinstance(text, str) and text.endswith("Z") and timecalc.parse_iso(text) is not None \
        and timecalc.format_iso(timecalc.parse_iso(text)) == text


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_forecast_json_matches_the_contract(capsys, path):
    settings = json.loads(path.read_text())
    result = _forecast(capsys, path)
    for key in TIME_KEYS:
        assert _is_utc_iso(result[key]), key
    assert result["as_of"] == AS_OF
    assert isinstance(result["volume_ml"], float) and isinstance(result["volume_ml_nominal"], float)
    assert 0 <= result["volume_ml"] <= result["volume_ml_nominal"] <= settings["refill"]["volume_ml"]
    # conservative figures come no later than nominal ones
    assert result["low_reservoir_at"] <= result["low_reservoir_at_nominal"]
    assert result["empty_at"] <= result["empty_at_nominal"]
    assert result["low_reservoir_at"] <= result["empty_at"]
    refill_at = timecalc.parse_iso(settings["refill"]["at"])
    limit = refill_at + settings["drug"]["max_days_in_reservoir"] * 86400
    assert result["stability_limit_at"] == timecalc.format_iso(limit)
    due = min(result["low_reservoir_at"], result["stability_limit_at"])
    assert result["refill_due_at"] == due
    assert result["refill_due_reason"] == ("low_reservoir" if due == result["low_reservoir_at"]
                                           else "drug_stability")
    # the clinic refills a margin (default 3 days) before the pump's alarm, or at the stability limit
    margin = settings["refill"].get("clinic_margin_days", 3) * 86400
    alarm = timecalc.parse_iso(result["low_reservoir_at"])
    if result["warning_at"] is not None:  # a higher warning volume sounds first
        alarm = min(alarm, timecalc.parse_iso(result["warning_at"]))
    clinical = min(alarm - margin, limit)
    assert result["clinical_due_at"] == timecalc.format_iso(clinical)
    appointment = settings["refill"].get("next_appointment")
    if appointment is None:
        assert result["appointment_after_due"] is None and result["appointment_reminder_at"] is None
    else:
        assert result["appointment_after_due"] == (timecalc.parse_iso(appointment) > clinical)
        reminder = result["appointment_reminder_at"]  # none once an alarm has started before it
        assert reminder is None or timecalc.parse_iso(reminder) < timecalc.parse_iso(appointment)
    program = result["program_daily_mcg"]
    assert isinstance(program, (int, float)) and program <= result["average_mcg_per_day"]
    assert set(result["programmer_check"]) == {"ok", "ours", "printed", "diff"}
    assert isinstance(result["average_mcg_per_day"], (int, float))
    assert isinstance(result["warnings"], list)
    for reminder in result["reminders"]:
        assert _is_utc_iso(reminder["at"]) and isinstance(reminder["days_before"], int)
        assert timecalc.parse_iso(reminder["at"]) > refill_at


def test_reminders_fall_at_local_time_days_before_the_due_date_across_dst(capsys):
    """Europe/Berlin: the clinical due date is in winter, a reminder check uses zoneinfo independently."""
    path = Path(__file__).resolve().parents[2] / "examples" / "flex-night-boost.json"
    result = _forecast(capsys, path)
    zone = ZoneInfo("Europe/Berlin")
    due_local = datetime.fromisoformat(result["clinical_due_at"].replace("Z", "+00:00")).astimezone(zone)
    expected = []
    for days in (14, 7, 3, 1):
        local = datetime.combine(due_local.date() - timedelta(days=days), datetime.min.time(), zone)
        local = local.replace(hour=10)
        expected.append({"at": timecalc.format_iso(int(local.timestamp())), "days_before": days})
    assert result["reminders"] == expected


def test_simple_continuous_example_by_hand(capsys):
    """20 mL of 2000 mcg/mL at 400 mcg/day +3 %: 36 000 mcg to the 2 mL alarm take 87.378... days."""
    path = Path(__file__).resolve().parents[2] / "examples" / "simple-continuous.json"
    result = _forecast(capsys, path)
    refill = timecalc.parse_iso("2026-11-20T10:30:00Z")
    # seconds = 36000 mcg / (412 mcg/day) * 86400, rounded up to the whole second
    assert result["low_reservoir_at"] == timecalc.format_iso(refill - (-36000 * 86400 // 412))
    assert result["low_reservoir_at_nominal"] == timecalc.format_iso(refill + 36000 * 86400 // 400)
    assert result["empty_at_nominal"] == timecalc.format_iso(refill + 100 * 86400)
    assert result["average_mcg_per_day"] == 400
    # reminders count back from the clinical due date: 3 days before the pump's alarm (2027-02-15)
    assert result["clinical_due_at"] == timecalc.format_iso(timecalc.parse_iso(result["low_reservoir_at"]) - 3 * 86400)
    assert result["reminders"][0] == {"at": "2027-01-29T09:00:00Z", "days_before": 14}


def test_human_summary_names_the_due_date(capsys):
    path = Path(__file__).resolve().parents[2] / "examples" / "simple-continuous.json"
    assert main(["forecast", str(path), "--at", AS_OF]) == 0
    out = capsys.readouterr().out
    assert "REFILL DUE" in out and "2027-02-15" in out


def test_every_command_has_help(capsys):
    for argv in (["--help"], ["forecast", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out
