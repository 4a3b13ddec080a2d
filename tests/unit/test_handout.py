"""`pumpsync handout`: the calendar, the plot and the summary say what the core forecast says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from pumpsync import cli, handout, handout_pdf, handout_plot
from pumpwatch import timecalc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AT = "2026-12-03T06:00:00Z"
CLINIC = {"name": "ITB clinic, ward 4", "phone": "+49 30 1234 5678"}


def _settings(tmp_path, example="flex-night-boost.json", change=None, name="settings.json") -> Path:
    doc = json.loads((EXAMPLES / example).read_text())
    doc["clinic"] = dict(CLINIC)
    if change:
        change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _forecast_json(settings, capsys) -> dict:
    assert cli.main(["forecast", str(settings), "--at", AT, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _events(ics: Path) -> dict:
    from icalendar import Calendar

    found = {}
    for event in Calendar.from_ical(ics.read_bytes()).walk("VEVENT"):
        start = event.decoded("dtstart")
        assert start.tzinfo is not None, "every event is an instant"
        kind = [c for c in event["categories"].cats if c != "PumpWatch"][0]
        found.setdefault(kind, []).append((timecalc.format_iso(int(start.astimezone(timezone.utc).timestamp())),
                                           event["dtstart"].params.get("TZID"), str(event["description"])))
    return found


@pytest.mark.parametrize("example, tzid", [("flex-night-boost.json", "Europe/Berlin"),
                                           ("simple-continuous.json", "PumpWatch settings UTC+01:00")])
def test_the_calendar_has_the_forecast_json_reminders_due_date_and_appointment(tmp_path, capsys, example, tzid):
    settings = _settings(tmp_path, example)
    expected = _forecast_json(settings, capsys)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", AT]) == 0
    text = (tmp_path / "out" / "reminders.ics").read_bytes().decode()
    assert f"BEGIN:VTIMEZONE\r\nTZID:{tzid}" in text.replace('"', "")
    events = _events(tmp_path / "out" / "reminders.ics")
    assert [at for at, _, _ in events["reminder"]] == [r["at"] for r in expected["reminders"]]
    assert [at for at, _, _ in events["due"]] == [expected["clinical_due_at"]]
    assert [at for at, _, _ in events["appointment_reminder"]] == [expected["appointment_reminder_at"]]
    appointment = json.loads(settings.read_text())["refill"]["next_appointment"]
    assert [at for at, _, _ in events["appointment"]] == [appointment]
    assert {tz for kind in events.values() for _, tz, _ in kind} == {tzid}, "local time, in the patient's zone"
    due_words = events["due"][0][2]
    assert CLINIC["phone"] in due_words and ("Europe/Berlin" in due_words or "UTC+01:00" in due_words)


def test_implant_reminders_are_in_the_calendar_too(tmp_path, capsys):
    settings = _settings(tmp_path, change=lambda d: d["pump"].update(eri_at="2027-01-20"))
    expected = _forecast_json(settings, capsys)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", AT]) == 0
    got = [at for at, _, _ in _events(tmp_path / "out" / "reminders.ics")["implant_reminder"]]
    assert got == [r["at"] for r in expected["implant"]["reminders"]] and got


def _source(tmp_path, **kw):
    return handout.from_file(str(_settings(tmp_path, **kw)), timecalc.parse_iso(AT))


def test_the_plotted_conservative_curve_crosses_the_alarm_volume_at_low_reservoir_at(tmp_path):
    source = _source(tmp_path)
    f, p = source.forecast, source.forecast.prescription
    data = handout_plot.curves(f)
    # remaining_ul is whole microlitres rounded down, so the drawn curve may touch the alarm volume
    # up to a second before the exact instant: the crossing is drawn within that second
    first_at_alarm = next(t for t, ul in zip(data.times, data.conservative_ul) if ul <= p.low_alarm_ul)
    assert f.low_reservoir_at - 1 <= first_at_alarm <= f.low_reservoir_at
    assert data.conservative_ul[data.times.index(f.low_reservoir_at)] <= p.low_alarm_ul
    assert data.conservative_ul[data.times.index(first_at_alarm) - 1] > p.low_alarm_ul
    first_nominal = next(t for t, ul in zip(data.times, data.nominal_ul) if ul <= p.low_alarm_ul)
    assert f.low_reservoir_at_nominal - 1 <= first_nominal <= f.low_reservoir_at_nominal
    assert data.times == sorted(data.times) and data.times[0] == p.refill_at
    assert data.conservative_ul[0] == data.nominal_ul[0] == p.refill_volume_ul
    assert all(c <= n for c, n in zip(data.conservative_ul, data.nominal_ul))
    assert data.marks["due"] == f.clinical_due_at and data.marks["today"] == timecalc.parse_iso(AT)
    assert data.marks["appointment"] == p.next_appointment
    assert data.times[-1] > f.empty_at_nominal  # the whole cycle is drawn


def test_the_plot_marks_a_warning_volume_where_one_is_set(tmp_path):
    source = _source(tmp_path, change=lambda d: d["pump"].update(warning_ml=4))
    data = handout_plot.curves(source.forecast)
    first = next(t for t, ul in zip(data.times, data.conservative_ul) if ul <= 4000)
    assert source.forecast.warning_at - 1 <= first <= source.forecast.warning_at
    png = tmp_path / "r.png"
    assert handout_plot.write_png(source.forecast, source.zone, png) is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_summary_text_has_drug_due_date_phone_and_warning_signs(tmp_path):
    from pumpsync import withdrawal_signs

    source = _source(tmp_path)
    text = handout_pdf.text_of(handout_pdf.summary_blocks(source.forecast, source.zone))
    due = source.zone.local(source.forecast.clinical_due_at)
    assert "Europe/Berlin" in due
    for expected in ("baclofen 2000 mcg/mL", due, CLINIC["phone"], CLINIC["name"], "SynchroMed II",
                     "480 mcg/day", *withdrawal_signs.EARLY, *withdrawal_signs.SERIOUS, "EMPTY alarm",
                     "REFILL alarm", "UNIT alarm", "REMINDER"):
        assert expected in text, expected


def test_a_weekly_program_is_listed_day_by_day(tmp_path):
    source = _source(tmp_path, example="weekly-flex.json")
    rows = {b.label: b.text for b in handout_pdf.program_rows(source.forecast, source.zone)}
    assert {"Monday", "Sunday", "daily dose"} <= set(rows)
    assert "(average over the week)" in rows["daily dose"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils: make setup)")
def test_the_pdf_is_one_page_with_the_words_of_the_text_model(tmp_path):
    settings = _settings(tmp_path, example="weekly-flex.json")
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", "2026-11-25T06:00:00Z"]) == 0
    pdf = tmp_path / "out" / "summary.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    source = handout.from_file(str(settings), timecalc.parse_iso("2026-11-25T06:00:00Z"))
    for expected in ("baclofen 2000 mcg/mL", source.zone.local(source.forecast.clinical_due_at), CLINIC["phone"],
                     "high fever", "pins and needles or tingling", "itching"):
        assert expected in text, expected


def test_without_a_clinic_phone_the_summary_says_so(tmp_path, capsys):
    settings = _settings(tmp_path, change=lambda d: d.pop("clinic"))
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", AT]) == 0
    assert "no clinic.phone" in capsys.readouterr().out
    source = handout.from_file(str(settings), timecalc.parse_iso(AT))
    assert "no phone number was given" in handout_pdf.text_of(handout_pdf.summary_blocks(source.forecast,
                                                                                          source.zone))


def test_out_refuses_to_overwrite_without_force(tmp_path, capsys):
    settings = _settings(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.pdf").write_text("the last visit's")
    assert cli.main(["handout", str(settings), "--out", str(out), "--at", AT]) == 2
    err = capsys.readouterr().err
    assert "summary.pdf already exists" in err and "--force" in err
    assert (out / "summary.pdf").read_text() == "the last visit's" and not (out / "reminders.ics").exists()
    assert cli.main(["handout", str(settings), "--out", str(out), "--at", AT, "--force"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["reminders.ics", "reservoir.png", "summary.pdf", "README.txt", "pumpwatch-high.wav",
                            "pumpwatch-strong.wav", "pumpwatch-medium.wav", "pumpwatch-technical.wav",
                            "pumpwatch-low.wav"]), "no partial files left"


def test_a_bad_settings_file_names_the_field_and_writes_nothing(tmp_path, capsys):
    settings = _settings(tmp_path, change=lambda d: d["clinic"].update(phone="ask at reception"))
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", AT]) == 2
    assert 'clinic.phone: "ask at reception" is not a phone number' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_wav_previews_are_the_alarm_preview_files(tmp_path):
    settings = _settings(tmp_path)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "a"), "--at", AT]) == 0
    assert cli.main(["alarm", "preview", "--wav", str(tmp_path / "b")]) == 0
    for name in ("pumpwatch-high.wav", "pumpwatch-low.wav", "README.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_patient_time_zone_follows_daylight_saving_in_the_calendar(tmp_path, capsys):
    """A reminder after the spring change is 10:00 local (CEST), one hour earlier in UTC."""
    def later(doc):
        doc["refill"].update(at="2027-03-01T09:00:00Z", next_appointment="2027-04-20T08:00:00Z")
        doc.pop("programmer")
    settings = _settings(tmp_path, change=later)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", "2027-03-02T09:00:00Z"]) == 0
    text = (tmp_path / "out" / "reminders.ics").read_bytes().decode()
    assert "BEGIN:DAYLIGHT" in text and "TZOFFSETTO:+0200" in text
    assert "DTSTART;TZID=Europe/Berlin:20270419T100000" in text  # the appointment reminder, in summer time


def _vevents(folder: Path) -> list:
    from icalendar import Calendar
    return list(Calendar.from_ical((folder / "reminders.ics").read_bytes()).walk("VEVENT"))


def test_every_calendar_event_rings_and_the_appointment_rings_ahead(tmp_path):
    """Review finding: with no VALARM most phone calendars show the events but never notify."""
    settings = _settings(tmp_path)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "out"), "--at", AT]) == 0
    for event in _vevents(tmp_path / "out"):
        alarms = event.walk("VALARM")
        assert alarms and all(str(a["action"]) == "DISPLAY" and str(a["description"]) for a in alarms)
        trigger = alarms[0].decoded("trigger")
        kind = [c for c in event["categories"].cats if c != "PumpWatch"][0]
        assert trigger == (-timedelta(hours=2) if kind == "appointment" else timedelta(0)), kind


def test_a_corrected_hand_out_replaces_its_events_and_two_patients_never_share_one(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    other = _settings(tmp_path, change=lambda d: d.setdefault("patient", {}).update(label="Another patient"), name="other.json")
    later = "2026-12-03T07:00:00Z"  # a corrected hand-out an hour later (its SEQUENCE: when it is made)
    real = __import__("time").time
    for folder, source, at, made_s in (("first", settings, AT, 0), ("again", settings, later, 3600),
                                       ("other", other, AT, 0)):
        monkeypatch.setattr("time.time", lambda made_s=made_s: real() + made_s)  # not within the same second on a fast machine
        assert cli.main(["handout", str(source), "--out", str(tmp_path / folder), "--at", at]) == 0
    monkeypatch.undo()
    first, again, other_events = (_vevents(tmp_path / f) for f in ("first", "again", "other"))
    by_uid = {str(e["uid"]): int(e["sequence"]) for e in first}
    assert {str(e["uid"]) for e in again} <= set(by_uid)
    assert all(int(e["sequence"]) > by_uid[str(e["uid"])] for e in again)
    assert not set(by_uid) & {str(e["uid"]) for e in other_events}


def test_letters_the_summary_font_cannot_draw_are_named_once_not_a_python_warning(tmp_path):
    """Review finding: a CJK name printed as empty boxes on the ED sheet, with a raw UserWarning."""
    settings = _settings(tmp_path, change=lambda d: d.setdefault("patient", {}).update(label="Zoë 王小明"))
    result = subprocess.run([sys.executable, "-m", "pumpsync", "handout", str(settings), "--out",
                             str(tmp_path / "out"), "--at", AT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "UserWarning" not in result.stderr and ".py:" not in result.stderr
    warning = [line for line in result.stdout.splitlines() if "summary.pdf" in line][0]
    assert "王小明" in warning and "by hand" in warning and "ë" not in warning.split("letters for")[1]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_the_due_dates_notification_never_rings_at_night_and_never_after_the_due_time(example):
    """Re-review N5: the due event rang at its computed minute (03:35, 23:08 in the examples)."""
    from icalendar import Calendar

    from pumpsync import handout_ics

    try:
        source = handout.from_file(str(EXAMPLES / example), timecalc.parse_iso(AT))
    except Exception:  # noqa: BLE001 - an example that needs a --confirm: not this test's concern
        pytest.skip("needs confirmations")
    p = source.forecast.prescription
    ics = handout_ics.calendar_bytes(source.forecast, source.zone, source.zone_name, p.clinic_name, p.clinic_phone)
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        if "due" not in [str(c) for c in event["categories"].cats]:
            continue
        start = int(event.decoded("dtstart").timestamp())
        ring = start + int(event.walk("VALARM")[0].decoded("trigger").total_seconds())
        local_s = (ring + source.zone.offset_at(ring)) % 86400
        day_start, day_end = p.day_window
        assert ring <= start and day_start <= local_s <= day_end, (example, source.zone.local(ring))


def test_a_later_hand_out_has_a_higher_sequence_even_with_an_earlier_at(tmp_path, monkeypatch):
    settings = _settings(tmp_path)
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "first"), "--at", AT]) == 0
    real = handout_time = __import__("time").time
    monkeypatch.setattr("time.time", lambda: real() + 120)  # two minutes later, a correction made...
    earlier_at = "2026-12-01T06:00:00Z"  # ...with an earlier --at
    assert cli.main(["handout", str(settings), "--out", str(tmp_path / "again"), "--at", earlier_at]) == 0
    first = {str(e["uid"]): int(e["sequence"]) for e in _vevents(tmp_path / "first")}
    again = {str(e["uid"]): int(e["sequence"]) for e in _vevents(tmp_path / "again")}
    assert set(again) <= set(first) and all(again[u] > first[u] for u in again), handout_time
