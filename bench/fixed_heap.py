"""Benchmark: the smallest fixed heap each job of the unit needs, on the unix
port (a real heap cap, littlefs, 64-bit objects, the emulator's own guest code
on the same heap), for the .mpy build deploy ships and the .py sources; and
the live heap the wasm backend measures for the same jobs (its heap cannot be
capped).  Jobs: boot with settings and a quiet week; a whole refill cycle; a
sync whose log is at its rotation maximum; 5 000 random, mutated and
memory-bomb frames (the test suite runs 20 000 on wasm).  Goal: 128 KB on
this 64-bit binary (about 96 KB on the 32-bit boards).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from pumpwatch import protocol, records

from pumpsync import scenario, unit_commands
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GOAL_KB = 128
DEBUG = False
HEAPS_KB = list(range(96, 257, 16))


def _unit(tmp: Path, settings: Path | None, compiled: bool):
    _, forecast = scenario.prepare_unit(tmp, settings or EXAMPLES / "flex-night-boost.json", compiled=compiled)
    if settings is None:
        (tmp / "flash" / "settings.json").unlink()
    return forecast


def _healthy(emu: Emulator, boots: int = 1) -> bool:
    stats = emu.stats()
    log = b"".join(emu.read_flash("/data/" + n) or b"" for n in emu.list_flash("/data") if n.endswith(".log"))
    return (stats["crashes"] == 0 and stats["boots"] == boots and stats["state"] == "sleeping"
            and b"MemoryError" not in log and b"safe_mode" not in log)


def boot_and_quiet_week(tmp, backend, heap, compiled):
    forecast = _unit(tmp, EXAMPLES / "flex-night-boost.json", compiled)
    with Emulator(state_dir=tmp, start_time=forecast.prescription.refill_at + 60, speed=0, backend=backend,
                  heap_kb=heap, compiled=compiled) as emu:
        emu.advance(60)
        if not (_healthy(emu) and b'"settings"' in (emu.read_flash("/data/events.1.log") or b"")):
            return False, 0  # a unit in safe mode would beep all week: no need to play it
        emu.advance(7 * 86400)
        return _healthy(emu), emu.stats()["firmware_heap_peak"]


def refill_cycle(tmp, backend, heap, compiled):
    forecast = _unit(tmp, EXAMPLES / "partial-refill.json", compiled)
    with Emulator(state_dir=tmp, start_time=forecast.prescription.refill_at + 60, speed=0, backend=backend,
                  heap_kb=heap, compiled=compiled, measure_heap=backend == "wasm") as emu:
        emu.advance(60)
        if not (_healthy(emu) and b'"settings"' in (emu.read_flash("/data/events.1.log") or b"")):
            return False, 0
        patient = scenario.PatientLog()
        scenario.live_until(emu, forecast.empty_at + 3600, patient, ack_after_s=30)
        ok = _healthy(emu) and len(patient.presses) >= 5
        return ok, emu.stats()["firmware_heap_peak"]


def _full_log(flash: Path):
    """The evidence log at its rotation maximum: every file full of real-looking events."""
    data = flash / "data"
    data.mkdir(parents=True, exist_ok=True)
    log = records.EventLog(str(data))
    t = 1_795_000_000
    while len(log.files()) < log.keep or (data / f"events.{log.numbers[-1]}.log").stat().st_size < log.max_bytes - 200:
        t += 3600
        log.append({"e": "ack", "c": ["low_reservoir"], "until": [t + 14400], "t": t})


def sync_with_full_log(tmp, backend, heap, compiled):
    """A refill visit: the unit runs the last prescription, its log is full, new settings replace the old."""
    _unit(tmp, EXAMPLES / "large-pump-500.json", compiled)
    _full_log(tmp / "flash")
    start = 1_795_170_660  # 2026-11-20T10:31:00Z: the new refill (flex-night-boost.json) a minute ago
    text = unit_commands.checked_settings(argparse.Namespace(settings=str(EXAMPLES / "flex-night-boost.json"),
                                                             confirm=[]), start)[1]
    with Emulator(state_dir=tmp, start_time=start, speed=0, backend=backend, heap_kb=heap,
                  compiled=compiled) as emu:
        emu.advance(2)
        try:
            with UnitClient(emu.port, timeout=3) as client:
                started = client.call("pair", {"key": bytes(32).hex(), "name": "bench"})
                emu.advance(started["press_after_ms"] / 1000)
                emu.press(2000)
                client.key, client.key_name = bytes(32), "bench"
                client.call("status", verified=True)
                client.put_settings(text)
                client.call("settings_get", {"text": False}, verified=True)  # the sync's read-back
                client.write("time_set", {"epoch": start + 30, "jump_ok": False})
                client.call("status", {"forecast": False}, verified=True)  # what pumpsync sync does next
                entries = unit_commands.download_log(client)
                ok = len(entries) > 1000
        except Exception as exc:  # noqa: BLE001 - any failure: this heap is too small
            if DEBUG:
                print("   ", heap, type(exc).__name__, exc)
            ok = False
        return ok and _healthy(emu, boots=2), emu.stats()["firmware_heap_peak"]  # it restarts to apply them


def hostile_frames(tmp, backend, heap, compiled, count=5000):
    _unit(tmp, None, compiled)
    rng = random.Random(9)
    good = [protocol.encode({"v": 1, "id": i, "m": m, "a": {}}) for i, m in enumerate(["hello", "status", "log"])]
    bombs = [b"[" * 16000, b"[" + b"[]," * 5000 + b"[]]", b'{"a":' * 3000]
    with Emulator(state_dir=tmp, start_time="2026-11-20T10:30:00Z", speed=0, backend=backend, heap_kb=heap,
                  compiled=compiled, measure_heap=False) as emu:
        emu.advance(2)
        if not _healthy(emu):
            return False, 0
        with UnitClient(emu.port) as client:
            for i in range(count // 50):
                batch = []
                for _ in range(50):
                    kind = rng.random()
                    if kind < 0.05:
                        bomb = rng.choice(bombs)
                        batch.append(protocol.MAGIC + protocol._crc(bomb) + b" - " + bomb + b"\n")
                    elif kind < 0.5:
                        frame = bytearray(rng.choice(good))
                        frame[rng.randrange(len(frame) - 1)] = rng.getrandbits(8)
                        batch.append(bytes(frame).replace(b"\n", b"") + b"\n")
                    else:
                        batch.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 60))).replace(b"\n", b"")
                                     + b"\n")
                client.send_raw(b"".join(batch))
                for _ in range(10):
                    emu.advance(0.05)
                client.read_frames(0.5, idle=0.02)
            # the unit takes the port's bytes 1 KB a step: let it work through the backlog, then ask
            client.send_raw(protocol.encode({"v": 1, "id": 424242, "m": "hello", "a": {}}))
            alive = False
            for _ in range(max(200, count // 25)):  # a bigger flood leaves a longer backlog
                emu.advance(0.05)
                if any(r.get("id") == 424242 and r.get("ok") for r in client.read_frames(0.02, idle=0.01)):
                    alive = True
                    break
        return alive and _healthy(emu), emu.stats()["firmware_heap_peak"]


JOBS = [("boot + a quiet week", boot_and_quiet_week), ("whole refill cycle", refill_cycle),
        ("sync, log at its maximum", sync_with_full_log), ("5 000 hostile frames", hostile_frames)]


def smallest(job, compiled) -> int | None:
    for heap in HEAPS_KB:
        with tempfile.TemporaryDirectory() as tmp:
            if job(Path(tmp), "unix", heap, compiled)[0]:
                return heap
    return None


def run() -> dict:
    print(f"smallest fixed heap per job, unix port (64-bit; goal {GOAL_KB} KB), tried in {HEAPS_KB[1] - HEAPS_KB[0]} KB "
          "steps; wasm live-heap peak between steps:")
    results = {}
    for name, job in JOBS:
        row = {}
        for compiled in (True, False):
            row[".mpy" if compiled else ".py"] = smallest(job, compiled)
        with tempfile.TemporaryDirectory() as tmp:
            ok, peak = job(Path(tmp), "wasm", 0, True)
        row["wasm"] = peak / 1024 if ok else None
        results[name] = row
        cells = "  ".join(f"{build} {('%d KB' % row[build]) if row[build] else 'over 256 KB':>11}"
                          for build in (".mpy", ".py"))
        flag = "ok" if row[".mpy"] and row[".mpy"] <= GOAL_KB else "OVER GOAL"
        print(f"  {name:<26} {cells}   wasm .mpy peak {row['wasm'] or 0:6.1f} KB   {flag}")
    print("  (json: " + json.dumps(results) + ")")
    return results


if __name__ == "__main__":
    run()
