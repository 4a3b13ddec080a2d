"""The unit runs schema-2 settings: synced by pumpsync, it sounds every reminder,
the appointment reminder and each alarm at the instant `pumpsync forecast --json`
lists (one core function decides both).

The prescription uses every new form at once, on a short cycle: a weekday and a
weekend flex program, periodic boluses, a bridge bolus and a pump stop of a few
hours (dated events), a patient bolus with lockout, a higher warning volume for a
high-risk patient, the clinic's margin, a booked appointment, and the printout
of the clinician programmer (computed here as the programmer would print it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pumpsync import scenario
from pumpwatch import sounds, timecalc
from pumpwatch.conditions import PRIORITY, kind_of

from printout import with_printout
from sound_helpers import pattern_for, sound_starts

REFILL = "2026-11-20T10:30:00Z"


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time)")


def _document() -> dict:
    weekday = [{"start": "00:00", "mcg_per_day": 380}, {"start": "21:00", "mcg_per_day": 460}]
    return {
        "schema": 2,
        "patient": {"label": "schema-2 test", "spasticity_origin": "spinal", "age_years": 35,
                    "high_withdrawal_risk": True},
        "pump": {"model": "SynchroMed II", "reservoir_ml": 20, "warning_ml": 3, "flow_tolerance_pct": 3},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": 500, "max_days_in_reservoir": 90},
        "refill": {"at": REFILL, "volume_ml": 9, "next_appointment": "2026-11-25T13:00:00Z",
                   "clinic_margin_days": 1},
        "therapy": {
            "week": {"mon": weekday, "tue": {"same_as": "mon"}, "wed": {"same_as": "mon"},
                     "thu": {"same_as": "mon"}, "fri": {"same_as": "mon"},
                     "sat": [{"start": "00:00", "mcg_per_day": 420}], "sun": {"same_as": "sat"}},
            "periodic_boluses": [{"mcg": 15, "every_h": 6, "first": "2026-11-20T12:00:00Z"}],
            "events": [{"at": "2026-11-20T11:30:00Z", "bolus_mcg": 30},
                       {"at": "2026-11-21T14:00:00Z", "stop": True},
                       {"at": "2026-11-21T18:00:00Z", "resume": True}],
            "patient_bolus": {"mcg": 10, "max_per_day": 6, "lockout_min": 300}},
        "clock": {"utc_offset_min": 60},
        "reminders": {"days_before": [3, 1], "at_local": "10:00", "quiet_hours": {"start": "21:00", "end": "08:00"}},
    }


def _with_printout(doc: dict, tmp_path: Path) -> Path:
    path = tmp_path / "schema2.json"
    path.write_text(json.dumps(with_printout(doc), indent=1))
    return path


def test_a_synced_schema_2_unit_sounds_at_the_instants_forecast_json_lists(tmp_path):
    path = _with_printout(_document(), tmp_path)
    listed = json.loads(subprocess.run(
        [sys.executable, "-m", "pumpsync", "forecast", str(path), "--json", "--at", "2026-11-20T10:35:00Z"],
        capture_output=True, text=True, check=True).stdout)
    assert listed["programmer_check"]["ok"] is True
    expected = [(timecalc.parse_iso(r["at"]), "reminder:%d" % r["days_before"]) for r in listed["reminders"]]
    expected.append((timecalc.parse_iso(listed["appointment_reminder_at"]), "reminder:appointment"))
    sounds_at = {a["condition"]: timecalc.parse_iso(a["sounds_at"]) for a in listed["alarms"]}
    assert {a["condition"]: a["starts_at"] for a in listed["alarms"]}["low_reservoir"] == listed["warning_at"]
    expected.append((sounds_at["low_reservoir"], "low_reservoir"))  # the higher warning volume, in the day
    expected.append((timecalc.parse_iso(listed["empty_at"]), "empty"))
    started = {"low_reservoir": timecalc.parse_iso(listed["warning_at"])}
    assert len(listed["reminders"]) >= 2  # high risk adds 21 and 28 days, before the refill: not listed

    result = scenario.run_cycle(tmp_path / "unit", path, ack_after_s=30, via_pumpsync=True)
    heard = sound_starts(result.buzzer)
    for at, cid in expected:
        assert at <= result.ended
        onset = [t for t in heard if abs(t - at) <= 1]
        assert onset, f"{cid} did not sound at {timecalc.format_iso(at)}"
        pattern = pattern_for(cid)
        played = [hz for t, hz in result.buzzer if onset[0] * 1000 <= t <= onset[0] * 1000 + pattern.length_ms]
        assert set(hz for hz, _ in pattern.segments if hz) <= set(played), cid
    raised = [(e["t"], e["c"]) for e in result.log if e["e"] == "raised"]
    for at, cid in expected:
        # two reminders due at one instant sound once, and the log names one of them
        same_instant = [c for t, c in raised if t == started.get(cid, at) and kind_of(c) == kind_of(cid)]
        assert cid in same_instant or (kind_of(cid) == "reminder" and same_instant), \
            (timecalc.format_iso(at), cid, raised)
    settings_events = [e for e in result.log if e["e"] == "settings"]
    assert settings_events and "confirmed" not in settings_events[-1]  # the printout agreed: nothing overridden
