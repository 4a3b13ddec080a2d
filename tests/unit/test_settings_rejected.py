"""Every invalid settings file is refused with exit code 2, naming the field."""

from __future__ import annotations

import copy
import json

import pytest

from pumpsync.cli import main

AS_OF = "2026-11-22T12:00:00Z"

GOOD = {
    "schema": 1,
    "pump": {"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2.0,
             "flow_tolerance_pct": 3},
    "drug": {"name": "baclofen", "concentration_mcg_per_ml": 2000, "max_days_in_reservoir": 180},
    "refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": 20.0,
               "next_appointment": "2027-02-10T09:00:00Z"},
    "therapy": {"steps": [{"start": "00:00", "mcg_per_day": 400},
                          {"start": "21:00", "mcg_per_day": 480}],
                "boluses": [{"time": "07:00", "mcg": 50}],
                "patient_bolus": {"mcg": 25, "max_per_day": 4}},
    "clock": {"utc_offset_min": 60},
    "reminders": {"days_before": [14, 7, 3, 1], "at_local": "10:00"},
}


def _set(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    if value is _DELETE:
        del doc[last]
    else:
        doc[last] = value


_DELETE = object()

# (what is wrong, where in the file, the value put there, the line expected on stderr)
BAD_INPUT = [
    ("missing required section", ("drug",), _DELETE, "drug: missing"),
    ("missing required field", ("pump", "reservoir_ml"), _DELETE, "pump.reservoir_ml: missing"),
    ("unknown field (a typo)", ("drug", "concentraton"), 2000, "drug.concentraton: unknown field"),
    ("wrong type", ("pump", "reservoir_ml"), "20", 'pump.reservoir_ml: must be a number, not "20"'),
    ("boolean for a number", ("refill", "volume_ml"), True, "refill.volume_ml: must be a number"),
    ("zero concentration", ("drug", "concentration_mcg_per_ml"), 0,
     "drug.concentration_mcg_per_ml: must be greater than 0"),
    ("negative concentration", ("drug", "concentration_mcg_per_ml"), -500,
     "drug.concentration_mcg_per_ml: must be greater than 0"),
    ("zero volume", ("refill", "volume_ml"), 0, "refill.volume_ml: must be greater than 0"),
    ("zero rate", ("therapy", "steps", 0, "mcg_per_day"), 0,
     "therapy.steps[0].mcg_per_day: must be greater than 0"),
    ("negative bolus", ("therapy", "boluses", 0, "mcg"), -5, "therapy.boluses[0].mcg: must be greater than 0"),
    ("volume above reservoir", ("refill", "volume_ml"), 21.5,
     "refill.volume_ml: 21.5 mL is more than the 20 mL reservoir holds"),
    ("alarm volume not below reservoir", ("pump", "low_reservoir_alarm_ml"), 20,
     "pump.low_reservoir_alarm_ml: must be less than pump.reservoir_ml"),
    ("unsorted step starts", ("therapy", "steps", 1, "start"), "-", None),  # filled below
    ("duplicate step starts", ("therapy", "steps", 1, "start"), "00:00",
     'therapy.steps[1].start: "00:00" must be later than the step before it'),
    ("bad time of day", ("therapy", "steps", 1, "start"), "25:00", 'therapy.steps[1].start: "25:00" is not HH:MM'),
    ("bad bolus time", ("therapy", "boluses", 0, "time"), "7am", 'therapy.boluses[0].time: "7am" is not HH:MM'),
    ("bad date", ("refill", "at"), "2026-02-30T10:00:00Z", 'refill.at: "2026-02-30T10:00:00Z" is not an ISO 8601'),
    ("time without zone", ("refill", "at"), "2026-11-20T10:30:00", 'refill.at: "2026-11-20T10:30:00" is not an ISO'),
    ("refill after the forecast time", ("refill", "at"), "2026-12-01T10:30:00Z",
     "refill.at: 2026-12-01T10:30:00Z is later than the time of the forecast"),
    ("unknown schema version", ("schema",), 3, "schema: unsupported version 3"),
    ("no steps", ("therapy", "steps"), [], "therapy.steps: needs at least one step"),
    ("too many steps", ("therapy", "steps"), [{"start": "%02d:00" % h, "mcg_per_day": 400} for h in range(24)]
     + [{"start": "23:30", "mcg_per_day": 400}], "therapy.steps: at most 24 entries (got 25)"),
    ("bad offset", ("clock", "utc_offset_min"), 1000, "clock.utc_offset_min: must be between -720 and 840"),
    ("unknown time zone", ("clock",), {"tz": "Mars/Olympus"}, 'clock.tz: "Mars/Olympus" is not a known IANA'),
    ("dose far too high (mcg/hour typed as mcg/day)", ("therapy", "steps", 0, "mcg_per_day"), 9600,
     "therapy: average daily dose 8610 mcg/day is outside the observed 12-2003 mcg/day range (schema 1, no "
     "spasticity origin given)"),
    ("dose far too low", ("therapy",), {"steps": [{"start": "00:00", "mcg_per_day": 8}]},
     "therapy: average daily dose 8 mcg/day is outside the observed 12-2003 mcg/day range"),
    ("appointment before refill", ("refill", "next_appointment"), "2026-11-01T10:00:00Z",
     "refill.next_appointment: must be after refill.at"),
    ("not an object", ("pump",), [1, 2], "pump: must be an object, not a list"),
    ("clinic phone in words", ("clinic",), {"phone": "ring the ward"},
     'clinic.phone: "ring the ward" is not a phone number'),
    ("clinic phone a number", ("clinic",), {"phone": 4930123456}, "clinic.phone: must be non-empty text"),
    ("clinic phone too short", ("clinic",), {"phone": "+4"}, 'clinic.phone: "+4" is not a phone number'),
    ("clinic unknown field (a typo)", ("clinic",), {"phnoe": "+49 30 1234"}, "clinic.phnoe: unknown field"),
    ("clinic name with a line break", ("clinic",), {"name": "ITB\nclinic"},
     "clinic.name: at most 64 characters, no control characters"),
    ("clinic not an object", ("clinic",), "+49 30 1234", 'clinic: must be an object, not "+49 30 1234"'),
]


def _forecast(tmp_path, doc, *options):
    """`pumpsync forecast` of `doc` as of AS_OF: its exit code (output in capsys)."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(doc))
    return main(["forecast", str(settings), "--at", AS_OF, *options])


def _case(name, path, value, expected):
    doc = copy.deepcopy(GOOD)
    if name == "unsorted step starts":
        doc["therapy"]["steps"] = [{"start": "21:00", "mcg_per_day": 480}, {"start": "06:00", "mcg_per_day": 400}]
        return doc, 'therapy.steps[1].start: "06:00" must be later than the step before it'
    _set(doc, path, value)
    return doc, expected


@pytest.mark.parametrize("name,path,value,expected", BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_settings_are_refused_naming_the_field(tmp_path, capsys, name, path, value, expected):
    doc, expected = _case(name, path, value, expected)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(doc))
    code = main(["forecast", str(settings), "--at", AS_OF, "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert any(line.startswith(expected) for line in err.splitlines()), err
    assert "Traceback" not in err


def test_a_clinic_block_is_optional_and_kept_for_the_hand_outs():
    from pumpsync import settings_file

    doc = copy.deepcopy(GOOD)
    doc["clinic"] = {"name": "ITB clinic, ward 4", "phone": "+49 (30) 1234-5678"}
    loaded = settings_file.parse(json.dumps(doc), None)
    assert loaded.errors == []
    assert (loaded.prescription.clinic_name, loaded.prescription.clinic_phone) == ("ITB clinic, ward 4",
                                                                                    "+49 (30) 1234-5678")
    assert settings_file.parse(json.dumps(GOOD), None).prescription.clinic_phone is None


def test_every_problem_is_reported_not_just_the_first(tmp_path, capsys):
    doc = copy.deepcopy(GOOD)
    doc["pump"]["reservoir_ml"] = "twenty"
    doc["therapy"]["steps"][1]["start"] = "25:00"
    doc["drug"]["concentration_mcg_per_ml"] = 0
    assert _forecast(tmp_path, doc) == 2
    err = capsys.readouterr().err
    for field in ("pump.reservoir_ml", "therapy.steps[1].start", "drug.concentration_mcg_per_ml"):
        assert field in err


def test_a_confirmed_dose_outside_the_range_is_accepted(tmp_path, capsys):
    doc = copy.deepcopy(GOOD)
    doc["therapy"] = {"steps": [{"start": "00:00", "mcg_per_day": 8}]}
    assert _forecast(tmp_path, doc, "--json", "--confirm", "dose-range") == 0
    assert json.loads(capsys.readouterr().out)["average_mcg_per_day"] == 8


@pytest.mark.parametrize("content,expected", [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "settings: must be an object"),
])
def test_unreadable_files_are_refused(tmp_path, capsys, content, expected):
    settings = tmp_path / "settings.json"
    settings.write_text(content)
    assert main(["forecast", str(settings), "--at", AS_OF]) == 2
    assert expected in capsys.readouterr().err


def test_missing_file_is_refused(tmp_path, capsys):
    assert main(["forecast", str(tmp_path / "nope.json"), "--at", AS_OF]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bad_at_argument_is_refused(capsys):
    assert main(["forecast", "examples/simple-continuous.json", "--at", "yesterday"]) == 2
    assert '--at: "yesterday" is not an ISO 8601 time' in capsys.readouterr().err


@pytest.mark.parametrize("field,value,warning", [
    (("drug", "concentration_mcg_per_ml"), 1000, "drug.concentration_mcg_per_ml: 1000 mcg/mL is not a commercial"),
    (("therapy", "steps", 0, "mcg_per_day"), 1200, "therapy: average daily dose"),
])
def test_unusual_but_plausible_values_warn(tmp_path, capsys, field, value, warning):
    doc = copy.deepcopy(GOOD)
    _set(doc, field, value)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(doc))
    assert main(["forecast", str(settings), "--at", AS_OF, "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any(w.startswith(warning) for w in warnings), warnings


@pytest.mark.parametrize("origin,age,dose,expected", [
    (None, None, 1500, "outside the observed 22-1400 mcg/day range (no spasticity origin given: the stricter limits)"),
    ("spinal", None, 1500, None),
    ("cerebral", None, 1500, "outside the observed 22-1400 mcg/day range (cerebral origin)"),
    ("spinal", 8, 1300, "outside the observed 24-1199 mcg/day range (spinal origin, under 12)"),
    (None, None, 15, "outside the observed 22-1400 mcg/day range"),
])
def test_schema_2_dose_ranges_follow_origin_and_age(tmp_path, capsys, origin, age, dose, expected):
    doc = copy.deepcopy(GOOD)
    doc["schema"] = 2
    doc["therapy"] = {"steps": [{"start": "00:00", "mcg_per_day": dose}]}
    doc["confirmed"] = ["no-printout"]
    doc["patient"] = {k: v for k, v in (("spasticity_origin", origin), ("age_years", age)) if v is not None}
    code = _forecast(tmp_path, doc)
    err = capsys.readouterr().err
    assert (code == 0) == (expected is None), err
    if expected:
        assert expected in err


def test_a_schema_1_file_outside_the_stricter_range_stays_valid_with_a_warning(tmp_path, capsys):
    doc = copy.deepcopy(GOOD)
    doc["therapy"] = {"steps": [{"start": "00:00", "mcg_per_day": 1500}]}
    assert _forecast(tmp_path, doc) == 0
    assert "give patient.spasticity_origin" in capsys.readouterr().out
