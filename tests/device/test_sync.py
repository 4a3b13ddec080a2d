"""USB sync: pairing, authenticated writes, the nurse's pumpsync commands, robustness."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pumpsync import scenario
from pumpsync.client import UnitClient, UnitError
from pumpsync.emulator import Emulator
from pumpwatch import protocol, sounds, timecalc

from serial_helpers import pair

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The unit handles at most 16 frames a wake-up and the test waits for every reply,
# so 20 000 frames take ~40 s here; `make bench` runs hostile frames on a fixed heap.
FUZZ_FRAMES = 20_000


@pytest.fixture
def tools(tmp_path):
    """pumpsync run as a nurse runs it, with its own keystore and history database."""
    keystore, db = tmp_path / "keys.json", tmp_path / "history.sqlite"

    def run(*args, check=True, stdin=None):
        result = subprocess.run([sys.executable, "-m", "pumpsync", *args, "--keystore", str(keystore),
                                 "--db", str(db)] if args[0] not in ("forecast", "history") else
                                [sys.executable, "-m", "pumpsync", *args],
                                capture_output=True, text=True, timeout=120, stdin=stdin or subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"pumpsync {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    run.keystore, run.db = keystore, db
    return run


def _pair_with_cli(emu, tools):
    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", emu.port, "--keystore",
                             str(tools.keystore), "--db", str(tools.db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "press and HOLD" in proc.stdout.readline()
    emu.advance(1)  # the pairing trill ends; the press that counts begins after it
    emu.press(2000)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Paired" in out


def test_pair_sync_and_the_units_status_agrees_with_the_forecast(tmp_path, tools):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        _pair_with_cli(emu, tools)
        settings = EXAMPLES / "flex-night-boost.json"  # a tz file: the host resolves it for the unit
        refused = tools("sync", str(settings), "--port", emu.port, "--yes", check=False)
        assert refused.returncode == 2 and "--confirm clock-jump" in refused.stderr  # the unit lives in 2026-11-20
        synced = tools("sync", str(settings), "--port", emu.port, "--yes", "--confirm", "clock-jump")
        assert "Written and verified" in synced.stdout
        assert "REFILL DUE 2027-01-16 18:46 Europe/Berlin (UTC+01:00)" in synced.stdout
        assert "refill alarm: 2027-01-19 18:46 Europe/Berlin (UTC+01:00)" in synced.stdout
        status = json.loads(tools("status", "--port", emu.port, "--json").stdout)
        unit_time = timecalc.format_iso(timecalc.parse_iso(status["clock"]["unit"]))
        expected = json.loads(tools("forecast", str(settings), "--json", "--at", unit_time).stdout)
        assert status["forecast"] == expected
        assert status["refill_due_at"] == expected["refill_due_at"]
        assert abs(status["clock"]["drift_s"]) < 5  # sync set the unit's clock
        history = json.loads(tools("history", "--db", str(tools.db), "--json").stdout)
        # the refused sync changed nothing; the confirmed one set the far-off clock first, then wrote
        assert [(h["kind"], h["result"]) for h in history] == [("pair", "ok"), ("sync", "refused"), ("time_set", "ok"),
                                                               ("sync", "ok")]
        assert history[3]["after"] and history[3]["unit_id"] == status["unit_id"]


def test_an_unpaired_computer_cannot_change_anything(tmp_path, tools):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        _pair_with_cli(emu, tools)
        tools("sync", str(EXAMPLES / "simple-continuous.json"), "--port", emu.port, "--yes", "--confirm", "clock-jump")
        with UnitClient(emu.port) as client:
            before = client.call("settings_get")["text"]
            time_before = client.call("hello")["time"]
        stranger = tmp_path / "stranger-keys.json"
        for args in (["sync", str(EXAMPLES / "large-pump-500.json"), "--yes"], ["time", "set"],
                     ["alarm", "test"], ["maintenance"]):
            result = subprocess.run([sys.executable, "-m", "pumpsync", *args, "--port", emu.port,
                                     "--keystore", str(stranger), "--db", str(tmp_path / "s.sqlite")],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 1 and "not paired with this computer" in result.stderr, args
        # a forged key gets past pumpsync but not the unit
        with UnitClient(emu.port, key=bytes(32)) as forger:
            for method, args in (("settings_put", {"text": "{}"}), ("time_set", {"epoch": 1800000000}),
                                 ("ack", {}), ("log_clear", {}), ("maintenance", {}), ("factory_reset", {}),
                                 ("alarm_test", {})):
                with pytest.raises(UnitError) as refused:
                    forger.write(method, args)
                assert refused.value.code == protocol.UNAUTHORISED and "wrong key" in str(refused.value)
            assert forger.call("settings_get")["text"] == before
            assert forger.call("hello")["time"] == time_before
        emu.advance(5)
        assert emu.stats()["state"] == "sleeping"


def test_a_captured_write_frame_replayed_is_rejected(tmp_path):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "simple-continuous.json")
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 300, speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            key = pair(emu, client)
            original = client.call("settings_get")["text"]
            nonce = client.call("nonce")["nonce"]
            captured = protocol.encode({"v": 1, "id": 7, "m": "settings_put", "nonce": nonce,
                                        "a": {"text": (EXAMPLES / "large-pump-500.json").read_text()}}, key)
            client.send_raw(captured)
            first = client.read_frames(2)
            assert first[0]["ok"]
            changed = client.call("settings_get")["text"]
            assert changed != original
            client.call("nonce")  # a new nonce is outstanding; the captured frame carries the old one
            for _ in range(3):
                client.send_raw(captured)
                reply = client.read_frames(1)[0]
                assert reply["ok"] is False and reply["err"]["code"] == protocol.UNAUTHORISED
            assert client.call("settings_get")["text"] == changed


def test_alarm_bursts_keep_their_timing_during_a_ten_minute_sync_session(tmp_path):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "partial-refill.json")
    low_at = forecast.low_reservoir_at
    with Emulator(state_dir=tmp_path / "unit", start_time=low_at - 60, speed=0) as emu:
        emu.advance(61)  # the medium low-reservoir alarm is sounding
        rng = random.Random(5)
        requests = 0
        with UnitClient(emu.port) as client:
            key = pair(emu, client)  # a long press: not an acknowledgement
            session_start = emu.now()
            while emu.now() < session_start + 600:
                emu.advance(rng.uniform(0.2, 3.0))
                method = rng.choice(["hello", "status", "settings_get", "log", "nonce"])
                client.call(method, {"cursor": None} if method == "log" else {})
                requests += 1
            client.key = key
            client.write("time_set", {"epoch": int(emu.now())})
        starts = [t / 1000 for t, hz in emu.buzzer_log() if hz == sounds.C5 and session_start <= t / 1000]
        gaps = {round(b - a, 3) for a, b in zip(starts, starts[1:])}
        assert requests > 300
        # the session ends 11 minutes into the alarm, before escalation (30 min): every medium burst
        # starts exactly one repeat period (4.75 s) after the last, whatever the serial traffic
        assert gaps == {sounds.MEDIUM_ALARM.repeat_ms / 1000}, sorted(gaps)[:5]


def _random_frames(rng: random.Random, good: list[bytes], count: int):
    methods = list(("hello", "status", "nonce", "pair_status", "settings_get", "log", "settings_put", "time_set",
                    "ack", "log_clear", "maintenance", "factory_reset", "alarm_test", "refill", "bogus"))
    values = [None, True, 0, -1, 2**40, 1.5, "", "x" * 50, [], {}, [1, "a"], {"k": "v"}]
    for _ in range(count):
        kind = rng.random()
        if kind < 0.25:  # noise
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 80))).replace(b"\n", b"") + b"\n"
        elif kind < 0.5:  # a good frame, mutated
            frame = bytearray(rng.choice(good))
            for _ in range(rng.randint(1, 4)):
                frame[rng.randrange(len(frame) - 1)] = rng.getrandbits(8)
            yield bytes(frame).replace(b"\n", b"") + b"\n"
        else:  # a well-formed frame with random content (and a random or no MAC)
            message = {"v": rng.choice([1, 1, 1, 2, "1"]), "id": rng.choice([rng.randint(0, 10**6), "x", None]),
                       "m": rng.choice(methods),
                       "a": {rng.choice(["text", "epoch", "key", "cursor", "log", "name", "priority", "minutes", "jump_ok"]):
                             rng.choice(values) for _ in range(rng.randint(0, 3))}}
            if rng.random() < 0.5:
                message["nonce"] = "%032x" % rng.getrandbits(128)
            key = bytes(rng.getrandbits(8) for _ in range(32)) if rng.random() < 0.5 else None
            yield protocol.encode(message, key)


def test_fuzzing_the_port_never_crashes_silences_or_changes_the_unit(tmp_path):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "partial-refill.json")
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.low_reservoir_at - 10, speed=0,
                  measure_heap=False) as emu:
        emu.advance(11)  # sounding its medium alarm
        flash = emu.flash_dir / "data"
        before = {name: (flash / name).read_bytes() for name in ("settings.rec", "unit.rec")
                  if (flash / name).exists()}
        with UnitClient(emu.port) as client:
            before["settings"] = client.call("settings_get")["text"]
            good = [protocol.encode({"v": 1, "id": i, "m": m, "a": {}}) for i, m in
                    enumerate(["hello", "status", "log", "settings_get", "time_set", "settings_put"])]
            rng = random.Random(2026)
            sent = replies = 0
            frames = list(_random_frames(rng, good, FUZZ_FRAMES))
            for start in range(0, len(frames), 60):
                batch = frames[start:start + 60]
                client.send_raw(b"".join(batch))
                sent += len(batch)
                got = client.read_frames(5, idle=0.05)
                for reply in got:
                    replies += 1
                    assert "_undecodable" not in reply, reply
                    assert reply["v"] == 1 and (reply["ok"] is True or reply["err"]["code"] in protocol.ERROR_CODES)
                    if reply["ok"]:  # only open reads may succeed
                        assert set(reply["r"]) & {"firmware", "nonce", "lines", "state", "text", "unit_id",
                                                  "active"}, reply
                if start % 6000 == 0:
                    emu.advance(0.5)
            assert sent >= FUZZ_FRAMES
            emu.advance(10)
            client.read_frames(3, idle=0.5)  # late answers to the fuzz (id null) are not the next call's
            assert client.call("settings_get")["text"] == before["settings"]
            hello = client.call("hello")
            assert hello["paired"] is False
        for name in ("settings.rec", "unit.rec"):
            if name in before:
                assert (flash / name).read_bytes() == before[name]
        stats = emu.stats()
        assert stats["watchdog_resets"] == 0 and stats["state"] == "sleeping"
        recent = [hz for t, hz in emu.buzzer_log() if t >= (emu.now() - 9) * 1000 and hz]
        assert sounds.C5 in recent  # still alarming
        print(f"\nfuzz: {sent} frames sent, {replies} replies, all valid errors or open reads")


def test_settings_the_unit_refuses_come_back_with_every_field_named(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            pair(emu, client)
            bad = json.loads((EXAMPLES / "simple-continuous.json").read_text())
            bad["pump"]["reservoir_ml"] = "20"
            bad["therapy"]["steps"][0]["start"] = "25:00"
            with pytest.raises(UnitError) as refused:
                client.put_settings(json.dumps(bad))
            assert refused.value.code == protocol.INVALID_SETTINGS
            assert 'pump.reservoir_ml: must be a number, not "20"' in refused.value.fields
            assert 'therapy.steps[0].start: "25:00" is not HH:MM' in refused.value.fields
            assert client.call("settings_get")["text"] is None  # nothing was stored
