"""Benchmark: a nurse's sync, the PumpWatch protocol vs the usual MicroPython way.

The same work both ways on an emulated unit with 1000 events in its log:
hello, status, write the new settings and verify them, download the log.
  pumpsync:  framed, authenticated requests over the port (the library calls
             `pumpsync sync` / `status` / `log` make)
  mpremote:  unit put in maintenance; `mpremote exec` for the reads,
             `mpremote fs cp` for the settings (and back, to verify) and the log
Goals (issue 5): >= 5x faster than the mpremote way, <= 1.5 s.  Also: fuzz
throughput in frames/s.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pumpsync import scenario
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator
from pumpsync.unit_commands import download_log
from pumpwatch import protocol, records

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOG_EVENTS = 1000


def _unit_with_history(state: Path):
    _, forecast = scenario.prepare_unit(state, EXAMPLES / "simple-continuous.json")
    (state / "flash" / "data").mkdir(parents=True, exist_ok=True)
    log = records.EventLog(str(state / "flash" / "data"))
    for i in range(LOG_EVENTS):
        log.append({"e": "ack", "c": ["low_reservoir"], "until": [1802720115 + i], "t": 1802720000 + i})
    return forecast


def _pair(emu, client):
    import os
    key = os.urandom(32)
    started = client.call("pair", {"key": key.hex(), "name": "bench"})
    emu.advance(started["press_after_ms"] / 1000)
    emu.press(2000)
    client.key, client.key_name = key, "bench"


def _pumpsync_way(emu, client, settings_text):
    before = emu.stats()
    started = time.perf_counter()
    client.call("hello")
    client.call("status", verified=True)
    client.put_settings(settings_text)
    assert client.call("settings_get", verified=True)["text"] == settings_text
    entries = download_log(client)
    wall = time.perf_counter() - started
    after = emu.stats()
    wire = (after["serial_bytes_from_host"] - before["serial_bytes_from_host"]
            + after["serial_bytes_to_host"] - before["serial_bytes_to_host"])
    return wall, wire, len(entries)


def _mpremote(port, *args) -> str:
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args], check=True,
                          capture_output=True, text=True, timeout=120).stdout


def _mpremote_way(emu, settings_path: Path, work: Path):
    before = emu.stats()
    started = time.perf_counter()
    listing = _mpremote(emu.port, "exec", "import os, sys; print(sys.implementation); print(os.listdir('data'))")
    log_files = sorted(name for name in eval(listing.strip().splitlines()[-1]) if name.endswith(".log"))
    _mpremote(emu.port, "exec", "print(open('data/state.rec').read() if 'state.rec' in __import__('os')"
                                ".listdir('data') else None); print(open('data/settings.rec').read())")
    _mpremote(emu.port, "fs", "cp", str(settings_path), ":settings.json")
    _mpremote(emu.port, "fs", "cp", ":settings.json", str(work / "readback.json"))
    assert (work / "readback.json").read_bytes() == settings_path.read_bytes()
    for name in log_files:
        _mpremote(emu.port, "fs", "cp", f":data/{name}", str(work / name))
    wall = time.perf_counter() - started
    after = emu.stats()
    wire = (after["serial_bytes_from_host"] - before["serial_bytes_from_host"]
            + after["serial_bytes_to_host"] - before["serial_bytes_to_host"])
    return wall, wire


def _fuzz_throughput(emu, client, count=20000):
    rng = random.Random(1)
    good = protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}})
    frames = []
    for i in range(count):
        frame = bytearray(good)
        frame[rng.randrange(4, len(frame) - 1)] = rng.getrandbits(8)
        frames.append(bytes(frame).replace(b"\n", b"") + b"\n")
    started = time.perf_counter()
    answered, last = 0, started
    for start in range(0, count, 60):
        client.send_raw(b"".join(frames[start:start + 60]))
        replies = client.read_frames(2, idle=0.02)
        answered += len(replies)
        last = time.perf_counter() if replies else last
    while True:  # the unit may still be answering a backlog: the next request must not meet it
        replies = client.read_frames(30, idle=1.0)
        if not replies:
            break
        answered += len(replies)
        last = time.perf_counter()
    return answered / (last - started)


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        forecast = _unit_with_history(tmp / "unit")
        new_settings = EXAMPLES / "large-pump-500.json"
        text = new_settings.read_text()
        with Emulator(state_dir=tmp / "unit", start_time=forecast.prescription.refill_at + 600, speed=0,
                      measure_heap=False) as emu:
            emu.advance(2)
            with UnitClient(emu.port) as client:
                _pair(emu, client)
                ours, ours_wire, events = _pumpsync_way(emu, client, text)
                frames_per_s = _fuzz_throughput(emu, client)
                client.write("maintenance", {"minutes": 10})
            emu.advance(0.5)
            theirs, theirs_wire = _mpremote_way(emu, new_settings, tmp)
    ratio = theirs / ours
    print(f"nurse sync (hello, status, settings write + verify, {events}-event log download):")
    print(f"  pumpsync protocol     {ours:7.3f} s   {ours_wire:8d} bytes on the wire   (goal <= 1.5 s: "
          f"{'met' if ours <= 1.5 else 'MISSED'})")
    print(f"  mpremote way          {theirs:7.3f} s   {theirs_wire:8d} bytes on the wire   "
          f"(maintenance mode; exec, fs cp, one mpremote run each)")
    print(f"  ratio                 {ratio:7.1f}x faster   (goal >= 5x: {'met' if ratio >= 5 else 'MISSED'})")
    print(f"  fuzzed frames         {frames_per_s:7.0f} frames/s through the port (mutated frames: the replies "
          "received, until the port fell quiet)")
    return {"sync_s": ours, "mpremote_s": theirs, "ratio": ratio, "frames_per_s": frames_per_s}
