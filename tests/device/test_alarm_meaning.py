"""Alarms a patient can trust, on the emulated unit (docs/alarms.md): each sound keeps its
meaning, forecasts days from harm wait for the day, a refill elsewhere has a way out,
the motor feels every alarm, and the implant's end of life is announced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpsync import scenario
from pumpsync.emulator import Emulator
from pumpwatch import alarm_policy, readback, records, settings, sounds, timecalc
from pumpwatch.forecast import Forecast

from sound_helpers import alarm_bursts, bursts, pattern_of

DAY = 86400
REFILL = "2026-11-20T10:30:00Z"
# 1500 mcg/day at 2000 mcg/mL: low reservoir after ~23 days, empty ~2.6 days later
BASE = {
    "schema": 1,
    "pump": {"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2},
    "drug": {"name": "baclofen", "concentration_mcg_per_ml": 2000, "max_days_in_reservoir": 180},
    "refill": {"at": REFILL, "volume_ml": 20},
    "therapy": {"steps": [{"start": "00:00", "mcg_per_day": 1500}]},
    "clock": {"utc_offset_min": 60},
    "reminders": {"days_before": []},
    "patient": {"spasticity_origin": "spinal"},
}


@pytest.fixture
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power)")


def _forecast(doc):
    p, errors, _ = settings.check(doc, None)
    assert errors == []
    return Forecast(p, p.refill_at)


def _local_s(forecast, utc):
    return (int(utc) + forecast.clock.offset_at(int(utc))) % DAY


def _shifted(doc, which, local_hhmm):
    """`doc` with the refill moved (a constant rate moves every instant with it) so that
    the forecast's `which` instant falls at `local_hhmm` local time."""
    forecast = _forecast(doc)
    target = timecalc.parse_hhmm(local_hhmm)
    shift = (target - _local_s(forecast, getattr(forecast, which))) % DAY
    moved = json.loads(json.dumps(doc))
    moved["refill"]["at"] = timecalc.format_iso(forecast.prescription.refill_at + shift)
    return moved


def _unit(tmp_path, doc, **options):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(doc))
    _, forecast = scenario.prepare_unit(tmp_path / "unit", path)
    start = forecast.prescription.refill_at + 300
    return Emulator(state_dir=tmp_path / "unit", start_time=start, speed=0, **options), forecast


def _live(emu, until):
    """Live to `until` with a patient who presses within 30 s of each sound."""
    scenario.live_until(emu, until, scenario.PatientLog(), ack_after_s=30)


def _log(emu):
    entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / "data")))
    return entries


def _in_day_window(forecast, utc):
    return 8 * 3600 <= _local_s(forecast, utc) < 21 * 3600


def test_a_battery_low_fault_left_unanswered_never_plays_the_high_sound(tmp_path, hardware_free):
    # longer than every timer of the alarm policy (the medium pause, then the escalation), and
    # across the evening's end of the day window: what a day would show, at a quarter of its cost
    unanswered = alarm_policy.MEDIUM_PAUSE_S + alarm_policy.ESCALATE_AFTER_S + 3600
    emu, forecast = _unit(tmp_path, BASE)
    start = forecast.prescription.refill_at + 300
    to_evening = (21 * 3600 - _local_s(forecast, start) - 2 * 3600) % DAY  # two hours before 21:00
    with emu:
        emu.advance(to_evening)
        emu.set_battery(3300)
        since = emu.now()
        emu.advance(unanswered)
        heard = [(t, name) for t, name in alarm_bursts(emu.buzzer_log()) if t >= since]
        loud = [entry for entry in emu.buzzer_loud_log() if entry[1] and entry[2]]
    assert len(heard) > unanswered / 10.0 * 0.9  # it kept sounding all the while (every 10 s)
    assert {name for _, name in heard} == {"technical"}
    assert loud == []  # never the loud duty either


def test_a_low_reservoir_crossed_at_2_30_waits_for_8_00_and_never_sounds_at_night(tmp_path, hardware_free):
    doc = _shifted(BASE, "low_reservoir_at", "02:30")
    emu, forecast = _unit(tmp_path, doc)
    low_at, urgent = forecast.low_reservoir_at, forecast.urgent_from
    assert _local_s(forecast, low_at) == 2 * 3600 + 1800 and urgent - low_at > DAY
    morning = forecast.days.next_opening(low_at)
    with emu:
        patient = scenario.PatientLog()
        scenario.live_until(emu, urgent - 60, patient, ack_after_s=30)
        heard = alarm_bursts(emu.buzzer_log())
        log = _log(emu)
    first = min(t for t, name in heard if name in ("medium", "strong"))
    assert abs(first - morning) < 1 and _local_s(forecast, first) == 8 * 3600
    assert [t for t, _ in heard if t < urgent and not _in_day_window(forecast, t)] == []
    assert patient.presses and all(_in_day_window(forecast, p.at) for p in patient.presses)
    raised = [e for e in log if e["e"] == "raised" and e["c"] == "low_reservoir"]
    assert raised and abs(raised[0]["t"] - low_at) <= 1  # the log says when it really started
    listed = {a["condition"]: a for a in forecast.as_dict()["alarms"]}
    assert listed["low_reservoir"]["sounds_at"] == timecalc.format_iso(morning)  # what forecast --json says


def test_empty_at_3_00_sounds_at_3_00_with_the_high_sound(tmp_path, hardware_free):
    doc = _shifted(BASE, "empty_at", "03:00")
    emu, forecast = _unit(tmp_path, doc)
    empty = forecast.empty_at
    with emu:
        _live(emu, empty - 120)
        before = len(emu.buzzer_log())
        emu.advance(60 * 5)
        heard = alarm_bursts(emu.buzzer_log()[before:])
    assert heard[0][1] == "high" and abs(heard[0][0] - empty) < 1


def _refilled_elsewhere(emu):
    """Three short presses, then a 5-second hold once the question has been asked."""
    for _ in range(3):
        emu.press(150)
        emu.advance(0.4)
    emu.advance(sounds.ELSEWHERE_CHIRP.length_ms / 1000 + 0.5)
    emu.press(6000)


def test_refilled_elsewhere_stands_in_for_overdue_and_empty_for_exactly_7_days(tmp_path, hardware_free):
    emu, forecast = _unit(tmp_path, BASE)
    empty = forecast.empty_at
    with emu:
        _live(emu, empty + 600)
        assert alarm_bursts(emu.buzzer_log())[-1][1] == "high"
        gesture_at = emu.now()
        _refilled_elsewhere(emu)
        emu.advance(2)
        names = [pattern_of(segments) for _, segments in bursts(emu.buzzer_log())[-3:]]
        assert "refilled elsewhere?" in names and "confirmed" in names
        seen = len(emu.buzzer_log())
        patient = scenario.PatientLog()
        scenario.live_until(emu, gesture_at + 7 * DAY - 60, patient, ack_after_s=30)
        during = alarm_bursts(emu.buzzer_log()[seen:])
        seen = len(emu.buzzer_log())
        emu.advance(600)
        after = alarm_bursts(emu.buzzer_log()[seen:])
        log = _log(emu)
    assert {name for _, name in during} == {"technical"}  # "get the unit synced", not EMPTY
    # once a day, inside the day window, from the next morning on
    days = sorted({int((t + 3600) // DAY) for t, _ in during})
    assert len(days) == 7 and len(patient.presses) == 7
    assert all(_in_day_window(forecast, p.at) for p in patient.presses)
    assert after and after[0][1] == "high" and after[0][0] - (gesture_at + 7 * DAY) < 60
    said = [e for e in log if e["e"] == "refilled_elsewhere"]
    assert len(said) == 1 and abs(said[0]["until"] - (said[0]["t"] + 7 * DAY)) <= 1


def test_a_short_press_after_the_question_cancels_it(tmp_path, hardware_free):
    emu, forecast = _unit(tmp_path, BASE)
    with emu:
        _live(emu, forecast.empty_at + 600)
        for _ in range(4):  # a patient pressing again and again to silence the alarm
            emu.press(150)
            emu.advance(0.3)
        emu.advance(5)
        emu.press(2500)  # even a long press afterwards does not say "refilled elsewhere"
        emu.advance(16 * 60)
        log = _log(emu)
        heard = alarm_bursts(emu.buzzer_log())
    assert not [e for e in log if e["e"] == "refilled_elsewhere"]
    assert heard[-1][1] == "high"


def test_a_board_with_a_motor_vibrates_with_every_alarm(tmp_path, hardware_free):
    doc = json.loads(json.dumps(BASE))
    doc["reminders"] = {"days_before": [3]}
    emu, forecast = _unit(tmp_path, doc, vibration=True)
    with emu:
        patient = scenario.PatientLog()
        scenario.live_until(emu, forecast.empty_at + 1800, patient, ack_after_s=30)
        buzzer, motor = emu.buzzer_log(), emu.vibration_log()
    heard = alarm_bursts(buzzer)
    assert {name for _, name in heard} >= {"low", "medium", "high"}
    on_at = {t for t, on in motor if on}
    off_at = {t for t, on in motor if not on}
    for start, segments in bursts(buzzer):
        if pattern_of(segments) not in {p.name for p in sounds.ALARMS}:
            continue
        t = start
        for hz, ms in segments:  # the motor starts and stops with every note
            if hz:
                assert t in on_at and t + ms in off_at, (start, pattern_of(segments))
            t += ms


def test_an_eri_date_gives_three_reminders_90_30_and_7_days_ahead(tmp_path, hardware_free):
    doc = json.loads(json.dumps(BASE))
    doc["therapy"] = {"steps": [{"start": "00:00", "mcg_per_day": 250}]}  # lasts ~4 months
    doc["pump"]["eri_at"] = "2027-03-01"
    emu, forecast = _unit(tmp_path, doc)
    listed = forecast.as_dict()["implant"]
    assert [r["days_before"] for r in listed["reminders"]] == [90, 30, 7]
    instants = [timecalc.parse_iso(r["at"]) for r in listed["reminders"]]
    with emu:
        patient = scenario.PatientLog()
        scenario.live_until(emu, instants[-1] + 3600, patient, ack_after_s=30)
        heard = alarm_bursts(emu.buzzer_log())
        emu.press(2500)  # the status readout now ends with the implant's two long notes
        emu.advance(10)
        readout = [pattern_of(s) or s for _, s in bursts(emu.buzzer_log())][-1]
    low = [t for t, name in heard if name == "low"]
    for at in instants:
        assert any(abs(t - at) < 1 for t in low), timecalc.format_iso(at)
    assert [(hz, ms) for hz, ms in readout[-3:]] == [(sounds.D5, 600), (0, 300), (sounds.D5, 600)]


def test_a_refill_alarm_nobody_answers_gets_louder_and_faster_but_never_the_empty_sound(tmp_path, hardware_free):
    doc = _shifted(BASE, "low_reservoir_at", "10:00")
    emu, forecast = _unit(tmp_path, doc)
    start = forecast.low_reservoir_at
    with emu:
        _live(emu, start - 60)
        seen = len(emu.buzzer_loud_log())
        emu.advance(3600 + 60)  # an hour with nobody near the unit
        loud_log = emu.buzzer_loud_log()[seen:]
        heard = alarm_bursts(emu.buzzer_log())
    onsets = [(t / 1000, loud) for (t, hz, loud), before in zip(loud_log, [(0, 0, 0)] + loud_log) if hz and
              not before[1] and t - before[0] > 1000]
    quiet = [t for t, loud in onsets if t < start + 30 * 60]
    strong = [t for t, loud in onsets if t >= start + 30 * 60 + 3]
    assert {name for t, name in heard if t >= start} == {"medium"}  # the refill notes, never the ten-note sound
    assert all(not loud for t, loud in onsets if t < start + 30 * 60) and quiet
    assert strong and all(loud for t, loud in onsets if t >= start + 30 * 60 + 3)
    gaps = {round(b - a, 2) for a, b in zip(strong, strong[1:])}
    assert gaps == {sounds.STRONG_ALARM.repeat_ms / 1000}, gaps
