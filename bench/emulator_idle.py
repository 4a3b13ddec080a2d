"""Benchmark: an idle emulated unit through 180 virtual days.

"Idle" is a configured unit with nothing due in the window (a low-dose
prescription lasting 240 days).  Goals (issue 3): advance(180 days) <= 1 s
wall, <= 2 wakeups per virtual day.
"""

from __future__ import annotations

import tempfile
import time

from pathlib import Path

from pumpsync import scenario
from pumpsync.emulator import Emulator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "low-dose-child.json"

DAYS = 180
GOAL_WALL_S = 1.0
GOAL_WAKEUPS_PER_DAY = 2.0


def run() -> dict:
    with tempfile.TemporaryDirectory() as state:
        _, forecast = scenario.prepare_unit(Path(state), EXAMPLE)
        started = time.perf_counter()
        with Emulator(state_dir=state, start_time=forecast.prescription.refill_at + 300, speed=0) as emu:
            boot_s = time.perf_counter() - started
            emu.advance(60)  # past the boot beep
            before = emu.stats()
            started = time.perf_counter()
            emu.advance(DAYS * 86400)
            wall = time.perf_counter() - started
            after = emu.stats()
    wakeups_per_day = (after["wakeups"] - before["wakeups"]) / DAYS
    print(f"emulated unit, configured ({EXAMPLE.name}), nothing due, {DAYS} virtual days:")
    print(f"  boot to first sleep     {boot_s * 1000:8.0f} ms (node + MicroPython + firmware)")
    print(f"  advance wall time       {wall:8.3f} s    (goal <= {GOAL_WALL_S:.0f} s: "
          f"{'met' if wall <= GOAL_WALL_S else 'MISSED'})")
    print(f"  wakeups per day         {wakeups_per_day:8.3f}      (goal <= {GOAL_WAKEUPS_PER_DAY:.0f}: "
          f"{'met' if wakeups_per_day <= GOAL_WAKEUPS_PER_DAY else 'MISSED'})")
    print(f"  flash writes            {after['flash_writes'] - before['flash_writes']:8d}")
    return {"idle_wall_s": wall, "wakeups_per_day": wakeups_per_day}
