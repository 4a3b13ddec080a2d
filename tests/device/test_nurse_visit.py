"""A whole refill visit, through the command line only, as a nurse does it:
the unit was synced at the last visit 30 days ago and its clock has run 4 h
ahead since.  Pair with the unit's button, status (the clock warning), time
set (a jump that needs consent), refill (before the sync), sync (the
programmer check catches a typo first), log, history."""

from __future__ import annotations

import json
import re
import time

from clinic import clinic_with_unit, settings_for_now


def test_a_refill_visit_from_pairing_to_history(tmp_path):
    clinic = clinic_with_unit(tmp_path)  # paired with the unit's long press
    try:
        last_visit = settings_for_now(tmp_path, "last-visit.json", refilled_ago_s=30 * 86400)
        # last month's visit, synced from the clinic's other computer
        assert clinic.run("sync", str(last_visit), "--yes", db=tmp_path / "other-computer.sqlite").returncode == 0
        clinic.emu.advance(4 * 3600 + 20)  # the unit's clock drifted 4 h ahead

        status = clinic.run("status")
        assert status.returncode == 0
        assert "WARNING    the unit's clock is 4 h 0 min ahead of this computer's: run pumpsync time set" \
            in status.stdout
        assert "remaining" in status.stdout and "UTC+01:00" in status.stdout
        assert "REFILL DUE" in status.stdout and "book the refill by then" in status.stdout
        assert "refill alarm" in status.stdout  # the unit's own alarm, a margin later

        refused = clinic.run("time", "set")
        assert refused.returncode == 2 and "4 h 0 min ahead" in refused.stderr and "--confirm clock-jump" in \
            refused.stderr
        set_clock = clinic.run("time", "set", "--confirm", "clock-jump")
        assert set_clock.returncode == 0 and "it was 4 h 0 min ahead of this computer's" in set_clock.stdout

        expected = json.loads(clinic.run("status", "--json").stdout)["forecast"]["volume_ml_nominal"]
        refill = clinic.run("refill", "--returned-ml", f"{float(expected):.2f}")
        assert refill.returncode == 0 and "within tolerance" in refill.stdout

        def typo(doc):
            doc["programmer"]["daily_dose_mcg"] = 40.0  # the dose read off the printout with a digit missing

        new = settings_for_now(tmp_path, "this-visit.json", change=lambda d: d["therapy"]["steps"][0].update(
            mcg_per_day=440))
        mistyped = tmp_path / "typo.json"
        doc = json.loads(new.read_text())
        typo(doc)
        mistyped.write_text(json.dumps(doc))
        caught = clinic.run("sync", str(mistyped), "--yes")
        assert caught.returncode == 2 and "programmer.daily_dose_mcg" in caught.stderr

        synced = clinic.run("sync", str(new), "--yes")
        assert synced.returncode == 0, synced.stderr
        assert "average dose" in synced.stdout and "<- changed" in synced.stdout
        assert "Written and verified" in synced.stdout and "UTC+01:00" in synced.stdout

        log = clinic.run("log")
        lines = log.stdout.splitlines()
        assert log.returncode == 0
        for event in ("paired", "settings", "time_set", "refill"):
            assert any(f"  {event}" in line for line in lines), event
        assert all("UTC" in line[:40] or "(time unknown)" in line for line in lines)

        history = clinic.run("history").stdout.splitlines()
        visit_kinds = ("pair", "sync", "time_set", "refill")
        kinds = [next((word for word in line.split() if word in visit_kinds), None) for line in history]
        assert [k for k in kinds if k] == \
            ["pair", "time_set", "time_set", "refill", "sync"]  # the unit's clock: refused, then set
        # the mistyped file was refused before any unit was touched: nothing to record
        assert "refused" in history[1] and " ok " in history[-1]
        # today's date in the zone the line names (the patient's: past 23:00 UTC, Berlin is tomorrow)
        offset = re.search(r"UTC([+-])(\d\d):(\d\d)", history[-1])
        shift = 0 if offset is None else (1 if offset[1] == "+" else -1) * (int(offset[2]) * 3600 + int(offset[3]) * 60)
        assert time.strftime("%Y-%m-%d", time.gmtime(time.time() + shift)) in history[-1], history[-1]
    finally:
        clinic.emu.close()
