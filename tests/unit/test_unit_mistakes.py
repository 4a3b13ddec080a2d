"""Unit-of-measure mistakes a nurse can make typing a prescription, each caught
by the cross-check against the clinician programmer's printout.

Each row starts from a correct file whose "programmer" block is what the
programmer printed after programming the pump; the mistake is made in the
file only (the printout is right).  A dose range cannot catch most of these
(16.667 for 400 mcg/day is a plausible child's dose); the printed alarm date
and daily dose catch a mistake of any size, naming the field.
"""

from __future__ import annotations

import copy
import json

import pytest

from pumpsync import settings_file
from pumpsync.cli import main
from pumpwatch import timecalc


from printout import with_printout

AS_OF = timecalc.parse_iso("2026-11-21T12:00:00Z")
WEEKDAY_300_WEEKEND_600 = {"mon": [{"start": "00:00", "mcg_per_day": 300}], "tue": {"same_as": "mon"},
                           "wed": {"same_as": "mon"}, "thu": {"same_as": "mon"}, "fri": {"same_as": "mon"},
                           "sat": [{"start": "00:00", "mcg_per_day": 600}], "sun": {"same_as": "sat"}}


def _base(therapy, concentration=2000, volume=20):
    return {
        "schema": 2,
        "patient": {"label": "test patient", "spasticity_origin": "spinal", "age_years": 40},
        "pump": {"model": "SynchroMed II", "reservoir_ml": 20},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": concentration, "max_days_in_reservoir": 180},
        "refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": volume},
        "therapy": therapy,
        "clock": {"utc_offset_min": 60},
    }


def _with_printout(doc):
    """The file as it should be, with what the programmer printed for it."""
    printed = with_printout(doc)
    assert settings_file.parse(json.dumps(printed), AS_OF).errors == []
    return printed


def _steps(rate):
    return {"steps": [{"start": "00:00", "mcg_per_day": rate}]}


FLEX = {"steps": [{"start": "00:00", "mcg_per_day": 450}, {"start": "22:00", "mcg_per_day": 540}],
        "boluses": [{"time": "08:00", "mcg": 40}]}
PERIODIC = {"steps": [{"start": "00:00", "mcg_per_day": 300}],
            "periodic_boluses": [{"mcg": 50, "every_h": 8, "first": "2026-11-20T12:00:00Z"}]}


def _set(path, value):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


# (the mistake, the correct file, how the file was mistyped)
MISTAKES = [
    ("100 mcg/day typed as mcg/hour (4.167)", _base(_steps(100)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 4.167)),
    ("250 mcg/day typed as mcg/hour (10.417)", _base(_steps(250)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 10.417)),
    ("400 mcg/day typed as mcg/hour (16.667)", _base(_steps(400)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 16.667)),
    ("600 mcg/day typed as mcg/hour (25)", _base(_steps(600)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 25)),
    ("800 mcg/day typed as mcg/hour (33.333)", _base(_steps(800)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 33.333)),
    ("1000 mcg/day typed as mcg/hour (41.667)", _base(_steps(1000)),
     _set(("therapy", "steps", 0, "mcg_per_day"), 41.667)),
    ("a night flex step typed as mcg/hour (22.5)", _base(FLEX),
     _set(("therapy", "steps", 1, "mcg_per_day"), 22.5)),
    ("a 40 mcg bolus typed in mg (0.04)", _base(FLEX), _set(("therapy", "boluses", 0, "mcg"), 0.04)),
    ("a 40 mcg bolus with an extra zero (400)", _base(FLEX), _set(("therapy", "boluses", 0, "mcg"), 400)),
    ("a 50 mcg periodic bolus typed in mg (0.05)", _base(PERIODIC),
     _set(("therapy", "periodic_boluses", 0, "mcg"), 0.05)),
    ("every 8 h typed as every 24 h", _base(PERIODIC), _set(("therapy", "periodic_boluses", 0, "every_h"), 24)),
    ("20 mL refill typed in microlitres as 0.02", _base(_steps(400)), _set(("refill", "volume_ml"), 0.02)),
    ("18 mL refill typed as 1.8", _base(_steps(400), volume=18), _set(("refill", "volume_ml"), 1.8)),
    ("2000 mcg/mL vial typed as 500", _base(_steps(400)), _set(("drug", "concentration_mcg_per_ml"), 500)),
    ("500 mcg/mL vial typed as 2000", _base(_steps(400), concentration=500),
     _set(("drug", "concentration_mcg_per_ml"), 2000)),
    ("weekday and weekend programs swapped", _base({"week": WEEKDAY_300_WEEKEND_600}),
     _set(("therapy", "week"), {**WEEKDAY_300_WEEKEND_600, "mon": [{"start": "00:00", "mcg_per_day": 600}],
                                "sat": [{"start": "00:00", "mcg_per_day": 300}]})),
    ("the weekend dose typed as mcg/hour (25)", _base({"week": WEEKDAY_300_WEEKEND_600}),
     _set(("therapy", "week", "sat"), [{"start": "00:00", "mcg_per_day": 25}])),
]


@pytest.mark.parametrize("name,correct,mistype", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_unit_mistake_is_refused_by_the_programmer_cross_check(name, correct, mistype):
    printed = _with_printout(correct)
    assert settings_file.parse(json.dumps(printed), AS_OF).errors == []  # the right file agrees with its printout
    wrong = copy.deepcopy(printed)
    mistype(wrong)
    loaded = settings_file.parse(json.dumps(wrong), AS_OF)
    assert loaded.prescription is None
    crosscheck = [e for e in loaded.errors if e.startswith("programmer.")]
    assert crosscheck, loaded.errors
    # both values side by side, so the nurse sees which is which
    assert "the programmer printed" in crosscheck[0] and "PumpWatch computes" in crosscheck[0]


def test_there_are_at_least_fifteen_mistakes():
    assert len(MISTAKES) >= 15


def test_a_confirmed_mismatch_is_accepted_and_the_cli_names_the_field(tmp_path, capsys):
    wrong = _with_printout(_base(_steps(400)))
    wrong["therapy"]["steps"][0]["mcg_per_day"] = 16.667
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(wrong))
    assert main(["forecast", str(path), "--at", "2026-11-21T12:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert "programmer.low_reservoir_alarm_at: the programmer printed" in err
    assert "programmer.daily_dose_mcg: the programmer printed 400 mcg/day, PumpWatch computes 16.667" in err
    assert main(["forecast", str(path), "--at", "2026-11-21T12:00:00Z", "--json",
                 "--confirm", "programmer-mismatch"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["programmer_check"]["ok"] is False
