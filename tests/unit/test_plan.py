"""The unit's plan: when each condition starts (core, on CPython)."""

from __future__ import annotations

import copy

from pumpwatch import timecalc
from pumpwatch.plan import make_plan

from settings_examples import minimal

DOC = minimal(reminders={"days_before": [7], "at_local": "23:00"})


def _starts(doc):
    plan, errors = make_plan(doc)
    assert errors == []
    return {cid: timecalc.format_iso(at) for at, cid in plan.starts}


def test_plan_lists_reminders_low_reservoir_overdue_and_empty():
    doc = copy.deepcopy(DOC)
    doc["alarms"] = {"day_start": "07:00", "day_end": "23:30"}
    starts = _starts(doc)
    assert set(starts) == {"reminder:7", "low_reservoir", "refill_overdue", "empty"}
    # 7 days before the clinical due date (3 days before the pump's alarm, flow tolerance 3 %)
    assert starts["reminder:7"] == "2027-02-05T23:00:00Z"


def test_a_reminder_set_for_the_night_waits_for_the_day_window():
    assert _starts(DOC)["reminder:7"] == "2027-02-06T08:00:00Z"  # 23:00 is after the default 21:00


def test_quiet_hours_move_a_reminder_to_their_end_but_not_alarms():
    doc = copy.deepcopy(DOC)
    doc["reminders"]["quiet_hours"] = {"start": "22:00", "end": "07:30"}
    doc["alarms"] = {"day_start": "07:00"}
    quiet = _starts(doc)
    assert quiet["reminder:7"] == "2027-02-06T07:30:00Z"
    assert quiet["low_reservoir"] == _starts(DOC)["low_reservoir"]


def test_high_withdrawal_risk_adds_earlier_reminders():
    doc = copy.deepcopy(DOC)
    doc["risk"] = {"high_withdrawal_risk": True}
    assert {"reminder:21", "reminder:28"} <= set(_starts(doc))


def test_a_bad_document_gives_errors_not_a_plan():
    plan, errors = make_plan({"schema": 1})
    assert plan is None and errors
