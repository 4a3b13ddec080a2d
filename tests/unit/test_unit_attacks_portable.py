"""Attacks of issue 9 that need an exact instant or a fault at one call,
performed on the firmware stepped by hand on CPython (fake_hal.py) with only
what the firmware offered before the fix (ee1f021) and still offers now:
`Unit(hal)`, `unit.step(events)`, frames in the HAL's inbox, replies in its
outbox, main.py as a file, the board HAL's `random_bytes`.

tests/unit/test_unit_hardening.py pins the same attacks through modules the
fix added (jsonpieces, replywriter, clock, service.pending()); on the old
firmware those stop at an ImportError.  These fail before the fix because
the attack works, and pass now (bench/attacks_before_fix.sh runs both).
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import pytest

from fake_hal import FakeHAL, quiet_step
from pumpwatch import protocol
from pumpwatch.conditions import EMPTY
from pumpwatch.events import EVENT_SERIAL
from pumpwatch.unit import Unit
from settings_examples import minimal

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def _sounding_unit(tmp_path):
    """A unit whose 1 mL refill ten days ago at 400 mcg/day is empty: EMPTY sounds."""
    hal = FakeHAL(tmp_path / "flash", wall_s=1_795_000_000)
    doc = minimal(refill={"at": "2026-11-08T11:06:40Z", "volume_ml": 1})
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(doc))
    unit = Unit(hal)
    quiet_step(unit)
    assert EMPTY in [cid for cid, _ in unit.sounding]
    return hal, unit


def _replies(hal, since: int = 0) -> list[dict]:
    replies = []
    for line in bytes(hal.sent[since:]).split(b"\n"):
        if line.startswith(protocol.MAGIC):
            try:
                replies.append(protocol.decode(bytearray(line.strip()), None)[0])
            except TypeError:  # before the fix decode() took the line alone
                replies.append(protocol.decode(bytearray(line.strip()))[0])
            except protocol.FrameError:
                replies.append({"_torn": True})
    return replies


# ---------------------------------------------------------------------- a reply that does not fit
def test_running_out_of_memory_while_encoding_a_reply_leaves_the_loop_running(tmp_path, monkeypatch):
    """Attack: a MemoryError raised while a reply was encoded (in _send, outside the
    handler's try) left step() and so the unit's loop.  Now the request gets an
    error reply and the unit answers the next one."""
    hal, unit = _sounding_unit(tmp_path)
    real_dumps, real_dump = json.dumps, json.dump

    def too_big(message):
        return isinstance(message, dict) and message.get("id") == 5 and message.get("ok") is True

    def dumps(obj, *args, **kw):
        if too_big(obj):
            raise MemoryError("memory allocation failed")
        return real_dumps(obj, *args, **kw)

    def dump(obj, sink, *args, **kw):
        if too_big(obj):
            raise MemoryError("memory allocation failed")
        return real_dump(obj, sink, *args, **kw)

    monkeypatch.setattr(json, "dumps", dumps)
    monkeypatch.setattr(json, "dump", dump)
    hal.send(unit, protocol.encode({"v": 1, "id": 5, "m": "status", "a": {}}))  # raised out of step() before
    monkeypatch.undo()
    answered = [r for r in _replies(hal) if r.get("id") == 5]
    assert answered and answered[-1]["ok"] is False and answered[-1]["err"]["code"] == protocol.FAILED
    sent = len(hal.sent)
    hal.send(unit, b"\n" + protocol.encode({"v": 1, "id": 6, "m": "hello", "a": {}}))
    assert [r["ok"] for r in _replies(hal, sent) if r.get("id") == 6] == [True]
    assert EMPTY in [cid for cid, _ in unit.sounding]


# ---------------------------------------------------------------------- a CPU flood against the watchdog
def test_a_flood_of_frames_feeds_the_watchdog_for_every_frame_handled(tmp_path):
    """Attack: the watchdog was fed only at the start of a step, and a step handled
    every frame that had arrived (64 and a busy reply for each one more): on a
    board, a flood of slow frames outlasts the 8 s watchdog inside one step."""
    hal, unit = _sounding_unit(tmp_path)
    frame = protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}})
    hal.inbox = frame * 1000
    for _ in range(2000):
        feeds, sent = hal.feeds, hal.sent.count(b"\n")
        unit.step(EVENT_SERIAL)  # the port keeps saying bytes are waiting
        handled = hal.sent.count(b"\n") - sent
        assert hal.feeds - feeds >= handled, f"{handled} frames handled on {hal.feeds - feeds} watchdog feed(s)"
        if not hal.inbox and not handled:
            break
    assert hal.sent.count(b"\n") >= 1000


# ---------------------------------------------------------------------- Ctrl-C at boot
class _FirstImport(Exception):
    pass


def test_main_py_disables_ctrl_c_and_arms_the_watchdog_before_its_first_firmware_import(monkeypatch):
    """Attack: main.py imported the HAL and the firmware (seconds of work on a board)
    while Ctrl-C was still the interrupt character and no watchdog ran; Ctrl-C during
    those imports reached the REPL.  (The emulators notice the interrupt character
    only while the unit sleeps, so the boot order is checked here on CPython: what
    holds at the moment main.py first imports firmware code.)"""
    state = {"interrupt_char": 3, "watchdog_ms": None}
    seen = []

    micropython = types.ModuleType("micropython")
    micropython.kbd_intr = lambda char: state.__setitem__("interrupt_char", char)
    micropython.const = lambda value: value

    class WDT:
        def __init__(self, timeout=5000, id=0):
            state["watchdog_ms"] = timeout

        def feed(self):
            pass

    machine = types.ModuleType("machine")
    machine.WDT = WDT
    monkeypatch.setitem(sys.modules, "micropython", micropython)
    monkeypatch.setitem(sys.modules, "machine", machine)
    real_import = __builtins__["__import__"] if isinstance(__builtins__, dict) else __builtins__.__import__

    def watching_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name.split(".")[0] in ("hal", "pumpwatch"):
            seen.append((name, dict(state)))
            raise _FirstImport
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr("builtins.__import__", watching_import)
    source = (FIRMWARE / "main.py").read_text()
    with pytest.raises(_FirstImport):
        exec(compile(source, "main.py", "exec"), {"__name__": "__main__"})
    monkeypatch.undo()
    name, at_first_import = seen[0]
    assert at_first_import["interrupt_char"] == -1, f"Ctrl-C still interrupts when main.py imports {name}"
    assert at_first_import["watchdog_ms"] is not None, f"no watchdog yet when main.py imports {name}"


# ---------------------------------------------------------------------- urandom conditioning
def test_random_bytes_never_repeat_even_when_the_hardware_source_is_stuck(monkeypatch):
    """Attack: nonces, keys' unit ids and challenges came straight from os.urandom; a
    weak or stuck source (rp2040js's ROSC returned a constant) repeats every nonce.
    Now it goes through SHA-256 with a counter (and the ticks and the chip id)."""
    import os

    machine = types.ModuleType("machine")
    machine.PWRON_RESET, machine.WDT_RESET = 1, 3
    machine.unique_id = lambda: b"\x01\x02\x03\x04\x05\x06\x07\x08"
    micropython = types.ModuleType("micropython")
    micropython.const = lambda value: value
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "micropython", micropython)
    monkeypatch.syspath_prepend(str(FIRMWARE))
    monkeypatch.delitem(sys.modules, "hal.machine_hal", raising=False)
    from hal.machine_hal import MachineHAL

    monkeypatch.setattr(os, "urandom", lambda count: bytes(count))  # the stuck source
    monkeypatch.setattr(time, "ticks_us", lambda: 4242, raising=False)  # and a timer that does not move
    hal = MachineHAL.__new__(MachineHAL)  # random_bytes needs no pins
    hal._random_counter = 0
    first, second = hal.random_bytes(16), hal.random_bytes(16)
    assert len(first) == len(second) == 16
    assert first != second, "two nonces from a stuck source are the same"
