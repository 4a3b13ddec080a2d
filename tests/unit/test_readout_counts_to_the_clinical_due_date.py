"""The status readout counts the weeks to the refill due date the patient was told (the clinical
due date on the hand-out and the board: the clinic's margin before the pump's own alarm), not to the
pump's alarm (review of issue 13: it counted to the alarm, a week more within the margin)."""

from __future__ import annotations

import json

from fake_hal import FakeHAL, quiet_step
from pumpwatch import sounds, timecalc
from pumpwatch.events import EVENT_TIMEOUT
from pumpwatch.forecast import Forecast
from pumpwatch.settings import check
from pumpwatch.unit import Unit
from settings_examples import minimal

NOW = 1_795_000_000
DAY = 86400


def _refill_at_for(clinical_due_in_s: int) -> str:
    """A refill instant that puts the clinical due date `clinical_due_in_s` after NOW."""
    probe = minimal(refill={"at": timecalc.format_iso(NOW), "volume_ml": 20, "clinic_margin_days": 7})
    prescription, errors, _ = check(probe, NOW)
    assert prescription is not None, errors
    due_after_refill = Forecast(prescription, NOW).clinical_due_at - NOW
    return timecalc.format_iso(NOW + clinical_due_in_s - due_after_refill)


def test_eight_days_before_the_clinical_due_date_the_readout_is_one_week(tmp_path):
    doc = minimal(refill={"at": _refill_at_for(8 * DAY), "volume_ml": 20, "clinic_margin_days": 7})
    hal = FakeHAL(tmp_path / "flash", wall_s=NOW)
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(doc))
    unit = Unit(hal)
    quiet_step(unit)
    assert (unit.plan.refill_due_at - NOW) // (7 * DAY) == 2, "the pump's alarm is two weeks and a day away"
    for _ in range(20):  # the boot chirp ends first: silence before the press
        hal.advance(unit.step(EVENT_TIMEOUT) or 10)
    assert hal.buzz[-1][1] == 0
    start = len(hal.buzz)
    hal.press(unit, 2100)
    for _ in range(200):
        wait = unit.step(EVENT_TIMEOUT)
        hal.advance(wait if wait else 10)
    beeps = [hz for _, hz in hal.buzz[start:] if hz == sounds.G5]
    assert len(beeps) == 1, f"{len(beeps)} beeps: the readout counted to the pump's alarm, not the due date"
