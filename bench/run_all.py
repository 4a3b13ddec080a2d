"""`make bench`: every PumpWatch benchmark, printing figures, goals and ratios."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import board_load  # noqa: E402
import emulator_idle  # noqa: E402
import fixed_heap  # noqa: E402
import forecast_speed  # noqa: E402
import memory  # noqa: E402
import nurse_sync  # noqa: E402
import power_cut_sweep  # noqa: E402
import refill_cycle  # noqa: E402
import rp2_pico  # noqa: E402


def main() -> int:
    print("PumpWatch benchmarks\n")
    forecast_speed.run()
    print()
    emulator_idle.run()
    print()
    refill_cycle.run()
    print()
    nurse_sync.run()
    print()
    memory.run()
    print()
    fixed_heap.run()
    print()
    power_cut_sweep.run()
    print()
    rp2_pico.run()
    print()
    board_load.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
