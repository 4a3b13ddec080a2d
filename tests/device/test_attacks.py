"""Attacks on the unit through its USB port and its button, each reproduced.

Who is on the port: anyone who can plug in a cable (docs/security.md).  What
must hold: the unit never stops monitoring, never drops into a REPL, never
takes a key without a fresh press on the unit, and never lets a clock change
or a flood of noise silence an alarm or erase its evidence.  Memory and
hostile-input claims run on the unix backend (a real fixed heap, littlefs,
the .mpy build); the rest on the default emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pumpsync import scenario, unit_commands
from pumpsync.client import UnitClient, UnitError
from pumpsync.emulator import Emulator
from pumpwatch import protocol, readback, sounds
from pumpwatch.conditions import EMPTY

from serial_helpers import pair

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# A heap at which settings load on the unix backend (64-bit objects, the emulator's own
# guest code on the heap too); `make bench` prints the smallest that passes each scenario.
UNIX_HEAP_KB = 192
SHORT_CYCLE = EXAMPLES / "partial-refill.json"


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power, button)")


def _settings_text(path: Path, now: int) -> str:
    return unit_commands.checked_settings(argparse.Namespace(settings=str(path), confirm=[]), now)[1]


def _synced(emu: Emulator, path: Path = SHORT_CYCLE) -> tuple[UnitClient, bytes]:
    """Pair a fresh unit over its port and give it settings; (open client, key)."""
    client = UnitClient(emu.port)
    key = pair(emu, client)
    client.put_settings(_settings_text(path, int(emu.now())))
    return client, key


def _evidence(emu: Emulator) -> list[dict]:
    entries = []
    for name in emu.list_flash("/data"):
        if name.startswith("events.") and name.endswith(".log"):
            number = int(name.split(".")[1])
            data = emu.read_flash("/data/" + name) or b""
            entries += [(number, i, readback.parse_line(line)) for i, line in enumerate(data.split(b"\n")) if line]
    return [e for _, _, e in sorted(entries) if e is not None]


def _alarming(emu: Emulator, seconds: float = 10) -> set[int]:
    start = emu.now() * 1000
    emu.advance(seconds)
    return {hz for t, hz in emu.buzzer_log() if t >= start and hz}


def _low_at(path: Path = SHORT_CYCLE) -> int:
    from pumpsync import settings_file
    from pumpwatch.forecast import Forecast

    loaded = settings_file.load(path, None)
    return Forecast(loaded.prescription, loaded.prescription.refill_at).low_reservoir_at


# ---------------------------------------------------------------------- memory bombs, a fixed heap
BOMBS = [b"[" * 16000, b"[" + b"[]," * 5000 + b"[]]", b'{"a":' * 3000, b"[" + b"1," * 7000 + b"1]",
         b'{"v":1,"id":1,"m":"hello","a":{"x":' + b"9" * 15000 + b"}}",
         b'{"v":1,"id":1,"m":"log","a":{"cursor":[' + b"1," * 7000 + b"1]}}"]


def test_memory_bombs_on_a_fixed_heap_get_error_replies_and_the_alarm_keeps_sounding(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0, backend="unix",
                  heap_kb=128) as emu:
        emu.advance(2)
        client = UnitClient(emu.port)
        pair(emu, client)
        emu.advance(60)  # a factory-fresh unit sounds its medium "no settings" alarm
        for bomb in BOMBS:
            for _ in range(5):
                client.send_raw(protocol.MAGIC + protocol._crc(bomb) + b" - " + bomb + b"\n")
                for _ in range(20):  # the port delivers 16 KB to the unit in pieces
                    emu.advance(0.05)
            replies = client.read_frames(3, idle=0.3)
            # refused before parsing, or dropped because it did not fit: an error either way, never a crash
            assert replies and all(not r["ok"] and r["err"]["code"] in (protocol.BAD_FRAME, protocol.FAILED)
                                   for r in replies), bomb[:40]
        assert client.call("hello")["paired"] is True
        stats = emu.stats()
        assert stats["state"] == "sleeping" and stats["crashes"] == 0 and stats["boots"] == 1, stats
        assert sounds.C5 in _alarming(emu)
        client.close()


# ---------------------------------------------------------------------- no REPL, ever
def test_crashes_reset_into_monitoring_and_safe_mode_ignores_ctrl_c(tmp_path):
    scenario.prepare_unit(tmp_path / "unit", SHORT_CYCLE)
    with Emulator(state_dir=tmp_path / "unit", start_time=_low_at() + 60, speed=0) as emu:
        emu.advance(2)
        for _ in range(3):  # a firmware bug, three times in a row
            emu.inject_exception()
            emu.advance(2)
            assert emu.stats()["state"] == "sleeping"
        assert [e["e"] for e in _evidence(emu)].count("crash") == 3
        with UnitClient(emu.port) as client:
            client.send_raw(b"\x03\x03\r\n\x03\x01\x04")  # Ctrl-C, raw REPL, Ctrl-D
        emu.advance(5)
        assert emu.stats()["state"] == "sleeping"  # safe mode, still sounding, no REPL
        assert sounds.C5 in _alarming(emu)
        assert any(e.get("c") == "safe_mode" for e in _evidence(emu))


def test_three_maintenance_windows_do_not_count_as_crashes(tmp_path):
    from serial_helpers import enter_maintenance

    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        for _ in range(3):
            enter_maintenance(emu, minutes=1)
            emu.advance(70)  # the window ends by the watchdog, as on a board
            assert emu.stats()["state"] == "sleeping"
        assert not any(e.get("c") == "safe_mode" for e in _evidence(emu))
        assert [e["e"] for e in _evidence(emu)].count("crash") == 0


# ---------------------------------------------------------------------- pairing
def test_a_paired_unit_refuses_a_new_key_from_a_stranger(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        client, key = _synced(emu)
        with UnitClient(emu.port) as stranger:
            with pytest.raises(UnitError) as refused:
                stranger.call("pair", {"key": os.urandom(32).hex(), "name": "laptop"})
            assert refused.value.code == protocol.UNAUTHORISED
        emu.advance(1)
        emu.press(2000)  # even a long press now confirms nothing
        client.write("alarm_test", {"priority": "low"})  # the clinic's key still works
        assert client.call("keys")["names"] == ["test bench"]
        client.close()


def test_a_press_that_began_before_the_pairing_trill_ended_confirms_nothing(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            client.call("pair", {"key": os.urandom(32).hex(), "name": "laptop"})
            emu.press(2000)  # at once, during the trill: a press the patient did not make in answer to it
            assert client.call("pair_status")["state"] == "waiting"
            assert client.call("hello")["paired"] is False


def test_an_abandoned_pairing_request_can_never_be_confirmed_later(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            client.call("pair", {"key": os.urandom(32).hex(), "name": "abandoned"})  # then Ctrl-C on the host
            emu.advance(31)
            emu.press(2000)  # the patient checks their status the usual way
            assert client.call("hello")["paired"] is False
            assert client.call("pair_status")["state"] in ("expired", "none")
            key = pair(emu, client)  # a new request, confirmed
            assert client.call("keys")["names"] == ["test bench"]
            client.key = key
            client.write("alarm_test", {"priority": "low"})


def test_a_clinic_adds_names_lists_and_revokes_computers(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        client, first_key = _synced(emu)
        second_key = os.urandom(32)
        started = client.write("key_add", {"key": second_key.hex(), "name": "desk 2"})
        emu.advance(started["press_after_ms"] / 1000)
        emu.press(2000)
        assert client.call("pair_status")["state"] == "paired"
        assert client.call("keys")["names"] == ["test bench", "desk 2"]
        with UnitClient(emu.port, key=second_key, key_name="desk 2") as desk:
            desk.write("alarm_test", {"priority": "low"})
            assert desk.call("status", verified=True)["unit_id"]
        client.write("key_remove", {"name": "desk 2"})
        with UnitClient(emu.port, key=second_key, key_name="desk 2") as desk:
            with pytest.raises(UnitError) as refused:
                desk.write("alarm_test", {"priority": "low"})
            assert refused.value.code == protocol.UNAUTHORISED
        names = [e.get("name") for e in _evidence(emu) if e["e"] in ("paired", "key_removed")]
        assert names == ["test bench", "desk 2", "desk 2"]
        client.close()


def test_a_factory_reset_on_the_unit_takes_two_ten_second_holds_and_a_short_press_cancels(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        client, _ = _synced(emu)
        emu.press(10_500)
        emu.advance(3)
        emu.press(150)  # cancelled
        emu.advance(3)
        emu.press(10_500)
        assert client.call("hello")["paired"] is True
        emu.press(10_500)  # armed again by the first hold of this pair...
        emu.advance(3)
        emu.press(10_500)  # ...and confirmed
        emu.advance(3)
        assert client.call("hello")["paired"] is False
        assert client.call("settings_get")["text"] is None
        log = _evidence(emu)
        assert log[0]["e"] == "factory_reset" and log[0]["by"] == "button"
        assert [e["e"] for e in log].count("paired") == 0  # the old patient's log is gone
        client.close()


# ---------------------------------------------------------------------- a rogue device posing as a unit
def test_pumpsync_refuses_replies_not_signed_by_the_paired_unit(tmp_path):
    from fake_unit import RogueUnit

    keystore, db = tmp_path / "keys.json", tmp_path / "h.sqlite"
    from pumpsync.keystore import Keystore
    Keystore(keystore).store("0123456789ab", os.urandom(32), "desk")
    with RogueUnit("0123456789ab") as rogue:
        result = subprocess.run([sys.executable, "-m", "pumpsync", "sync", str(SHORT_CYCLE), "--port", rogue.port,
                                 "--keystore", str(keystore), "--db", str(db), "--yes", "--confirm", "clock-jump"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "not signed" in result.stderr, result.stderr
        assert "Written and verified" not in result.stdout
        history = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(db), "--json"],
                                 capture_output=True, text=True, timeout=60)
        assert all(h["result"] != "ok" for h in json.loads(history.stdout) if h["kind"] == "sync")
        log = subprocess.run([sys.executable, "-m", "pumpsync", "log", "--port", rogue.port, "--keystore",
                              str(keystore), "--db", str(db)], capture_output=True, text=True, timeout=60)
        assert log.returncode != 0 and "not signed" in log.stderr  # a paired computer wants signed pages
        unpaired = subprocess.run([sys.executable, "-m", "pumpsync", "log", "--port", rogue.port, "--keystore",
                                   str(tmp_path / "none.json"), "--db", str(db)], capture_output=True, text=True,
                                  timeout=120)
        assert "\x1b" not in unpaired.stdout and "\\x1b" in unpaired.stdout  # escapes shown, never sent raw
        assert rogue.log_pages_served <= 2 * unit_commands.MAX_LOG_PAGES + 2  # paging ended (two logs)


# ---------------------------------------------------------------------- clocks
def test_a_clock_set_a_year_ahead_and_back_cannot_silence_empty(tmp_path):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", SHORT_CYCLE)
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.empty_at + 60, speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            pair(emu, client)
            right = int(emu.now())
            client.write("time_set", {"epoch": right + 365 * 86400, "jump_ok": True})
            emu.advance(1)
            client.write("ack", {})
            client.write("time_set", {"epoch": int(emu.now()), "jump_ok": True})
            with pytest.raises(UnitError, match="confirm the jump"):
                client.write("time_set", {"epoch": int(emu.now()) + 86400})
        emu.advance(15 * 60 + 2)
        assert {sounds.C5, sounds.G5} <= _alarming(emu, 8)  # EMPTY again after its 15-minute pause
        jumps = [(e["from"], e["to"]) for e in _evidence(emu) if e["e"] == "time_set"]
        assert jumps[0] == (right, right + 365 * 86400) and len(jumps) == 2


# ---------------------------------------------------------------------- settings that would crash-loop
def test_settings_that_overflow_are_refused_and_a_placed_one_sounds_the_fault(tmp_path):
    bad = json.loads(SHORT_CYCLE.read_text())
    bad["therapy"]["steps"][0]["mcg_per_day"] = 1e306
    bad["confirmed"] = ["dose-range"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    forecast = subprocess.run([sys.executable, "-m", "pumpsync", "forecast", str(path)], capture_output=True,
                              text=True, timeout=60)
    assert forecast.returncode == 2 and "Traceback" not in forecast.stderr
    assert "therapy.steps[0].mcg_per_day: must be at most" in forecast.stderr
    _, good = scenario.prepare_unit(tmp_path / "unit", SHORT_CYCLE)
    (tmp_path / "unit" / "flash" / "settings.json").write_text(json.dumps(bad))  # placed by hand, then boot
    with Emulator(state_dir=tmp_path / "unit", start_time=good.prescription.refill_at + 60, speed=0) as emu:
        emu.advance(30)
        stats = emu.stats()
        assert stats["boots"] == 1 and stats["state"] == "sleeping"
        assert any(e.get("c") == "settings_rejected" for e in _evidence(emu))
        assert sounds.C5 in _alarming(emu)


# ---------------------------------------------------------------------- the log as evidence
def test_a_day_of_refused_writes_cannot_rotate_the_evidence_away(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0,
                  measure_heap=False) as emu:
        emu.advance(2)
        client, _ = _synced(emu)
        with UnitClient(emu.port, key=bytes(32), key_name="test bench") as forger:
            for minute in range(25 * 60):
                forger.send_raw(protocol.encode({"v": 1, "id": minute, "m": "log_clear", "a": {},
                                                 "nonce": "00" * 16, "kid": "test bench"}, bytes(32)))
                assert forger._read_line(time.monotonic() + 10) is not None  # refused: then the next minute
                emu.advance(60)
        kinds = [e["e"] for e in _evidence(emu)]
        assert kinds[:1] == ["boot"] and "paired" in kinds and "settings" in kinds
        assert kinds.count("auth_rejected") == 1  # the first refusal of this boot; the rest are counted
        noise = b"".join(emu.read_flash("/data/" + n) or b"" for n in emu.list_flash("/data") if n.startswith("noise"))
        summaries = [readback.parse_line(line) for line in noise.split(b"\n") if line]
        assert 20 <= sum(1 for s in summaries if s and s["e"] == "auth_rejected") <= 26
        assert sum(s["n"] for s in summaries if s and s["e"] == "auth_rejected") >= 25 * 60 - 61
        client.close()


def test_log_clear_and_factory_reset_leave_no_older_log_file(tmp_path):
    scenario.prepare_unit(tmp_path / "unit", SHORT_CYCLE)
    data = tmp_path / "unit" / "flash" / "data"
    data.mkdir()
    for name in ("events.log.3", "events.log.2", "events.log.1", "events.log"):  # firmware 0.1's files
        (data / name).write_bytes(b"0badc0de {\"e\": \"old patient\"}\n")
    with Emulator(state_dir=tmp_path / "unit", start_time=_low_at() - 3600, speed=0) as emu:
        emu.advance(2)
        assert not [n for n in emu.list_flash("/data") if n.startswith("events.log")]  # taken over
        with UnitClient(emu.port) as client:
            pair(emu, client)
            client.write("log_clear", {})
            assert [n for n in emu.list_flash("/data") if n.startswith(("events", "noise"))] == ["events.1.log"]
            client.write("factory_reset", {})
        emu.advance(3)
        assert "old patient" not in json.dumps(_evidence(emu))
        assert not [n for n in emu.list_flash("/data") if n in ("keys.rec", "settings.rec", "state.rec")]


def test_a_stray_byte_on_the_line_does_not_break_the_next_command(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as first:
            first.send_raw(b"x")  # a terminal left a byte, no newline
        emu.advance(0.5)
        with UnitClient(emu.port, timeout=2) as client:
            assert client.call("hello")["protocol"] == protocol.VERSION


def test_status_and_settings_replies_to_a_paired_computer_carry_the_units_mac(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        client, key = _synced(emu)
        assert client.call("status", verified=True)["unit_id"]
        assert client.call("settings_get", verified=True)["text"]
        with UnitClient(emu.port, key=os.urandom(32), key_name="test bench") as impostor_view:
            with pytest.raises(UnitError) as refused:
                impostor_view.call("status", verified=True)  # a MAC with the unit's key, not this one
            assert refused.value.code == "unauthenticated_reply"
        client.close()


def test_empty_keeps_returning_after_every_pause_across_a_tick_wrap_on_the_unix_backend(tmp_path):
    """The unix backend's ticks wrap too (10 minutes after boot); EMPTY comes back after each pause."""
    _, forecast = scenario.prepare_unit(tmp_path / "unit", SHORT_CYCLE, compiled=True)
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.empty_at + 5, speed=0, backend="unix",
                  heap_kb=UNIX_HEAP_KB, measure_heap=False) as emu:
        emu.advance(2)
        patient = scenario.PatientLog()
        scenario.live_until(emu, emu.now() + 2 * 86400, patient, ack_after_s=30)
        assert len(patient.presses) >= 2 * 86400 // (15 * 60 + 60)
        assert emu.stats()["state"] == "sleeping" and emu.stats()["crashes"] == 0
        assert EMPTY in json.dumps(_evidence(emu))
