"""Schema 2: the core forecast equals an exact rational reference, to the second.

The reference (fraction_reference.ReferenceV2) reads the settings document by
itself and integrates delivered mcg as Fractions over every instant where the
rate may change or a bolus is given, over 400 days from the refill.  The
documents (settings_v2_examples) cover every schema-2 program form on its own
and mixed: weekly programs (with same_as), periodic and event boluses,
stop/resume, minimum rate, patient-bolus lockout and clock transitions.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from pumpwatch import settings as core_settings
from pumpwatch.forecast import Forecast

from fraction_reference import DAY, ReferenceV2, instant
from settings_v2_examples import FEATURES, HORIZON_DAYS, DrawPick, document, forms
from test_forecast_exact import prescriptions

# Reproducible in CI: derandomized (examples from a fixed seed), no example database.
EXACT = dict(deadline=None, derandomize=True, database=None, print_blob=True,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                    HealthCheck.filter_too_much])
FIGURES = ("volume_ul", "volume_ul_nominal", "low_reservoir_at", "low_reservoir_at_nominal", "empty_at",
           "empty_at_nominal", "stability_limit_at", "warning_at")


@st.composite
def documents(draw, features=None):
    return document(DrawPick(draw), features)


def core_figures(doc, as_of):
    prescription, errors, _ = core_settings.check(doc, as_of)
    assert errors == [], "the generator made an invalid document: %s\n%s" % (errors, json.dumps(doc))
    forecast = Forecast(prescription, as_of)
    return {key: getattr(forecast, key) for key in FIGURES}


def assert_core_matches_reference(doc, as_of, note=False):
    got = core_figures(doc, as_of)
    reference = ReferenceV2(doc, HORIZON_DAYS)
    want = reference.forecast(as_of)
    horizon_end = reference.end
    if note:  # coverage, shown by pytest --hypothesis-show-statistics
        for form in sorted(forms(doc)):
            event(form)
        event("empty within 400 days" if want["empty_at"] is not None else "not empty within 400 days")
        event("volume left at as_of" if want["volume_ul"] else "empty at as_of")
    wrong = {}
    for key in FIGURES:
        if want[key] is None and not (key == "warning_at" and "warning_ml" not in doc["pump"]):
            # the reference stops at 400 days; the core may give a later instant or None
            if got[key] is not None and got[key] < horizon_end:
                wrong[key] = (got[key], ">= %d" % horizon_end)
        elif got[key] != want[key]:
            wrong[key] = (got[key], want[key])
    assert not wrong, "core != reference (core, reference): %s\nas_of=%d\n%s" % (
        wrong, as_of, json.dumps(doc, sort_keys=True))


# -- the core against the reference ----------------------------------------------------------


@pytest.mark.parametrize("feature", FEATURES)
@settings(max_examples=40, **EXACT)
@given(data=st.data())
def test_core_each_form_alone_matches_the_reference(feature, data):
    doc, as_of = data.draw(documents({feature}))
    assert_core_matches_reference(doc, as_of, note=True)


@settings(max_examples=250, **EXACT)
@given(documents())
def test_core_mixtures_match_the_reference(case):
    assert_core_matches_reference(*case, note=True)


@settings(max_examples=80, **EXACT)
@given(documents(set(FEATURES)))
def test_core_everything_at_once_matches_the_reference(case):
    assert_core_matches_reference(*case, note=True)


# -- the reference against hand-computed answers (and the core on the same documents) --------

REFILL = "2026-11-23T00:00:00Z"  # a Monday
REFILL_AT = 1795392000


def base(**therapy):
    doc = {
        "schema": 2,
        "pump": {"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2,
                 "flow_tolerance_pct": 0},
        "drug": {"name": "baclofen", "concentration_mcg_per_ml": 500, "max_days_in_reservoir": 180},
        "refill": {"at": REFILL, "volume_ml": 20},
        "therapy": therapy or {"steps": [{"start": "00:00", "mcg_per_day": 240}]},
        "clock": {"utc_offset_min": 0},
        "confirmed": ["dose-range", "no-printout"],
    }
    return doc


def hours(h):
    return REFILL_AT + round(h * 3600)


def at(h):
    """ISO text of REFILL + h hours."""
    return datetime.fromtimestamp(hours(h), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# 20 mL x 500 mcg/mL = 10000 mcg; 240 mcg/day = 10 mcg/h; 18 mL (to the 2 mL alarm) = 9000 mcg.
HAND = {
    "steady": (base(), {"empty_at": hours(1000), "low_reservoir_at": hours(900)}),
    "program.steps": (base(program={"steps": [{"start": "06:00", "mcg_per_day": 240}]}),
                      {"empty_at": hours(1000)}),
    # 40 mcg every 8 h on top: 120 mcg per 8 h; 83 periods (664 h, bolus included) give 9960,
    # 4 more hours the last 40.  The bolus exactly at the refill is not counted.
    "periodic every 8 h": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                periodic_boluses=[{"mcg": 40, "every_h": 8, "first": REFILL}]),
                           {"empty_at": hours(668)}),
    # 1.5 h = 5400 s, first 30 min before the refill: boluses at 1 h, 2.5 h, ...
    "periodic every 1.5 h": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                  periodic_boluses=[{"mcg": 15, "every_h": 1.5, "first": at(-0.5)}]),
                             # after the bolus at 1 + 1.5 k h: 25 + 30 k; k = 332 (499 h) gives
                             # 9985, 1.5 h more at 10/h the last 15: exactly at the next bolus
                             {"empty_at": hours(500.5)}),
    "stop 2 days": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                         events=[{"at": at(120), "stop": True}, {"at": at(168), "resume": True}]),
                    {"empty_at": hours(1048), "low_reservoir_at": hours(948)}),
    "minimum rate": (dict(base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                               events=[{"at": at(100), "minimum_rate": True}]),
                          pump={"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2,
                                "flow_tolerance_pct": 0, "minimum_rate_mcg_per_day": 24}),
                     # 1000 mcg by 100 h, then 1 mcg/h: 9000 more -> 9100 h
                     {"empty_at": hours(9100), "low_reservoir_at": hours(8100)}),
    "event bolus": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                         events=[{"at": at(10), "bolus_mcg": 1000}]),
                    {"empty_at": hours(900), "low_reservoir_at": hours(800)}),
    # N = min(10, 1440 // 180 + 1 = 9) = 9: 9 x 20 = 180 mcg/day more: 420 mcg/day = 17.5 mcg/h
    "lockout": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                     patient_bolus={"mcg": 20, "max_per_day": 10, "lockout_min": 180}),
                {"empty_at": REFILL_AT + 10000 * 86400 // 420 + 1}),
    # Monday 480, every other day 0.001 mcg/day... keep it simple: Monday 480, others 240
    "week": (base(week={"mon": [{"start": "00:00", "mcg_per_day": 480}],
                        "tue": [{"start": "00:00", "mcg_per_day": 240}],
                        **{d: {"same_as": "tue"} for d in ("wed", "thu", "fri", "sat", "sun")}}),
             # a week gives 480 + 6 x 240 = 1920; 5 weeks = 9600 (840 h); then Monday at 20/h: 20 h
             {"empty_at": hours(860)}),
    # before Monday's first step (12:00) Sunday's last step (720) runs
    "week wraps": (base(week={"mon": [{"start": "12:00", "mcg_per_day": 240}],
                              **{d: [{"start": "00:00", "mcg_per_day": 240},
                                     {"start": "18:00", "mcg_per_day": 720}]
                                 for d in ("tue", "wed", "thu", "fri", "sat", "sun")}}),
                   {"volume_ul_at_12h": 20000 - 720 // 2 * 1000 // 500}),
    # daily (06:00) and periodic (every 24 h from 30 h) boluses: none at the stop (30 h) or the
    # minimum rate (78 h), both at the resumes (54 h, 102 h); see the test below
    "boluses pause": (dict(base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                boluses=[{"time": "06:00", "mcg": 100}],
                                periodic_boluses=[{"mcg": 7, "every_h": 24, "first": at(30)}],
                                events=[{"at": at(30), "stop": True}, {"at": at(54), "resume": True},
                                        {"at": at(78), "minimum_rate": True}, {"at": at(102), "resume": True}]),
                           pump={"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2,
                                 "flow_tolerance_pct": 0, "minimum_rate_mcg_per_day": 24}),
                      {"volume_ul_at_6h": 20000 - (60 + 100) * 2}),
    # a stop at the refill instant itself: nothing is delivered until the resume ...
    "stop at the refill": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                events=[{"at": REFILL, "stop": True}, {"at": at(48), "resume": True}]),
                           {"empty_at": hours(1048), "low_reservoir_at": hours(948)}),
    # ... and never, when there is none
    "stopped for good at the refill": (base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                            events=[{"at": REFILL, "stop": True}]),
                                       {"empty_at": None, "low_reservoir_at": None, "volume_ul_at_12h": 20000}),
    # minimum rate from the refill on: 1 mcg/h; 9000 mcg by 9000 h (375 days), empty after 400 days
    "minimum rate from the refill": (dict(base(steps=[{"start": "00:00", "mcg_per_day": 240}],
                                               events=[{"at": REFILL, "minimum_rate": True}]),
                                          pump={"model": "SynchroMed II", "reservoir_ml": 20,
                                                "low_reservoir_alarm_ml": 2, "flow_tolerance_pct": 0,
                                                "minimum_rate_mcg_per_day": 24}),
                                     {"low_reservoir_at": hours(9000), "empty_at": None}),
    # the clock goes forward 1 h at 02:00 UTC: the 06:00 local step starts at 05:00 UTC
    "dst": (dict(base(steps=[{"start": "00:00", "mcg_per_day": 240}, {"start": "06:00", "mcg_per_day": 2400}]),
                 clock={"utc_offset_min": 0, "transitions": [{"at": at(2), "utc_offset_min": 60}]}),
            {"volume_ul_at_6h": 20000 - (50 + 100) * 1000 // 500}),
}


def _check_hand(name, doc):
    """Named figures of a hand case: the reference's (and a few derived)."""
    ref = ReferenceV2(doc, HORIZON_DAYS)
    figures = ref.forecast(REFILL_AT + 3600)
    figures["volume_ul_at_12h"] = ref.forecast(hours(12))["volume_ul"]
    figures["volume_ul_at_6h"] = ref.forecast(hours(6))["volume_ul"]
    return figures


@pytest.mark.parametrize("name", [n for n in HAND if HAND[n][1] is not None])
def test_reference_gives_the_hand_computed_answers(name):
    doc, expected = HAND[name]
    figures = _check_hand(name, doc)
    assert {k: figures[k] for k in expected} == expected


def test_reference_steady_empties_in_41_and_two_thirds_days():
    """240 mcg/day at 500 mcg/mL from 20 mL empties in exactly 41.666.. days."""
    ref = ReferenceV2(base(), HORIZON_DAYS).forecast(REFILL_AT)
    assert ref["empty_at"] - REFILL_AT == Fraction(10000, 240) * DAY == 3_600_000
    assert ref["volume_ul"] == 20000 and ref["stability_limit_at"] == REFILL_AT + 180 * DAY
    # the default tolerance is 3 %: conservative empties 3 % sooner, nominal is unchanged
    doc = base()
    del doc["pump"]["flow_tolerance_pct"]
    ref = ReferenceV2(doc, HORIZON_DAYS).forecast(REFILL_AT + 100 * 3600)
    assert ref["empty_at_nominal"] == REFILL_AT + 3_600_000
    assert ref["empty_at"] == REFILL_AT + -(-3_600_000 * 100 // 103)
    assert ref["volume_ul"] == 20000 - 2060  # 1000 mcg nominal by 100 h = 2 mL, x 1.03
    assert ref["volume_ul_nominal"] == 18000
    assert ref["warning_at"] is None


def test_reference_periodic_adds_three_boluses_a_day():
    every8 = ReferenceV2(HAND["periodic every 8 h"][0], HORIZON_DAYS)
    _, given = every8.instants()
    days = [u for u in given if u <= REFILL_AT + 10 * DAY]
    assert len(days) == 30  # 3 a day for 10 days (the one at the refill itself not counted)
    assert every8.forecast(REFILL_AT + 10 * DAY)["volume_ul"] == 20000 - (2400 + 1200) * 2


def test_reference_periodic_in_minutes_and_before_the_refill():
    ref = ReferenceV2(HAND["periodic every 1.5 h"][0], HORIZON_DAYS)
    _, given = ref.instants()
    assert sorted(given)[:3] == [hours(1), hours(2.5), hours(4)]
    # to the second, by brute force over the last bolus period
    def delivered(s):
        return Fraction(10 * s, 3600) + 15 * ((s - 3600) // 5400 + 1 if s >= 3600 else 0)
    empty = next(s for s in range(499 * 3600, 501 * 3600) if delivered(s) >= 10000)
    assert ref.forecast(REFILL_AT)["empty_at"] == REFILL_AT + empty == hours(500.5)


def test_reference_stop_shifts_empty_by_the_stop():
    plain = ReferenceV2(base(), HORIZON_DAYS).forecast(REFILL_AT)
    stopped = ReferenceV2(HAND["stop 2 days"][0], HORIZON_DAYS).forecast(REFILL_AT)
    assert stopped["empty_at"] - plain["empty_at"] == 2 * DAY


def test_reference_boluses_pause_with_the_regime():
    """Daily and periodic boluses are not given while stopped or at minimum rate; at the
    resume instant they are, at the stop instant they are not."""
    ref = ReferenceV2(HAND["boluses pause"][0], HORIZON_DAYS)
    _, given = ref.instants()
    window = {u - REFILL_AT: mcg for u, mcg in given.items() if u <= hours(126)}
    # 30 h (the stop) and 78 h (minimum rate): none; 54 h and 102 h (resumes): both
    assert window == {6 * 3600: 100, 54 * 3600: 107, 102 * 3600: 107, 126 * 3600: 107}
    # by 126 h: program 30 + 24 + 24 h at 10/h = 780, minimum 24 h at 1/h = 24, boluses 100 + 3 x 107
    assert ref.forecast(hours(126))["volume_ul"] == 20000 - (780 + 24 + 100 + 321) * 2


def test_reference_week_follows_the_local_weekday():
    """Monday (local) at 480, other days 240; at UTC-5 Monday local starts 5 h after UTC Monday."""
    doc = HAND["week"][0]
    doc = copy.deepcopy(doc)
    doc["clock"] = {"utc_offset_min": -300}
    ref = ReferenceV2(doc, HORIZON_DAYS)
    # the refill is Sunday 19:00 local: 5 h of Sunday (50), then Monday 19 h at 20/h (380)
    assert ref.forecast(hours(24))["volume_ul"] == 20000 - (50 + 380) * 2


@settings(max_examples=40, **EXACT)
@given(prescriptions())
def test_reference_v2_agrees_with_the_schema1_reference(case):
    """On schema-1 documents the new reference and the old one give the same figures."""
    doc, reference, low, as_of, max_days = case
    old = reference.forecast(low, as_of, max_days)
    new = ReferenceV2(doc, 400).forecast(as_of)
    assert {k: new[k] for k in old} == old


@pytest.mark.parametrize("name", list(HAND))
def test_core_gives_the_hand_computed_answers(name):
    doc, expected = HAND[name]
    for as_of in (REFILL_AT, REFILL_AT + 3600, hours(6), hours(12), hours(126)):
        assert_core_matches_reference(doc, as_of)


EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_core_matches_the_reference_on_the_examples(path):
    """The shipped examples (clock.tz resolved by the host into real transitions)."""
    from pumpsync import settings_file

    refill_at = instant(json.loads(path.read_text())["refill"]["at"])
    for days in (0, 10, 60, 200):
        as_of = refill_at + days * DAY
        loaded = settings_file.load(path, as_of)
        assert loaded.errors == []
        assert_core_matches_reference(loaded.document, as_of)
