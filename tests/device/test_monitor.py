"""The unit's job, proven on the emulated unit: remind, alarm by priority, latch, survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpsync import scenario
from pumpsync.emulator import Emulator
from pumpwatch import readback, records, sounds, timecalc
from pumpwatch.alarm_policy import DONE, HIGH_PAUSE_S, MEDIUM_PAUSE_S, AlarmPolicy
from pumpwatch.conditions import PRIORITY, Schedule, kind_of
from pumpwatch.plan import condition_starts

from serial_helpers import pair
from sound_helpers import ALARM_TONES, alarm_bursts, pattern_for, sound_starts, sounding_instants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHORT_CYCLE = EXAMPLES / "partial-refill.json"  # runs low in ~4 days: a whole cycle in ~1.5 s


@pytest.fixture
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power)")


def _burst_at(buzzer, start_ms, pattern):
    """[(Hz, ms)] the buzzer played for one burst of `pattern` from `start_ms`."""
    changes = [(t, hz) for t, hz in buzzer if start_ms <= t <= start_ms + pattern.length_ms]
    return [(hz, b[0] - a) for (a, hz), b in zip(changes, changes[1:] + [(start_ms + pattern.length_ms, 0)])
            if b[0] > a]


def test_a_full_refill_cycle_sounds_each_condition_at_its_instant_with_its_pattern(tmp_path, hardware_free):
    result = scenario.run_cycle(tmp_path / "unit", SHORT_CYCLE, ack_after_s=30)
    starts = sounding_instants(result.forecast)
    heard = sound_starts(result.buzzer)
    for at, cid in starts:
        if at > result.ended:
            continue
        onset = min((t for t in heard if abs(t - at) <= 1), default=None)
        assert onset is not None, f"{cid} did not sound at {at}"
        pattern = pattern_for(cid)
        burst = _burst_at(result.buzzer, int(onset * 1000), pattern)
        assert burst == [(hz, ms) for hz, ms in pattern.segments], cid
    assert {kind_of(cid) for when, cid in starts if when <= result.ended} >= {"reminder", "low_reservoir", "empty"}


def test_each_press_silences_at_once_and_the_pause_follows_the_priority(tmp_path, hardware_free):
    result = scenario.run_cycle(tmp_path / "unit", SHORT_CYCLE, ack_after_s=30)
    acks = [e for e in result.log if e["e"] == "ack"]
    assert len(acks) == len(result.patient.presses) >= 5
    starts = sorted(at for at, _ in sounding_instants(result.forecast))
    policy = AlarmPolicy(result.forecast.prescription.high_withdrawal_risk, result.forecast.days)
    heard = sound_starts(result.buzzer)
    for ack, press in zip(acks, result.patient.presses):
        release_ms = round((press.at + 0.150) * 1000)
        state_at_release = [hz for t, hz in result.buzzer if t <= release_ms][-1]
        assert state_at_release == 0  # silent the moment the button is released
        for cid, until in zip(ack["c"], ack["until"]):
            priority = PRIORITY[kind_of(cid)]
            nominal = {sounds.LOW: DONE, sounds.MEDIUM: ack["t"] + MEDIUM_PAUSE_S,
                       sounds.HIGH: ack["t"] + HIGH_PAUSE_S}[priority]
            assert until == policy.paused_until(cid, ack["t"]), cid
            assert until == nominal or policy.days.sounds_at(nominal) == until, cid  # or moved into the day
        # the next sound is the end of the shortest pause, or a new condition, whichever first
        resume = min([u for u in ack["until"] if u > 0] + [s for s in starts if s > ack["t"]], default=None)
        following = [t for t in heard if t * 1000 > release_ms]
        if resume is not None and resume < result.ended:
            assert following and abs(following[0] - resume) <= 1, (ack, following[:1], resume)
        else:
            assert not following or following[0] >= result.ended


def _run_until_cut(state: Path, cut_at: int):
    _, forecast = scenario.prepare_unit(state, SHORT_CYCLE)
    start = forecast.prescription.refill_at + 300
    end = forecast.empty_at + 3600
    emu = Emulator(state_dir=state, start_time=start, speed=0)
    emu.cut_power_at_flash_write(cut_at)
    emu.start()
    scenario.live_until(emu, end, scenario.PatientLog(), ack_after_s=30)
    return emu, forecast


def test_a_power_cut_at_every_other_flash_write_loses_nothing_completed(tmp_path, hardware_free):
    # every other write and the last (the suite's time budget); the unix backend's littlefs
    # sweep (test_power_cuts.py, make bench) cuts inside the writes themselves
    reference = scenario.run_cycle(tmp_path / "reference", SHORT_CYCLE, ack_after_s=30)
    total = reference.stats["flash_writes"]
    reference_acks = [e for e in reference.log if e["e"] == "ack"]
    tried = 0
    cuts = sorted(set(range(1, total + 1, 2)) | {total})
    for cut_at in cuts:
        state = tmp_path / f"cut{cut_at}"
        emu, forecast = _run_until_cut(state, cut_at)
        try:
            assert not emu.stats()["powered"], f"no power cut at write {cut_at}"
            tried += 1
            cut_time = emu.now()
            flash = emu.flash_dir
            # The flash as the cut left it: the event log parses and is the reference's
            # up to the cut, at most the in-flight record missing.
            entries, dropped = readback.entries(records.EventLog(str(flash / "data"))) \
                if (flash / "data").exists() else ([], 0)
            assert dropped == 0
            assert entries == reference.log[:len(entries)]
            # acknowledgements: the state holds every ack the log holds, and at most the in-flight one more
            state_rec = readback.read_record(str(flash / "data" / "state.rec")) or {"acks": {}}
            logged = {}
            for e in entries:
                if e["e"] == "ack":
                    logged.update(zip(e["c"], e["until"]))
            acks = state_rec["acks"]
            if acks != logged:
                in_flight = reference_acks[len([e for e in entries if e["e"] == "ack"])]
                assert acks == dict(logged, **dict(zip(in_flight["c"], in_flight["until"]))), cut_at
            # power back: settings intact (or re-imported from the file the technician placed)
            emu.boot()
            emu.advance(10)
            stored = readback.read_record(str(flash / "data" / "settings.rec"))
            assert stored["text"] == (flash / "settings.json").read_text()
            # and what is due by now sounds
            plan_starts = condition_starts(forecast.prescription, forecast)
            now = int(emu.now()) - 5
            top, _, _ = AlarmPolicy(days=forecast.days).sounding(Schedule(plan_starts).active(now), acks, now)
            alarm_after_boot = [hz for t, hz in emu.buzzer_log() if t >= cut_time * 1000 and hz in ALARM_TONES]
            assert bool(alarm_after_boot) == (top > 0), (cut_at, top)
        finally:
            emu.close()
    print(f"\npower cut tried at {tried} of {total} flash writes")
    assert tried == len(cuts) >= total // 2


def _configured_unit(tmp_path, settings=SHORT_CYCLE, **options):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", settings)
    emu = Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 300, speed=0,
                   **options)
    emu.start()
    return emu, forecast


def _status(emu):
    from pumpsync.client import UnitClient

    with UnitClient(emu.port) as client:
        return client.call("status")


def test_a_lost_clock_sounds_a_fault_until_the_time_is_set(tmp_path, hardware_free):
    from pumpsync.client import UnitClient

    emu, forecast = _configured_unit(tmp_path, rtc_backup=False)
    try:
        emu.advance(60)
        assert _status(emu)["active"] == []
        with UnitClient(emu.port) as client:
            key = pair(emu, client)
        emu.power_cut()
        emu.boot()
        emu.advance(20)
        status = _status(emu)
        assert status["time"] is None and "time_unknown" in status["active"]
        boot_ms = emu.now() * 1000 - 20000
        assert [hz for t, hz in emu.buzzer_log() if t >= boot_ms and hz in ALARM_TONES]
        emu.advance(3600)  # still sounding an hour later: latched
        assert [hz for t, hz in emu.buzzer_log() if t >= emu.now() * 1000 - 10000 and hz]
        with UnitClient(emu.port, key=key) as client:
            assert client.write("time_set", {"epoch": 1795172400})["was"] is None
        emu.advance(30)
        assert _status(emu)["active"] == []
        assert not [hz for t, hz in emu.buzzer_log() if t >= emu.now() * 1000 - 20000 and hz]
    finally:
        emu.close()


def test_an_exception_in_the_loop_is_logged_and_reset_into_monitoring_and_repeated_ones_enter_safe_mode(
        tmp_path, hardware_free):
    emu, _ = _configured_unit(tmp_path)
    try:
        emu.advance(5)
        emu.inject_exception()
        emu.advance(5)
        assert emu.stats()["state"] == "sleeping" and emu.stats()["boots"] == 2  # reset, never the REPL
        entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / "data")))
        crash = [e for e in entries if e["e"] == "crash"]
        assert crash and crash[-1]["what"] == "RuntimeError" and "fault injected" in crash[-1]["detail"]
        assert entries[-1]["e"] == "boot"
        for _ in range(2):
            emu.inject_exception()
            emu.advance(10)
        entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / "data")))
        assert entries[-1] == {"e": "fault", "c": "safe_mode", "t": None}
        since = emu.now() * 1000
        emu.advance(60)
        heard = alarm_bursts([(t, hz) for t, hz in emu.buzzer_log() if t >= since])
        assert len(heard) >= 5 and {name for _, name in heard} == {"technical"}  # never silent
        emu.power_cut()
        emu.boot()  # a person power-cycles it: back to normal monitoring
        emu.advance(5)
        assert _status(emu)["active"] == []
    finally:
        emu.close()


def test_a_long_press_reads_out_whole_weeks_until_the_refill(tmp_path, hardware_free):
    emu, forecast = _configured_unit(tmp_path, settings=EXAMPLES / "simple-continuous.json")
    try:
        emu.advance(5)
        weeks = (forecast.refill_due_at - int(emu.now())) // (7 * 86400)
        since = emu.now() * 1000
        emu.press(2000)
        emu.advance(20)
        beeps = [hz for t, hz in emu.buzzer_log() if t >= since and hz]
        assert beeps == [sounds.G5] * weeks and weeks == 12
    finally:
        emu.close()


def test_a_factory_fresh_unit_sounds_the_no_settings_fault(emu):
    emu.advance(10)
    assert [hz for _, hz in emu.buzzer_log()][:1] == [sounds.G5]  # the boot chirp
    assert {name for _, name in alarm_bursts(emu.buzzer_log())} == {"technical"}  # the unit needs the clinic
    assert "no_settings" in _status(emu)["active"]


def test_a_bad_settings_file_is_rejected_and_alarms(tmp_path, hardware_free):
    flash = tmp_path / "unit" / "flash"
    flash.mkdir(parents=True)
    from pumpsync.emulator import install_firmware
    install_firmware(flash)
    (flash / "settings.json").write_text('{"schema": 1, "pump": {}}')
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:30:00Z", speed=0) as emu:
        emu.advance(5)
        status = _status(emu)
        assert "settings_rejected" in status["active"] and "no_settings" in status["active"]
        entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / "data")))
        rejected = [e for e in entries if e["e"] == "fault"][0]
        assert "drug: missing" in rejected["detail"]


def test_a_low_battery_is_a_medium_fault(tmp_path, hardware_free):
    emu, _ = _configured_unit(tmp_path)
    try:
        emu.advance(5)
        emu.set_battery(3300)
        emu.advance(5)
        assert "battery_low" in _status(emu)["active"]
        emu.set_battery(3900)
        emu.advance(5)
        assert "battery_low" not in _status(emu)["active"]
    finally:
        emu.close()


def test_settings_placed_with_mpremote_configure_the_unit(emu, tmp_path):
    from pumpsync import settings_file

    from serial_helpers import enter_maintenance, mpremote, wait_for_boot

    loaded = settings_file.load(EXAMPLES / "simple-continuous.json", None)
    local = tmp_path / "settings.json"
    local.write_text(json.dumps(loaded.document))
    enter_maintenance(emu)
    mpremote(emu.port, "fs", "cp", str(local), ":settings.json")
    boots = emu.stats()["boots"]
    mpremote(emu.port, "reset")
    wait_for_boot(emu, boots)
    emu.advance(5)
    status = _status(emu)
    assert status["active"] == [] and status["refill_due_at"] == timecalc.parse_iso("2027-02-15T19:35:15Z")
