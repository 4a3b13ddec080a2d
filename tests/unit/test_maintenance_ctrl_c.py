"""Ctrl-C becomes MicroPython's interrupt again only when nothing of PumpWatch is left to run.

Found on the emulated Pico: the board HAL turned Ctrl-C back on inside the step that
entered maintenance, while the loop, entry.run and main.py still had code to run.
mpremote's Ctrl-C arriving in that window raised KeyboardInterrupt inside the unit: a
crash record, a reset back into monitoring, and an update that waited for a prompt that
never came.  Checked on CPython with stand-ins, as the boot order is."""

from __future__ import annotations

import sys
import types
from pathlib import Path

from test_machine_hal_vibration import BASE, machine_hal  # noqa: F401 - the fixture

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def test_entering_maintenance_leaves_ctrl_c_off_while_the_loop_still_runs(machine_hal):  # noqa: F811
    chars = []
    sys.modules["micropython"].kbd_intr = chars.append
    hal = machine_hal.MachineHAL(dict(BASE))
    hal.enter_maintenance(600_000)
    assert hal.stopping and 3 not in chars


def _run_main(monkeypatch, run_returns):
    calls = []
    micropython = types.ModuleType("micropython")
    micropython.kbd_intr = lambda char: calls.append(("kbd_intr", char))
    entry = types.ModuleType("pumpwatch.entry")
    entry.run = lambda watchdog: calls.append(("run",)) or run_returns
    package = types.ModuleType("pumpwatch")
    package.entry = entry
    monkeypatch.setitem(sys.modules, "micropython", micropython)
    monkeypatch.setitem(sys.modules, "pumpwatch", package)
    monkeypatch.setitem(sys.modules, "pumpwatch.entry", entry)
    monkeypatch.setitem(sys.modules, "machine", types.ModuleType("machine"))  # no WDT: the emulators' case
    exec(compile((FIRMWARE / "main.py").read_text(), "main.py", "exec"), {"__name__": "__main__"})
    return calls


def test_main_py_turns_ctrl_c_on_as_its_last_step_when_the_unit_left_for_maintenance(monkeypatch):
    assert _run_main(monkeypatch, True) == [("kbd_intr", -1), ("run",), ("kbd_intr", 3)]


def test_main_py_leaves_ctrl_c_off_when_the_unit_did_not_leave_for_maintenance(monkeypatch):
    assert _run_main(monkeypatch, None) == [("kbd_intr", -1), ("run",)]
