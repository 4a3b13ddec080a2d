"""The nurse's pumpsync commands against an emulated unit, as run from a shell."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pumpsync.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def synced_unit(tmp_path):
    """A unit paired with this computer and synced with simple-continuous.json (virtual time frozen)."""
    yield from _synced(tmp_path, speed=0)


@pytest.fixture
def live_synced_unit(tmp_path):
    """The same, its virtual time running at real speed (so the unit plays whole sounds by itself)."""
    yield from _synced(tmp_path, speed=1)


def _synced(tmp_path, speed):
    keystore, db = tmp_path / "keys.json", tmp_path / "history.sqlite"

    def run(*args, check=True):
        result = subprocess.run([sys.executable, "-m", "pumpsync", *args, "--port", emu.port,
                                 "--keystore", str(keystore), "--db", str(db)],
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=speed) as emu:
        emu.advance(2)
        proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", emu.port, "--keystore",
                                 str(keystore), "--db", str(db)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        emu.advance(1)  # the pairing trill ends; the press that counts begins after it
        emu.press(2000)
        assert proc.wait(timeout=30) == 0
        # the emulated unit's clock starts on the example's refill day, days before this computer's
        run("sync", str(EXAMPLES / "simple-continuous.json"), "--yes", "--confirm", "clock-jump")
        run.emu, run.db, run.tmp = emu, db, tmp_path
        yield run


def _variant(tmp_path, name, change):
    """A new prescription, with what the programmer printed for it (as the nurse copies it)."""
    from printout import with_printout

    doc = json.loads((EXAMPLES / "simple-continuous.json").read_text())
    doc["refill"]["at"] = "2026-11-21T10:30:00Z"
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(with_printout(doc)))
    return path


def test_a_big_dose_jump_needs_a_confirmation_and_nothing_is_written_without_it(synced_unit):
    run = synced_unit
    bigger = _variant(run.tmp, "bigger.json", lambda d: d["therapy"]["steps"][0].update(mcg_per_day=600))
    refused = run("sync", str(bigger), "--yes", check=False)
    assert refused.returncode == 2
    assert "daily dose rises 50 %" in refused.stderr and "--confirm dose-change" in refused.stderr
    assert "<- changed" in refused.stdout  # the before/after table was shown
    status = json.loads(run("status", "--json").stdout)
    assert status["forecast"]["average_mcg_per_day"] == 400  # unchanged
    run("sync", str(bigger), "--yes", "--confirm", "dose-change")
    assert json.loads(run("status", "--json").stdout)["forecast"]["average_mcg_per_day"] == 600


def test_a_concentration_change_needs_a_confirmation(synced_unit):
    run = synced_unit
    diluted = _variant(run.tmp, "diluted.json", lambda d: d["drug"].update(concentration_mcg_per_ml=500))
    refused = run("sync", str(diluted), "--yes", check=False)
    assert refused.returncode == 2 and "--confirm concentration-change" in refused.stderr


def test_without_a_terminal_sync_never_waits_for_an_answer(synced_unit):
    run = synced_unit
    newer = _variant(run.tmp, "newer.json", lambda d: None)
    result = run("sync", str(newer), check=False)
    assert result.returncode == 2 and "add --yes" in result.stderr


def test_refill_reconciliation_flags_a_shortfall(synced_unit):
    run = synced_unit
    run.emu.advance(30 * 86400)
    # about 12 mL expected after 30 days at 412 mcg/day; only 6 mL came back
    flagged = run("refill", "--returned-ml", "6", "--json", check=False)
    assert flagged.returncode == 3  # scripts notice a flagged discrepancy
    result = json.loads(flagged.stdout)
    assert result["flagged"] is True and "leak or a pocket fill" in result["meaning"]
    ok = json.loads(run("refill", "--returned-ml", str(result["expected_ml"]), "--json").stdout)
    assert ok["flagged"] is False
    history = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(run.db), "--json"],
                             capture_output=True, text=True, check=True).stdout
    kinds = [(h["kind"], h["result"]) for h in json.loads(history)]
    assert ("refill", "flagged") in kinds and ("refill", "ok") in kinds


def test_log_download_as_csv_and_since(synced_unit, tmp_path):
    run = synced_unit
    run("alarm", "test", "low")
    out = tmp_path / "log.csv"
    run("log", "--csv", str(out))
    rows = list(csv.DictReader(out.open()))
    assert {"boot", "paired", "settings", "time_set", "alarm_test"} <= {r["event"] for r in rows}
    later = json.loads(run("log", "--json", "--since", "2030-01-01T00:00:00Z").stdout)
    assert later == []


def test_alarm_test_all_reads_out_and_plays_every_alarm_in_teaching_order(live_synced_unit):
    from pumpsync import alarm_words
    from pumpwatch import sounds

    run = live_synced_unit
    before = len(run.emu.buzzer_log())
    printed = run("alarm", "test", "all", "--pause", "0.2").stdout
    played = [hz for _, hz in run.emu.buzzer_log()[before:] if hz]
    assert played == [hz for p in sounds.ALARMS for hz, _ in p.segments if hz]  # each pattern's notes, in order
    titles = [printed.index(f"{name}: {alarm_words.WORDS[name].title}") for name in alarm_words.names()]
    assert titles == sorted(titles)
    assert "go to the emergency department now" in printed and "not your pump" in printed
    history = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(run.db), "--json"],
                             capture_output=True, text=True, check=True).stdout
    tested = [h["detail"]["pattern"] for h in json.loads(history) if h["kind"] == "alarm_test"]
    assert sorted(tested) == sorted(alarm_words.names())
    log = json.loads(run("log", "--json").stdout)
    assert [e["pattern"] for e in log if e.get("e") == "alarm_test"] == alarm_words.names()


def test_port_auto_refuses_to_guess_without_a_recognised_unit(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pumpsync", "status", "--port", "auto", "--keystore",
                             str(tmp_path / "k.json"), "--db", str(tmp_path / "h.sqlite")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no PumpWatch unit found" in result.stderr


def test_a_missing_port_is_one_sentence_not_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pumpsync", "status", "--port", "/dev/nonexistent-port",
                             "--keystore", str(tmp_path / "k.json"), "--db", str(tmp_path / "h.sqlite")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "cannot open /dev/nonexistent-port" in result.stderr
    assert "Traceback" not in result.stderr
