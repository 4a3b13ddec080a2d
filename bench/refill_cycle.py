"""Benchmark: a whole refill cycle on the emulated unit, the patient acknowledging
every alarm within a minute (30 s).

Goals (issue 4): <= 2 wakeups and <= 1 flash write per quiet day, peak live
heap <= 24 KB, <= 1 s wall per 100 quiet days.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pumpsync import scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simple-continuous.json"


def _verdict(value, goal):
    return "met" if value <= goal else "MISSED"


def run() -> dict:
    results = {}
    for compiled in (False, True):
        with tempfile.TemporaryDirectory() as state:
            results[compiled] = scenario.run_cycle(Path(state), EXAMPLE, ack_after_s=30, compiled=compiled)
    result = results[True]
    quiet = result.quiet_days
    stats = result.stats
    days = (result.ended - result.started) / 86400
    print(f"refill cycle of {EXAMPLE.name}: {days:.0f} virtual days, {len(result.patient.presses)} "
          f"presses (each 30 s after the sound began); firmware deployed as .mpy")
    print(f"  quiet days measured         {quiet['days']:8d}")
    print(f"  wakeups per quiet day       {quiet['wakeups_per_day']:8.2f}      (goal <= 2: "
          f"{_verdict(quiet['wakeups_per_day'], 2)})")
    print(f"  flash writes per quiet day  {quiet['flash_writes_per_day']:8.2f}      (goal <= 1: "
          f"{_verdict(quiet['flash_writes_per_day'], 1)})")
    print(f"  wall per 100 quiet days     {quiet['wall_per_100_days_s']:8.3f} s    (goal <= 1 s: "
          f"{_verdict(quiet['wall_per_100_days_s'], 1)})")
    print(f"  wall for the whole cycle    {result.wall_s:8.2f} s    ({stats['wakeups']} wakeups, "
          f"{stats['flash_writes']} flash writes, {stats['flash_bytes_written']} bytes programmed)")
    for compiled, label in ((True, ".mpy build"), (False, "source build")):
        heap_kb = results[compiled].stats["firmware_heap_peak"] / 1024
        print(f"  peak live heap, {label:<12} {heap_kb:6.1f} KB   (goal <= 24 KB: {_verdict(heap_kb, 24)})")
    print("    (gc.mem_alloc() after a full collection at every step, less the emulator's own VFS/emuhw;")
    print("     includes the bytecode of loaded modules, which a frozen build would keep in flash)")
    return {"cycle_wall_s": result.wall_s, **quiet,
            "firmware_heap_peak_mpy": stats["firmware_heap_peak"],
            "firmware_heap_peak_py": results[False].stats["firmware_heap_peak"]}
