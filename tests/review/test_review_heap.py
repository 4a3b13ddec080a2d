"""Review: the fixed 128 KB heap (issue 11 grew what a boot needs).

`make bench` (bench/fixed_heap.py) at 0a81d65: "boot + a quiet week .mpy 160 KB ... OVER GOAL",
"sync, log at its maximum .mpy 160 KB ... OVER GOAL"; at da1b58a (before issue 11) both 112 KB.
"""

from __future__ import annotations

from pathlib import Path

from pumpsync import scenario
from pumpsync.emulator import Emulator
from helpers_review import live
from sound_helpers import alarm_bursts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _flash_log(emu):
    return b"".join(emu.read_flash("/data/" + n) or b"" for n in emu.list_flash("/data") if n.endswith(".log"))


def test_a_unit_with_flex_night_boost_settings_boots_and_sounds_empty_on_128_kb(tmp_path, hardware_free):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "flex-night-boost.json", compiled=True)
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 60, speed=0,
                  backend="unix", heap_kb=128, compiled=True) as emu:
        emu.advance(60)
        stats = emu.stats()
        text = _flash_log(emu)
        assert b'"settings"' in text, text[-600:]
        assert b"MemoryError" not in text and b"safe_mode" not in text
        assert stats["crashes"] == 0 and stats["boots"] == 1, stats
        live(emu, forecast.empty_at + 120)  # a patient who presses: the unix backend is slow at sounding
        assert any(n == "high" for _, n in alarm_bursts(emu.buzzer_log()))


def test_a_cold_boot_without_the_plan_cache_on_128_kb(tmp_path, hardware_free):
    """A unit whose plan.rec is missing (firmware update changed the plan code) re-checks the
    stored settings at boot: it must still come back monitoring."""
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "weekly-flex.json", compiled=True)
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 60, speed=0,
                  backend="unix", heap_kb=128, compiled=True) as emu:
        emu.advance(60)
        first = emu.stats()
        text = _flash_log(emu)
    assert b'"settings"' in text and b"MemoryError" not in text and first["crashes"] == 0, (first, text[-400:])
    plan = tmp_path / "unit" / "flash" / "data" / "plan.rec"
    if plan.exists():
        plan.unlink()
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 600, speed=0,
                  backend="unix", heap_kb=128, compiled=True) as emu:
        emu.advance(60)
        stats = emu.stats()
        text = _flash_log(emu)
    assert stats["crashes"] == 0 and b"MemoryError" not in text and b"safe_mode" not in text, (stats, text[-400:])
