"""Review: data/plan.rec read back at boot (plancache.load) is trusted without the checks
the settings went through."""

from __future__ import annotations

from helpers_review import BASE, forecast_of
from pumpwatch import plancache, readback, records
from pumpwatch.conditions import Plan


def _saved(tmp_path):
    f = forecast_of(BASE)
    plan = Plan([(f.low_reservoir_at, "low_reservoir"), (f.empty_at, "empty")], f.prescription.refill_at,
                f.refill_due_at, False)
    plan.urgent_from = f.urgent_from
    path = str(tmp_path / "plan.rec")
    plancache.save(path, plan, "abcd1234")
    return path


def _tamper(path, **changes):
    kept = readback.read_record(path)
    kept.update(changes)
    records.write_record(path, kept)


def test_a_kept_plan_with_a_backwards_day_window_is_not_used(tmp_path):
    """A window 21:00-08:00 (end before start) never opens: every forecast would wait for
    urgent_from.  settings.check refuses it; plancache.load takes it."""
    path = _saved(tmp_path)
    _tamper(path, day_window=[21 * 3600, 8 * 3600])
    assert plancache.load(path, "abcd1234") is None


def test_a_kept_plan_with_text_for_a_flag_is_not_used(tmp_path):
    path = _saved(tmp_path)
    _tamper(path, hearing_impaired="no", high_risk="false")
    plan = plancache.load(path, "abcd1234")
    assert plan is None or (plan.hearing_impaired is False and plan.high_risk is False)


def test_a_kept_plan_with_an_unknown_condition_is_not_used(tmp_path):
    """An unknown condition id would raise KeyError in alarm_policy at every step (crash loop,
    safe mode) instead of re-checking the settings."""
    path = _saved(tmp_path)
    kept = readback.read_record(path)
    _tamper(path, starts=kept["starts"] + [[kept["starts"][0][0], "bogus"]])
    assert plancache.load(path, "abcd1234") is None
