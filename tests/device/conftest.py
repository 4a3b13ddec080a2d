"""Fixtures for tests that talk to a unit: emulated by default, real with --port."""

from __future__ import annotations

import pytest

from pumpsync.emulator import Emulator

START = "2026-11-20T10:30:00Z"


@pytest.fixture
def hardware_port(request):
    return request.config.getoption("--port")


@pytest.fixture
def emu(request, tmp_path, hardware_port):
    """A factory-fresh emulated unit with virtual time frozen (speed 0)."""
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power); running on hardware")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as unit:
        yield unit


@pytest.fixture
def port(request, hardware_port):
    """The unit's serial port: the real one with --port, else an emulated unit's."""
    if hardware_port:
        return hardware_port
    return request.getfixturevalue("emu").port


@pytest.fixture
def repl_port(request, hardware_port):
    """A port where mpremote reaches the REPL: the unit put in maintenance (paired first).
    On hardware, the unit must already be in maintenance (pumpsync maintenance)."""
    if hardware_port:
        return hardware_port
    from serial_helpers import enter_maintenance

    unit = request.getfixturevalue("emu")
    enter_maintenance(unit)
    return unit.port
