"""The ordinary mistakes of a busy clinic, against the emulated unit: a wrong
unit clock, two pumpsyncs on one port, a pulled cable, a damaged history, a
reconciliation in the wrong order, options before the command.  Each one gets
one clear sentence, the right exit code, and a history of what really happened."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cable import Cable
from clinic import EXAMPLES, clinic_with_unit, settings_for_now
from pumpsync.client import UnitClient, _pieces


def test_a_unit_clock_three_days_behind_is_named_as_the_units_clock_and_nothing_is_written(tmp_path):
    clinic = clinic_with_unit(tmp_path, clock_offset_s=-3 * 86400)
    try:
        result = clinic.run("sync", str(settings_for_now(tmp_path)), "--yes")
        assert result.returncode == 2
        assert "the unit's clock is 3.0 days behind this computer's" in result.stderr
        assert "pumpsync time set" in result.stderr and "nothing was written" in result.stderr
        assert "visit.json" not in result.stderr  # never blamed on the file
        status = json.loads(clinic.run("status", "--json").stdout)
        assert "no_settings" in status["active"]
        assert ("sync", "refused") in [(h["kind"], h["result"]) for h in clinic.history()]
        assert clinic.history()[-1]["detail"]["reason"] == "unit clock off"
    finally:
        clinic.emu.close()


def test_status_warns_when_the_units_clock_is_more_than_a_minute_off(tmp_path):
    clinic = clinic_with_unit(tmp_path, clock_offset_s=-125)
    try:
        text = clinic.run("status").stdout
        assert "WARNING" in text and "2 min" in text and "behind this computer's: run pumpsync time set" in text
        shown = clinic.run("time", "show").stdout
        assert "WARNING the unit's clock is 2 min" in shown
        assert clinic.run("time", "set").returncode == 0
        assert "WARNING" not in clinic.run("status").stdout
    finally:
        clinic.emu.close()


def test_a_second_pumpsync_on_a_port_in_use_is_told_at_once_which_unit_is_busy(clinic, monkeypatch):
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(clinic.tmp / "run"))
    with UnitClient(clinic.emu.port, command="sync") as first:
        unit_id = first.call("hello")["unit_id"]
        first.note_unit(unit_id)
        began = time.monotonic()
        second = clinic.run("status")
        assert time.monotonic() - began < 10
        assert second.returncode == 1
        assert "port busy" in second.stderr and f"talking to unit {unit_id}" in second.stderr
    assert clinic.run("status").returncode == 0  # free again


def test_a_cable_pulled_during_the_settings_write_changes_nothing_and_is_recorded_as_failed(synced):
    hourly = [{"start": "%02d:00" % h, "mcg_per_day": 400} for h in range(24)]
    new = settings_for_now(synced.tmp, "hourly.json", change=lambda d: d["therapy"].update(steps=hourly))
    assert len(list(_pieces(new.read_text()))) > 1
    with Cable(synced.emu.port) as cable:
        cable.pull_at("settings_put", 1)
        result = synced.run("sync", str(new), "--yes", port=cable.port, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "stopped answering during the settings write" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    status = json.loads(synced.run("status", "--json").stdout)
    assert status["forecast"]["average_mcg_per_day"] == 400  # the old settings
    assert synced.history()[-1]["kind"] == "sync" and synced.history()[-1]["result"] == "failed"


def test_a_cable_pulled_after_the_last_piece_says_the_new_settings_may_be_on_the_unit(synced):
    new = settings_for_now(synced.tmp, "next.json", change=lambda d: d["therapy"]["steps"][0].update(mcg_per_day=420))
    pieces = len(list(_pieces(new.read_text())))
    with Cable(synced.emu.port) as cable:
        cable.pull_at("settings_put", pieces, after=True)
        result = synced.run("sync", str(new), "--yes", "--timeout", "0.5", port=cable.port, timeout=90)
    assert result.returncode == 1
    assert "may be on the unit: run pumpsync status" in result.stderr
    assert synced.history()[-1]["result"] == "unknown"  # never "ok": the nurse saw it fail


def test_a_damaged_history_does_not_stop_the_visit_and_says_it_was_not_recorded(clinic):
    damaged = clinic.tmp / "damaged.sqlite"
    damaged.write_bytes(b"this is not a database " * 200)
    log = clinic.run("log", db=damaged)
    assert log.returncode == 0 and "paired" in log.stdout
    assert "history could not be written" in log.stderr and "damaged" in log.stderr
    shown = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(damaged)],
                           capture_output=True, text=True)
    assert shown.returncode == 1 and "damaged" in shown.stderr and "Traceback" not in shown.stderr


def test_a_mistyped_db_folder_is_an_error_and_no_folder_is_made(clinic):
    wrong = clinic.tmp / "no-such-folder" / "history.sqlite"
    result = clinic.run("status", db=wrong)
    assert result.returncode == 2 and "--db: the folder" in result.stderr and "does not exist" in result.stderr
    assert not wrong.parent.exists()


def test_refill_checks_its_input_and_refuses_after_this_visits_sync(synced):
    assert synced.run("refill", "--returned-ml", "0").returncode == 2
    too_much = synced.run("refill", "--returned-ml", "25")
    assert too_much.returncode == 2 and "20 mL reservoir" in too_much.stderr
    assert synced.run("refill", "--returned-ml", "5", "--flag-pct", "101").returncode == 2
    late = synced.run("refill", "--returned-ml", "19.9")
    assert late.returncode == 2 and "reconcile BEFORE the sync" in late.stderr


def test_unit_options_work_before_the_command(synced):
    result = subprocess.run([sys.executable, "-m", "pumpsync", "--port", synced.emu.port, "--keystore",
                             str(synced.keystore), "--db", str(synced.db), "status"], capture_output=True, text=True,
                            env=synced.env)
    assert result.returncode == 0, result.stderr
    assert "paired with this computer" in result.stdout


def test_status_speaks_the_patients_words_and_gives_the_battery_in_percent(clinic):
    text = clinic.run("status").stdout
    assert "no therapy settings" in text and "no_settings" not in text
    assert "3900 mV" in text and "%" in text


def test_status_of_a_unit_in_maintenance_says_it_is_not_monitoring(clinic):
    assert clinic.run("maintenance", "--minutes", "1").returncode == 0
    time.sleep(0.5)
    status = clinic.run("status", "--timeout", "1")
    assert status.returncode == 1 and "in maintenance" in status.stderr and "NOT MONITORING" in status.stderr


def test_log_since_a_date_csv_without_force_and_history_of_an_unknown_unit(synced):
    assert json.loads(synced.run("log", "--json", "--since", "2030-01-01").stdout) == []
    assert json.loads(synced.run("log", "--json", "--since", "2020-01-01").stdout)
    text = synced.run("log").stdout
    assert "Europe" in text or "UTC+" in text
    assert not any(ch.isdigit() and len(ch) == 10 for ch in text.split())  # no epoch seconds
    out = synced.tmp / "log.csv"
    out.write_text("kept")
    refused = synced.run("log", "--csv", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr and out.read_text() == "kept"
    assert synced.run("log", "--csv", str(out), "--force").returncode == 0
    unknown = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(synced.db), "--unit",
                              "000000000000"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "no records of unit 000000000000" in unknown.stderr
    syncs = [h for h in synced.history() if h["kind"] == "sync" and h["result"] == "ok"]
    assert isinstance(syncs[-1]["after"], dict) and syncs[-1]["after"]["pump"]["model"] == "SynchroMed II"


def test_ctrl_c_at_the_proceed_question_ends_in_one_line_and_nothing_is_written(clinic):
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "sync", str(settings_for_now(clinic.tmp)), "--port",
                             clinic.emu.port, "--keystore", str(clinic.keystore), "--db", str(clinic.db)],
                            stdin=slave, stdout=slave, stderr=slave, env=clinic.env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    assert b"[y/N]" in seen, seen
    time.sleep(0.3)  # it waits in input()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 1  # not done, and nothing unknown: the question came before the write
    rest = b""
    try:
        while True:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            rest += chunk
    except OSError:
        pass
    os.close(master)
    assert b"cancelled at the question: nothing was written" in rest and b"Traceback" not in seen + rest
    assert b"run pumpsync status" not in rest  # nothing to check: nothing was sent
    assert "no_settings" in json.loads(clinic.run("status", "--json").stdout)["active"]
    assert (clinic.history()[-1]["kind"], clinic.history()[-1]["result"]) == ("sync", "refused")
    assert clinic.history()[-1]["detail"]["reason"] == "cancelled"


def test_a_reader_that_stops_early_gets_no_error_and_no_traceback(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # `pumpsync ... | head` where head has already gone
    result = subprocess.run([sys.executable, "-m", "pumpsync", "forecast", str(EXAMPLES / "flex-night-boost.json")],
                            stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr and result.stderr == ""


def test_the_history_keeps_what_log_clear_erased(synced):
    refused = synced.run("log", "clear")
    assert refused.returncode == 2 and "--unit-id" in refused.stderr
    unit_id = json.loads(synced.run("status", "--json").stdout)["unit_id"]
    assert synced.run("log", "clear", "--unit-id", unit_id).returncode == 0
    kept = [h for h in synced.history() if h["detail"].get("reason") == "kept before log clear"]
    assert kept and any(e.get("e") == "paired" for e in kept[0]["detail"]["entries"])
    events = {e["e"] for e in json.loads(synced.run("log", "--json").stdout)}
    assert "paired" not in events and "log_cleared" in events


def test_database_written_by_a_sync_is_readable_sqlite(synced):
    with sqlite3.connect(synced.db) as db:
        assert db.execute("SELECT count(*) FROM events WHERE kind = 'sync' AND result = 'ok'").fetchone()[0] == 1
