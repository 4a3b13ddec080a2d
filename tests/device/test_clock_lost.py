"""Ticks wrap on a board every 2**30 ms (12.4 days); the unit must not care.

The emulated HAL wraps ticks like rp2/esp32 and starts 10 minutes before the
wrap, so a unit that subtracts or divides ticks breaks here as it would on a
board.  With the clock lost, the unit's only time is its ticks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pumpsync import scenario
from pumpsync.emulator import Emulator
from pumpwatch import sounds
from pumpwatch.alarm_policy import MEDIUM_PAUSE_S

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power)")


def _sound_starts(buzzer, after_ms=0):
    """Virtual seconds at which sound resumes after more than a minute of silence."""
    starts, last = [], None
    for t, hz in buzzer:
        if t >= after_ms and hz and (last is None or t - last > 60000):
            starts.append(t / 1000)
        if hz:
            last = t
    return starts


def test_clock_lost_for_30_days_keeps_sounding_after_every_pause(tmp_path, hardware_free):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "large-pump-500.json")
    start = forecast.prescription.refill_at + 600
    with Emulator(state_dir=tmp_path / "unit", start_time=start, speed=0, rtc_backup=False,
                  measure_heap=False) as emu:
        emu.advance(5)
        emu.power_cut()
        emu.boot()  # the time is unknown now: "clock lost" sounds until someone sets it
        boot_ms = int(emu.now() * 1000)
        patient = scenario.PatientLog()
        scenario.live_until(emu, emu.now() + 30 * 86400, patient, ack_after_s=30)
        heard = _sound_starts(emu.buzzer_log(), boot_ms)
        assert emu.stats()["state"] == "sleeping" and emu.stats()["watchdog_resets"] == 0
    # every 4-hour pause ends in the alarm again, across the two tick wraps in these 30 days
    gaps = [b - a for a, b in zip(heard, heard[1:])]
    assert len(heard) >= 30 * 86400 // (MEDIUM_PAUSE_S + 60)
    assert max(gaps) <= MEDIUM_PAUSE_S + 60, max(gaps)
    assert heard[-1] > emu.now() - MEDIUM_PAUSE_S - 60
    assert all(p.at - p.sounding_since <= 31 for p in patient.presses)
    assert sounds.TECHNICAL_ALARM.repeat_ms  # "clock lost" is the unit's own condition: the technical sound
