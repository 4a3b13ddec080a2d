"""The core runs unchanged under real MicroPython and gives CPython's answers bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpsync import micropython, settings_file
from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

pytestmark = pytest.mark.micropython

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))
AS_OF = timecalc.parse_iso("2026-12-01T08:00:00Z")

_PROGRAM = """
import json, sys
from pumpwatch import settings
from pumpwatch.forecast import Forecast
documents = json.loads(%r)
answers = {"implementation": sys.implementation.name}
for name in documents:
    prescription, errors, warnings = settings.check(documents[name], %d)
    answers[name] = {"errors": errors, "warnings": warnings,
                     "exact": Forecast(prescription, %d).exact() if prescription else None}
print(json.dumps(answers))
"""


def test_forecasts_of_all_examples_are_identical_under_micropython():
    documents, expected = {}, {}
    for path in EXAMPLES:
        loaded = settings_file.load(path, AS_OF)  # the host resolves clock.tz first
        assert loaded.errors == []
        documents[path.stem] = loaded.document
        expected[path.stem] = {"errors": [], "warnings": loaded.warnings,
                               "exact": Forecast(loaded.prescription, AS_OF).exact()}
    program = _PROGRAM % (json.dumps(documents), AS_OF, AS_OF)
    answers = json.loads(micropython.run(program))
    assert answers.pop("implementation") == "micropython"
    assert answers == json.loads(json.dumps(expected))


def test_bad_settings_get_the_same_errors_under_micropython():
    document = json.loads(EXAMPLES[0].read_text())
    document["clock"] = {"utc_offset_min": 60}
    document["pump"]["reservoir_ml"] = "20"
    document["therapy"]["steps"][0]["start"] = "25:00"
    document["refill"]["at"] = "2026-02-30T10:00:00Z"
    loaded = settings_file.parse(json.dumps(document), AS_OF)
    answers = json.loads(micropython.run(_PROGRAM % (json.dumps({"bad": document}), AS_OF, AS_OF)))
    assert answers["bad"]["errors"] == loaded.errors
    assert len(loaded.errors) >= 3


def test_the_clinic_block_is_checked_the_same_under_micropython():
    document = json.loads(EXAMPLES[0].read_text())
    document["clock"] = {"utc_offset_min": 60}
    good = dict(document, clinic={"name": "ITB clinic", "phone": "+49 30 1234 5678"})
    bad = dict(document, clinic={"name": "x" * 65, "phone": "call 0800 now", "fax": "1"})
    answers = json.loads(micropython.run(_PROGRAM % (json.dumps({"good": good, "bad": bad}), AS_OF, AS_OF)))
    assert answers["good"]["errors"] == []
    assert answers["bad"]["errors"] == settings_file.parse(json.dumps(bad), AS_OF).errors
    assert [e.split(":")[0] for e in answers["bad"]["errors"]] == ["clinic.fax", "clinic.name", "clinic.phone"]
