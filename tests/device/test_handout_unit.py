"""`pumpsync handout --port`: the hand-outs from the settings a paired, synced (emulated) unit holds
are the ones its settings file gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clinic import clinic_with_unit, settings_for_now  # noqa: E402


def test_handout_from_the_unit_equals_the_handout_from_its_settings_file(tmp_path):
    clinic = clinic_with_unit(tmp_path)
    try:
        settings = settings_for_now(tmp_path, example="flex-night-boost.json", change=lambda d: d.update(
            clinic={"name": "ITB clinic", "phone": "+49 30 1234 5678"}))
        synced = clinic.run("sync", str(settings), "--yes")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        from_unit = clinic.run("handout", "--out", str(tmp_path / "unit"))
        assert from_unit.returncode == 0, from_unit.stderr
        assert "Traceback" not in from_unit.stderr
        assert "Hand-outs from unit " in from_unit.stdout and "Europe/Berlin" in from_unit.stdout
        forecast = json.loads(subprocess.run([sys.executable, "-m", "pumpsync", "forecast", str(settings), "--json"],
                                             capture_output=True, text=True, check=True).stdout)
        ics = (tmp_path / "unit" / "reminders.ics").read_bytes().decode()
        assert "TZID:Europe/Berlin" in ics  # the unit keeps clock.tz beside the offsets
        from icalendar import Calendar

        starts = sorted(int(e.decoded("dtstart").timestamp()) for e in Calendar.from_ical(ics).walk("VEVENT"))
        from pumpwatch import timecalc
        expected = [timecalc.parse_iso(r["at"]) for r in forecast["reminders"]] + [
            timecalc.parse_iso(forecast["clinical_due_at"]), timecalc.parse_iso(forecast["appointment_reminder_at"]),
            timecalc.parse_iso(json.loads(settings.read_text())["refill"]["next_appointment"])]
        assert starts == sorted(expected)
        for name in ("reservoir.png", "summary.pdf", "pumpwatch-high.wav", "README.txt"):
            assert (tmp_path / "unit" / name).stat().st_size > 0, name
        again = clinic.run("handout", "--out", str(tmp_path / "unit"))
        assert again.returncode == 2 and "--force" in again.stderr
    finally:
        clinic.emu.close()
