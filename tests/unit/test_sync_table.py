"""The before/after table shows every field that changes what the unit does,
marked when it changes, its columns aligned however long the lists are."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from pumpsync import settings_file, sync_checks
from pumpwatch.forecast import Forecast

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Prescription attribute -> (row label, a changed value)
CHANGES = {
    "low_alarm_ul": ("alarm volumes", 3000), "warning_ul": ("alarm volumes", 5000),
    "tolerance_centipct": ("flow tolerance", 1000), "minimum_rate_ng": ("minimum rate", 48000),
    "concentration_milli": ("drug", 1_000_000), "max_days": ("drug stability", 90),
    "refill_volume_ul": ("filled", 18000), "steps": ("program (start mcg/day)", [(0, 400_000), (3600, 420_000)]),
    "week": ("program (start mcg/day)", [[(0, 400_000)]] * 5 + [[(0, 450_000)]] * 2),
    "boluses": ("boluses (time mcg)", [(7 * 3600, 50_000)]),
    "periodic": ("periodic boluses", [(1_795_000_000, 8 * 3600, 20_000)]),
    "events": ("events", [(1_795_000_000, "bolus", 30_000)]),
    "patient_bolus_max": ("patient boluses", 3), "lockout_min": ("patient boluses", 90),
    "utc_offset_s": ("time zone", 7200), "transitions": ("time zone", [(1_795_000_000, 7200)]),
    "reminder_days": ("reminders", [7, 1]), "reminder_at_s": ("reminders", 9 * 3600),
    "day_window": ("alarm day window", (9 * 3600, 20 * 3600)), "quiet_hours": ("quiet hours", (0, 6 * 3600)),
    "clinic_margin_days": ("clinic margin", 5), "next_appointment": ("next appointment", 1_796_000_000),
    "high_withdrawal_risk": ("withdrawal risk", True), "spasticity_origin": ("spasticity origin", "spinal"),
    "hearing_impaired": ("hearing impaired", True), "implant_eri_day": ("implant replacement", 21000),
    "label": ("patient label", "Room 4, Mrs K."), "refill_at": ("refilled at", 1_795_100_000),
}


def _prescription():
    return settings_file.load(EXAMPLES / "simple-continuous.json", None).prescription


def _row(table: str, label: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"  {label} "))


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_a_changed_field_has_its_row_marked(field):
    before = _prescription()
    after = copy.deepcopy(before)
    label, value = CHANGES[field]
    if field == "lockout_min":
        after.patient_bolus_max = before.patient_bolus_max = 4
        before.patient_bolus_ng = after.patient_bolus_ng = 25_000
    setattr(after, field, value)
    table = sync_checks.comparison_table(before, after, Forecast(before, before.refill_at), None)
    assert _row(table, label).endswith("<- changed"), table
    unchanged = sync_checks.comparison_table(before, copy.deepcopy(before), Forecast(before, before.refill_at), None)
    assert "<- changed" not in _row(unchanged, label)


def test_long_lists_wrap_inside_their_column_and_the_columns_stay_aligned():
    before = _prescription()
    after = copy.deepcopy(before)
    after.steps = [(h * 3600, 400_000 + h * 1000) for h in range(24)]
    table = sync_checks.comparison_table(before, after, Forecast(before, before.refill_at), None)
    lines = table.splitlines()
    header = lines[0]
    new_column = header.index("new settings")
    for line in lines[1:]:
        if len(line) > new_column:
            # the old column never runs into the new one: a space just before it
            assert line[new_column - 1] == " ", line
    program = [i for i, line in enumerate(lines) if line.startswith("  program")][0]
    assert lines[program + 1].startswith(" " * 26)  # wrapped under its own column
    assert all(len(line) <= 26 + 2 * 35 + 12 for line in lines)
    assert not re.search(r"\x1b\[", table)  # plain text for a pipe or a test
