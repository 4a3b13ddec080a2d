"""Cutting the power at every littlefs block program or erase of a visit.

Owns the sweep that proves the unit's storage on real littlefs (the unix
emulator backend): a factory-fresh unit is paired and synced over its port,
then lives through a refill cycle with a patient acknowledging each alarm.
For each cut point N, the same visit runs again and the power fails during
the N-th block program/erase (torn: half of it written); the unit boots
again, and the sweep checks what a clinic relies on:
  * the settings are the old ones (none) or the new ones, never damaged;
  * the event log parses with at most the in-flight line lost;
  * the unit runs (no crash, no safe mode) and knows what is due.
Used by tests/device/test_power_cuts.py (a sample) and `make bench` (all).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pumpwatch import readback

from pumpsync import scenario, unit_commands
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator

VISIT = Path(__file__).resolve().parents[2] / "examples" / "partial-refill.json"
HEAP_KB = 192
CYCLE_S = 5 * 86400  # past the low-reservoir alarm and empty of the short example


@dataclass
class Sweep:
    tried: int = 0
    total_ops: int = 0
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def _visit(emu: Emulator, text: str, until: float, key=None):
    """Pair, sync, then live until `until` with a patient who presses after 30 s."""
    with UnitClient(emu.port, timeout=1) as client:
        started = client.call("pair", {"key": (key or bytes(range(32))).hex(), "name": "sweep"})
        emu.advance(started["press_after_ms"] / 1000)
        emu.press(2000)
        client.key, client.key_name = key or bytes(range(32)), "sweep"
        client.put_settings(text)
    synced_ops = emu.stats()["flash_writes"]
    scenario.live_until(emu, until, scenario.PatientLog(), ack_after_s=30)
    return synced_ops


def _fresh(base: Path, work: Path) -> Path:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work)
    return work


def _check(emu: Emulator, text: str, synced: bool) -> str | None:
    try:
        stored = readback.parse_record(emu.read_flash("/data/settings.rec"))
    except readback.CorruptRecord as exc:
        return f"the settings record is damaged ({exc})"
    if stored is None and synced:
        return "the settings written before the cut are missing"
    if stored is not None and stored.get("text") != text:
        return "the settings are neither the old nor the new ones"
    dropped = 0
    for name in emu.list_flash("/data"):
        if name.endswith(".log"):
            data = emu.read_flash("/data/" + name) or b""
            dropped += sum(1 for line in data.split(b"\n") if line and readback.parse_line(line) is None)
    if dropped > 1:
        return f"{dropped} log lines damaged (at most the in-flight one may be)"
    stats = emu.stats()
    if stats["crashes"] or stats["state"] != "sleeping":
        return f"the unit does not run after the cut: {stats.get('error') or stats['state']}"
    with UnitClient(emu.port, timeout=2) as client:
        status = client.call("status")
    if stored is not None and status["refill_due_at"] is None:
        return "the unit has settings but no plan"
    return None


def sweep(every: int = 1, time_limit_s: float | None = None) -> Sweep:
    """Cut at every `every`-th block operation of the visit (1: all of them)."""
    result = Sweep()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, forecast = scenario.prepare_unit(tmp / "base", VISIT, compiled=True)
        (tmp / "base" / "flash" / "settings.json").unlink()  # the nurse syncs it instead
        start = forecast.prescription.refill_at + 300
        until = start + CYCLE_S
        text = unit_commands.checked_settings(argparse.Namespace(settings=str(VISIT), confirm=[]), start)[1]
        reference = _fresh(tmp / "base", tmp / "reference")
        with Emulator(state_dir=reference, start_time=start, speed=0, backend="unix", heap_kb=HEAP_KB,
                      measure_heap=False) as emu:
            booted_ops = emu.stats()["flash_writes"]
            synced_ops = _visit(emu, text, until)
            result.total_ops = emu.stats()["flash_writes"] - booted_ops
        synced_ops -= booted_ops
        for n in range(1, result.total_ops + 1, every):
            if time_limit_s is not None and time.perf_counter() - began > time_limit_s:
                break
            work = _fresh(tmp / "base", tmp / "cut")
            with Emulator(state_dir=work, start_time=start, speed=0, backend="unix", heap_kb=HEAP_KB,
                          measure_heap=False) as emu:
                emu.cut_power_at_flash_write(n, torn=n % 2 == 0)
                try:
                    _visit(emu, text, until)
                except Exception:  # noqa: BLE001 - the unit went dark mid-request: that is the cut
                    pass
                if emu.stats()["powered"]:
                    result.failures.append(f"cut {n}: the power was never cut")
                    continue
                emu.boot()
                emu.advance(10)
                problem = _check(emu, text, n > synced_ops)
                result.tried += 1
                if problem:
                    result.failures.append(f"cut {n}/{result.total_ops}: {problem}")
    result.wall_s = time.perf_counter() - began
    return result
