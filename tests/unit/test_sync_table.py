"""The before/after table shows every field that changes what the unit does,
marked when it changes, its columns aligned however long the lists are."""

from __future__ import annotations

import copy
import io
import os
import re
from pathlib import Path

import pytest

from pumpsync import settings_file, settings_table, sync_checks, terminal
from pumpsync.times import Zone
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


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _row(table: str, label: str) -> str:
    """The first line of a row (plain ASCII off a terminal: '| label | old | new | mark |')."""
    return next(line for line in table.splitlines() if line.startswith("|") and _cells(line)[0] == label)


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
    assert _changed(_row(table, label)), table
    unchanged = sync_checks.comparison_table(before, copy.deepcopy(before), Forecast(before, before.refill_at), None)
    assert not _changed(_row(unchanged, label))


def _changed(line: str) -> bool:
    return _cells(line)[-1] == "<- changed"


def _assert_columns_aligned(table: str):
    lines = table.splitlines()
    bars = [i for i, ch in enumerate(lines[1]) if ch == "|"]
    assert len(bars) == 5, lines[1]  # field, on the unit now, new settings, changed
    for line in lines[1:-1]:
        if line.startswith("|"):
            assert all(line[i] in "|+" for i in bars) and line.count("|") >= 2, line
    assert all(len(line) == terminal.PLAIN_WIDTH for line in lines), {len(line) for line in lines}


def test_long_lists_wrap_inside_their_column_and_the_columns_stay_aligned():
    before = _prescription()
    after = copy.deepcopy(before)
    after.steps = [(h * 3600, 400_000 + h * 1000) for h in range(24)]
    table = sync_checks.comparison_table(before, after, Forecast(before, before.refill_at), None)
    _assert_columns_aligned(table)
    lines = table.splitlines()
    program = lines.index(_row(table, "program (start mcg/day)"))
    assert _changed(lines[program])
    wrapped = _cells(lines[program + 1])
    assert wrapped[0] == "" and wrapped[1] == "" and wrapped[2].startswith("02:00"), lines[program + 1]
    assert "23:00 423" in "".join(lines[program:program + 12])  # nothing cut off
    assert not re.search(r"\x1b\[", table)  # plain text for a pipe or a test


def test_very_long_weekly_programs_on_both_sides_stay_inside_their_columns():
    before = _prescription()
    before.week = [[(h * 1800, 400_000 + d * 1000 + h) for h in range(48)] for d in range(7)]
    after = copy.deepcopy(before)
    after.week = [[(h * 1800, 500_000 + d * 1000 + h) for h in range(48)] for d in range(7)]
    after.label = "x" * 200  # one word longer than its column: folded, never spilling over
    table = sync_checks.comparison_table(before, after, Forecast(before, before.refill_at), None)
    _assert_columns_aligned(table)
    assert _changed(_row(table, "program (start mcg/day)")) and _changed(_row(table, "patient label"))
    new_column = "".join(_cells(line)[2] for line in table.splitlines()[3:-1])
    assert new_column.count("x") == 200 and "Sun" in new_column


def test_every_row_of_rows_of_is_in_the_table_once():
    before = _prescription()
    zone = Zone.of_clock(Forecast(before, before.refill_at).clock, None)
    rows = settings_table.rows_of(before, zone, "400.0 mcg/day")
    table = sync_checks.comparison_table(before, copy.deepcopy(before), Forecast(before, before.refill_at), None)
    labels = [_cells(line)[0] for line in table.splitlines() if line.startswith("|")]
    assert [label for label in labels if label][2:] == [*rows, "REFILL DUE", "refill alarm"]  # after the header
    assert [line for line in table.splitlines() if line.startswith("|") and _changed(line)] == \
        [_row(table, "REFILL DUE"), _row(table, "refill alarm")]  # the unit's dates unknown: only they differ


def test_no_escape_codes_when_piped_and_the_terminals_width_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    before = _prescription()
    after = copy.deepcopy(before)
    after.label = "Room 4"
    rows_before = settings_table.rows_of(before, Zone.of_clock(Forecast(before, 0).clock, None), "a")
    rows_after = settings_table.rows_of(after, Zone.of_clock(Forecast(after, 0).clock, None), "a")
    piped = settings_table.table(rows_before, rows_after, stream=io.StringIO())
    assert "\x1b" not in piped and all(len(line) == terminal.PLAIN_WIDTH for line in piped.splitlines())
    monkeypatch.setattr(terminal.shutil, "get_terminal_size", lambda fallback=None: os.terminal_size((90, 30)))
    monkeypatch.delenv("NO_COLOR", raising=False)
    shown = settings_table.table(rows_before, rows_after, stream=Tty())
    assert "\x1b[" in shown and "<- changed" in shown  # styled on a terminal
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert {len(line) for line in plain.splitlines()} == {90}
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in settings_table.table(rows_before, rows_after, stream=Tty())
