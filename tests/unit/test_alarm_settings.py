"""The settings behind the alarm rules (core on CPython, fake_hal.py): the day window,
hearing impairment, the implant's replacement date, and what a sync or a kept plan
does with them."""

from __future__ import annotations

import json

import pytest

from fake_hal import FakeHAL, quiet_step
from pumpwatch import elsewhere, plancache, records, settings, timecalc
from pumpwatch.forecast import Forecast
from pumpwatch.unit import Unit
from settings_examples import minimal

from test_staged_settings import _restart, _send


def _errors(doc):
    return settings.check(doc, None)[1]


@pytest.mark.parametrize("alarms, message", [
    ({"day_start": "21:00", "day_end": "08:00"}, "alarms.day_end: the day window must run forward"),
    ({"day_start": "09:00", "day_end": "12:00"}, "alarms.day_end: the day window must run forward"),
    ({"day_start": "8:00"}, 'alarms.day_start: "8:00" is not HH:MM'),
    ({"night": "22:00"}, "alarms.night: unknown field"),
    ({"day_start": None, "day_end": "09:00"}, "alarms.day_start: is null"),
])
def test_a_day_window_that_is_not_a_day_is_refused_naming_the_field(alarms, message):
    errors = _errors(minimal(alarms=alarms))
    assert any(line.startswith(message) for line in errors), errors


def test_the_day_window_defaults_to_8_to_21_and_is_listed_by_the_forecast():
    p, errors, _ = settings.check(minimal(), None)
    assert errors == [] and p.day_window == (8 * 3600, 21 * 3600)
    assert Forecast(p, p.refill_at).as_dict()["day_window"] == {"start": "08:00", "end": "21:00"}


@pytest.mark.parametrize("pump, message", [
    ({"eri_at": "2027-02-30"}, 'pump.eri_at: "2027-02-30" is not a date YYYY-MM-DD'),
    ({"model": "Prometra II", "implanted_at": "2022-01-10", "low_reservoir_alarm_ml": 3},
     "pump.implanted_at: no known service life for a Prometra II"),
    ({"service_life_months": 84}, "pump.service_life_months: needs pump.implanted_at"),
    ({"implanted_at": "2022-01-10", "service_life_months": 2}, "pump.service_life_months: "),
    ({"implanted_at": "2999-01-10"}, "pump.implanted_at: is after refill.at"),
])
def test_implant_dates_are_checked_naming_the_field(pump, message):
    doc = minimal()
    doc["pump"].update(pump)
    errors = _errors(doc)
    assert any(line.startswith(message) for line in errors), errors


def test_the_implant_date_is_estimated_from_the_implant_and_the_models_service_life():
    doc = minimal()
    doc["pump"]["implanted_at"] = "2020-03-01"  # SynchroMed II: at most 7 years, ERI ~90 days before the end
    p, errors, _ = settings.check(doc, None)
    implant = Forecast(p, p.refill_at).as_dict()["implant"]
    assert errors == [] and implant["estimated"] is True
    assert implant["eri_date"] == timecalc.format_date(timecalc.parse_date("2020-03-01") + 84 * 30436 // 1000 - 90)


def test_an_eri_date_already_passed_is_a_warning_for_the_nurse():
    doc = minimal()
    doc["pump"]["eri_at"] = "2026-10-01"
    p, errors, warnings = settings.check(doc, None)
    assert errors == [] and any(w.startswith("pump.eri_at: ") for w in warnings)
    assert Forecast(p, p.refill_at).as_dict()["implant"]["reminders"] == []


def _unit(tmp_path, doc, vibration=False):
    hal = FakeHAL(tmp_path / "flash", wall_s=1_796_200_000, vibration=vibration)
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(minimal()))
    unit = Unit(hal)
    quiet_step(unit)
    _send(unit, json.dumps(doc))
    return hal, _restart(hal)


def test_a_hearing_impaired_patient_needs_a_unit_with_a_motor(tmp_path):
    doc = minimal(patient={"hearing_impaired": True})
    _, unit = _unit(tmp_path, doc)
    assert unit.last_put["errors"] == ["patient.hearing_impaired: this unit has no vibration motor (board fake): "
                                       "fit one and set vibration_pin in its board.json, or use a unit that has one"]
    assert unit.settings_crc == records.crc_of(json.dumps(minimal()))  # the old settings stay in force
    _, unit = _unit(tmp_path / "with-motor", doc, vibration=True)
    assert unit.last_put["errors"] == [] and unit.plan.hearing_impaired


def test_a_hearing_impaired_patient_feels_the_status_readout_too(tmp_path):
    hal, unit = _unit(tmp_path, minimal(patient={"hearing_impaired": True}), vibration=True)
    hal.press(unit, 2000)
    for _ in range(40):
        hal.advance(unit.step(0) or 100)
    assert [on for _, on in hal.motor].count(True) >= 1


def test_a_sync_ends_a_refill_elsewhere(tmp_path):
    hal, unit = _unit(tmp_path, minimal(), vibration=False)
    elsewhere.start(unit, unit.now_s())
    assert _restart(hal).elsewhere is not None  # kept across a reboot
    unit = _restart(hal)
    _send(unit, json.dumps(minimal(refill={"at": "2026-11-30T09:00:00Z", "volume_ml": 18})))
    assert _restart(hal).elsewhere is None


def test_a_refill_elsewhere_never_outlasts_7_days_from_now_when_the_clock_moves_back():
    now = 1_796_200_000
    assert elsewhere.cap((now, now + elsewhere.LASTS_S), now - 30 * 86400)[1] == now - 23 * 86400
    over = elsewhere.cap((now, now + elsewhere.LASTS_S), now + elsewhere.LASTS_S)
    assert over == (now, now + elsewhere.LASTS_S)  # kept, not in force: it refuses a second period


def test_the_kept_plan_carries_the_day_window_clock_and_implant(tmp_path):
    doc = minimal(alarms={"day_start": "07:30", "day_end": "22:00"}, clock={"utc_offset_min": 60})
    doc["pump"]["eri_at"] = "2027-09-01"
    hal, unit = _unit(tmp_path, doc)
    kept = plancache.load(unit.plan_path, unit.settings_crc)
    assert kept is not None
    for name in ("day_window", "utc_offset_s", "transitions", "urgent_from", "implant_eri_at", "hearing_impaired",
                 "starts"):
        assert getattr(kept, name) == getattr(unit.plan, name), name
    assert kept.day_window == (27000, 79200) and kept.utc_offset_s == 3600


def test_an_eri_date_within_a_week_of_the_refill_is_a_warning_for_the_nurse():
    doc = minimal()
    doc["pump"]["eri_at"] = "2026-11-24"  # 4 days after the refill: every reminder before it is past
    p, errors, warnings = settings.check(doc, None)
    assert errors == [] and any(w.startswith("pump.eri_at: the replacement indicator is less than 7 days")
                                for w in warnings)
