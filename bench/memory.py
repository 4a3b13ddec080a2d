"""Benchmark: the firmware's RAM with the .mpy build (what deploy ships): after
boot, while monitoring, and at its peak during a nurse's sync, against the
free heap of generic MicroPython builds.

Free heap of generic builds (gc.mem_free() after boot, MicroPython 1.2x,
figures as commonly reported, not measured here): ESP32_GENERIC without
PSRAM about 110 KB; RPI_PICO about 180 KB.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pumpsync import scenario
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator
from pumpsync.unit_commands import download_log

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FREE_HEAP_KB = {"ESP32 generic": 110, "RP2040 Pico": 180}


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        _, forecast = scenario.prepare_unit(Path(tmp), EXAMPLES / "simple-continuous.json", compiled=True)
        with Emulator(state_dir=tmp, start_time=forecast.prescription.refill_at + 300, speed=0) as emu:
            emu.advance(60)
            after_boot = emu.stats()["firmware_heap_peak"]
            with UnitClient(emu.port) as client:
                key = os.urandom(32)
                started = client.call("pair", {"key": key.hex(), "name": "bench"})
                emu.advance(started["press_after_ms"] / 1000)
                emu.press(2000)
                client.key, client.key_name = key, "bench"
                client.call("hello")
                client.call("status")
                client.put_settings((EXAMPLES / "large-pump-500.json").read_text())
                client.call("settings_get")
                download_log(client)
            sync_peak = emu.stats()["firmware_heap_peak"]
    print("firmware RAM, .mpy build (gc.mem_alloc() after a full collection, less the emulator's own share):")
    print(f"  after boot, monitoring   {after_boot / 1024:6.1f} KB")
    print(f"  peak during a sync       {sync_peak / 1024:6.1f} KB   (protocol, status forecast, settings check)")
    for board, free in FREE_HEAP_KB.items():
        print(f"  vs {board:<14} free heap ~{free} KB: {sync_peak / 1024 / free * 100:4.0f} % at the sync peak")
    return {"after_boot": after_boot, "sync_peak": sync_peak}
