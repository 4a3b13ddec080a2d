"""What a nurse can still take back, and what a reviewer caught pumpsync doing
too early or saying wrongly: a declined sync leaves no refill record, a
typed confirmation is checked against the unit in the nurse's hand (its
label), revoking a key asks first, unpair holds the port for the whole
command, the history reads in local times, a damaged key entry gets the
right advice, and a reconciliation after this visit's sync is refused even
when the synced file kept an old refill date."""

from __future__ import annotations

import json
import subprocess
import sys

from clinic import settings_for_now


def _unit_id(clinic):
    return json.loads(clinic.run("status", "--json").stdout)["unit_id"]


def _refill_records(clinic):
    on_unit = [e for e in json.loads(clinic.run("log", "--json").stdout) if e.get("e") == "refill"]
    in_history = [h for h in clinic.history() if h["kind"] == "refill"]
    return on_unit, in_history


def test_a_declined_sync_with_a_returned_volume_leaves_no_refill_record(clinic):
    # last visit, a month ago, from another computer of the clinic
    last_visit = settings_for_now(clinic.tmp, name="last.json", refilled_ago_s=30 * 86400)
    assert clinic.run("sync", str(last_visit), "--yes", db=clinic.tmp / "front-desk.sqlite").returncode == 0
    this_visit = settings_for_now(clinic.tmp, name="this.json", refilled_ago_s=60)
    # no terminal and no --yes: nobody can answer "proceed?", so nothing may be kept
    declined = clinic.run("sync", str(this_visit), "--returned-ml", "19.9")
    assert declined.returncode == 2 and "add --yes" in declined.stderr
    assert "refill check" in declined.stdout  # the nurse saw the check before deciding
    on_unit, in_history = _refill_records(clinic)
    assert on_unit == [] and in_history == []
    accepted = clinic.run("sync", str(this_visit), "--returned-ml", "5", "--yes")
    assert accepted.returncode in (0, 3), accepted.stderr
    on_unit, in_history = _refill_records(clinic)
    assert len(on_unit) == 1 and len(in_history) == 1


def test_a_typed_confirmation_points_to_the_units_label_and_never_prints_the_id(synced):
    unit_id = _unit_id(synced)
    for command in (("log", "clear"), ("factory-reset",)):
        refused = synced.run(*command)
        assert refused.returncode == 2
        assert unit_id not in refused.stderr and unit_id not in refused.stdout
        assert "label" in refused.stderr and "--unit-id" in refused.stderr
        wrong = synced.run(*command, "--unit-id", "not-this-one")
        assert wrong.returncode == 2 and unit_id not in wrong.stderr and "nothing was" in wrong.stderr
    assert synced.run("status").returncode == 0  # still paired, settings kept


def test_revoking_a_key_asks_first(clinic):
    other = clinic.tmp / "other-keys.json"
    adder = subprocess.Popen([sys.executable, "-m", "pumpsync", "keys", "add", "front-desk", "--to", str(other),
                              "--port", clinic.emu.port, "--keystore", str(clinic.keystore), "--db",
                              str(clinic.db)], stdout=subprocess.PIPE, text=True, env=clinic.env)
    adder.stdout.readline()
    import time
    time.sleep(1.2)
    clinic.emu.press(2000)
    assert adder.wait(timeout=30) == 0
    declined = clinic.run("keys", "revoke", "front-desk")
    assert declined.returncode == 2 and "add --yes" in declined.stderr
    assert "front-desk" in clinic.run("keys", "list").stdout
    assert clinic.run("keys", "revoke", "front-desk", "--yes").returncode == 0
    assert "front-desk" not in clinic.run("keys", "list").stdout


def test_unpair_talks_to_the_unit_in_one_session_so_no_other_pumpsync_slips_in(clinic, monkeypatch):
    from pumpsync import cli, session
    opened = []
    real_init = session.Session.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(session.Session, "__init__", counting_init)
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(clinic.tmp / "run"))
    code = cli.main(["unpair", "--yes", "--port", clinic.emu.port, "--keystore", str(clinic.keystore), "--db",
                     str(clinic.db)])
    assert code == 0
    assert len(opened) == 1
    assert json.loads(clinic.keystore.read_text())["units"] == {}


def test_history_text_reads_in_the_patients_local_time_not_utc_iso(synced):
    text = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(synced.db)],
                          capture_output=True, text=True, check=True).stdout
    sync_line = next(line for line in text.splitlines() if " sync " in line and " ok " in line)
    assert "refill_due_at=" in sync_line or "due" in sync_line
    assert "Z" not in sync_line.replace("Zone", "")  # no UTC ISO like 2027-01-01T10:00:00Z
    assert sync_line.count("UTC+01:00") >= 2  # when it happened and when the refill is due, one zone


def test_a_damaged_key_entry_does_not_send_the_nurse_to_pair_again(synced):
    data = json.loads(synced.keystore.read_text())
    unit_id = next(iter(data["units"]))
    data["units"][unit_id]["key"] = "not hex"
    synced.keystore.write_text(json.dumps(data))
    result = synced.run("time", "set")  # a change needs the key
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "damaged" in result.stderr and "pair again" not in result.stderr
    assert "backup" in result.stderr and "keys add" in result.stderr
    status = synced.run("status")  # reading the unit is open: the nurse still sees what it sounds
    assert status.returncode == 0 and "WARNING" in status.stderr and "without this computer's key" in status.stderr


def test_a_refill_after_a_sync_whose_file_kept_an_old_refill_date_is_refused(synced):
    # the nurse synced a file whose refill.at still said last visit (40 days ago), then reconciles
    stale = settings_for_now(synced.tmp, name="stale.json", refilled_ago_s=40 * 86400)
    assert synced.run("sync", str(stale), "--yes", "--confirm", "older-refill").returncode == 0
    late = synced.run("refill", "--returned-ml", "10")
    assert late.returncode == 2 and "reconcile BEFORE the sync" in late.stderr
    assert [h for h in synced.history() if h["kind"] == "refill"][-1]["result"] == "refused"
