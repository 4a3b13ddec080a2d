"""Benchmark: PumpWatch on the emulated Raspberry Pi Pico (the "rp2" backend).

A fresh emulated Pico (rp2040js running the official MicroPython v1.27.0 UF2)
gets PumpWatch the technician's way (`pumpsync deploy --board rp2`), is paired
by its button and synced with examples/simple-continuous.json.  Prints the
deploy, boot to monitoring after a RUN reset (wall s until it answers `hello`),
wall seconds per virtual quiet day on USB, and the free heap the unit reports
(`status` mem_free / mem_free_min, docs/protocol.md) after boot and at the
peak of a sync.  Skipped, with the reason, when the UF2 or the bootrom is not
found (docs/emulator.md, "The rp2 backend").
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator, EmulatorError
from pumpsync.emulator.rp2board import find_bootrom, find_firmware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "device"))
SLOW = ("--timeout", "30")  # the emulated core is ~4x slower than silicon


def _status(port, forecast=False) -> dict:
    with UnitClient(port, timeout=30) as client:
        return client.call("status", {"forecast": forecast})


def _answers(port) -> bool:
    try:
        with UnitClient(port, timeout=5) as client:
            return bool(client.call("hello")["firmware"])
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _check(result, what):
    if result.returncode != 0:
        raise SystemExit(f"rp2 bench: {what} failed:\n{result.stdout}{result.stderr}")


def run() -> dict:
    print("emulated Raspberry Pi Pico (rp2040js + official MicroPython v1.27.0 UF2):")
    try:
        find_firmware()
        find_bootrom()
    except EmulatorError as exc:
        print(f"  skipped: no emulated Pico here ({exc})")
        return {}
    from clinic import Clinic, settings_for_now  # tests/device: a nurse's computer

    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with Emulator(tmp / "unit", backend="rp2") as emu:
            clinic = Clinic(tmp, emu)
            started = time.perf_counter()
            _check(clinic.run("deploy", "--board", "rp2", timeout=600), "pumpsync deploy")
            figures["deploy_wall_s"] = time.perf_counter() - started
            clinic.pair_on_chip_time(*SLOW)
            _check(clinic.run("time", "set", "--confirm", "clock-jump", *SLOW), "pumpsync time set")
            started = time.perf_counter()
            _check(clinic.run("sync", str(settings_for_now(tmp)), "--yes", *SLOW), "pumpsync sync")
            figures["sync_wall_s"] = time.perf_counter() - started
            # the restart that applies the settings is inside the sync: what it did after it
            # (read-back, clock, status), then the status with the unit's own forecast
            figures["sync_peak_free"] = _status(emu.port, forecast=True)["mem_free_min"]
            started = time.perf_counter()
            emu.reset()  # the RUN pin
            while not _answers(emu.port):
                if time.perf_counter() - started > 120:
                    raise SystemExit("rp2 bench: the unit did not answer after a reset")
            figures["boot_wall_s"] = time.perf_counter() - started
            figures["boot_free"] = _status(emu.port)["mem_free"]
            # the RUN pin clears the watchdog's SCRATCH too: the clock is lost and the unit sounds
            # "clock lost" (a sounding buzzer cannot be fast-forwarded) until the nurse sets it
            _check(clinic.run("time", "set", "--confirm", "clock-jump", *SLOW), "pumpsync time set")
            emu.advance(60)
            started = time.perf_counter()
            emu.advance(86400)
            figures["day_wall_s"] = time.perf_counter() - started
            figures["day_free"] = _status(emu.port)["mem_free"]
    print(f"  deploy onto a fresh Pico      {figures['deploy_wall_s']:8.1f} s wall (pumpsync deploy --board rp2)")
    print(f"  sync (simple-continuous)      {figures['sync_wall_s']:8.1f} s wall (restart to apply included)")
    print(f"  boot to monitoring            {figures['boot_wall_s']:8.1f} s wall (RUN reset until it answers hello)")
    print(f"  virtual quiet day on USB      {figures['day_wall_s']:8.1f} s wall")
    print(f"  free heap after boot          {figures['boot_free'] / 1024:8.1f} KB of MicroPython's 241 KB (status mem_free)")
    print(f"  free heap after a quiet day   {figures['day_free'] / 1024:8.1f} KB")
    print(f"  free heap at a sync's peak    {figures['sync_peak_free'] / 1024:8.1f} KB (status mem_free_min: the "
          "least free at the end of a request, garbage included)")
    return figures


if __name__ == "__main__":
    run()
