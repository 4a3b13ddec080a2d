"""A refill visit on a board-sized heap: the unix backend at -X heapsize=128k
(64-bit objects; about 96 KB on the 32-bit boards) with the .mpy build that
deploy ships, littlefs, and the evidence log at its rotation maximum.

The visit a nurse makes: pair, status, new settings replacing the old, read
back, clock, status again, and the whole log downloaded.  Every step must
succeed, with no crash, no MemoryError in the log and the new settings in
force; `make bench` prints the smallest heap for the same job.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pumpsync import scenario, unit_commands
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator
from pumpwatch import records

from serial_helpers import pair

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOARD_SIZED_HEAP_KB = 128
NEW_REFILL_PLUS_A_MINUTE = 1_795_170_660  # 2026-11-20T10:31:00Z; flex-night-boost.json was refilled at 10:30


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, seeded flash)")


def _fill_the_evidence_log(flash: Path) -> int:
    """Every evidence file full of real-looking acknowledgements; how many entries."""
    data = flash / "data"
    data.mkdir(parents=True, exist_ok=True)
    log = records.EventLog(str(data))
    t, count = 1_795_000_000, 0
    while len(log.files()) < log.keep or (data / f"events.{log.numbers[-1]}.log").stat().st_size < log.max_bytes - 200:
        t += 3600
        count += 1
        log.append({"e": "ack", "c": ["low_reservoir"], "until": [t + 14400], "t": t})
    return count


def test_a_refill_sync_with_a_full_log_completes_on_a_128_kb_heap(tmp_path):
    state = tmp_path / "unit"
    scenario.prepare_unit(state, EXAMPLES / "large-pump-500.json", compiled=True)  # the last visit's settings
    _fill_the_evidence_log(state / "flash")
    new_text = unit_commands.checked_settings(
        argparse.Namespace(settings=str(EXAMPLES / "flex-night-boost.json"), confirm=[]), NEW_REFILL_PLUS_A_MINUTE)[1]
    with Emulator(state_dir=state, start_time=NEW_REFILL_PLUS_A_MINUTE, speed=0, backend="unix",
                  heap_kb=BOARD_SIZED_HEAP_KB, compiled=True, measure_heap=False) as emu:
        emu.advance(2)
        with UnitClient(emu.port, timeout=5) as client:
            pair(emu, client)
            client.call("status", verified=True)
            outcome = client.put_settings(new_text)
            assert outcome["crc"] == records.crc_of(new_text) and outcome["errors"] == []
            readback = client.call("settings_get", {"text": False}, verified=True)  # the sync's read-back
            assert readback == {"crc": records.crc_of(new_text), "intact": True}
            client.write("time_set", {"epoch": NEW_REFILL_PLUS_A_MINUTE + 30, "jump_ok": False})
            status = client.call("status", {"forecast": False}, verified=True)  # as pumpsync sync asks
            assert status["refill_due_at"] == outcome["refill_due_at"]
            entries = unit_commands.download_log(client)
        stats = emu.stats()
        # one restart, the unit's own, to check the new settings on a fresh heap
        assert stats["crashes"] == 0 and stats["boots"] == 2 and stats["state"] == "sleeping"
    assert len(entries) > 1000
    assert any(e.get("e") == "settings" and e.get("crc") == outcome["crc"] for e in entries)
    assert not any("MemoryError" in str(e) for e in entries)
