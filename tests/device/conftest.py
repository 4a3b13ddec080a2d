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
def hardware_key(request, hardware_port):
    """On hardware: the key for the unit from --keystore (None without one)."""
    path = request.config.getoption("--keystore")
    if not hardware_port or not path:
        return None
    from pumpsync.client import UnitClient
    from pumpsync.keystore import Keystore

    with UnitClient(hardware_port) as client:
        return Keystore(path).key_for(client.call("hello")["unit_id"])


@pytest.fixture
def repl_port(request, hardware_port, hardware_key):
    """A port where mpremote reaches the REPL: the unit put in maintenance (paired first).
    On hardware this needs --keystore; afterwards the unit is reset back to monitoring."""
    if hardware_port:
        if hardware_key is None:
            pytest.skip("needs --keystore with this unit's key to put it in maintenance")
        from pumpsync.client import UnitClient
        from serial_helpers import mpremote

        with UnitClient(hardware_port, key=hardware_key) as client:
            client.write("maintenance", {"minutes": 5})
        yield hardware_port
        mpremote(hardware_port, "reset", check=False)
        return
    from serial_helpers import enter_maintenance

    unit = request.getfixturevalue("emu")
    enter_maintenance(unit)
    yield unit.port


@pytest.fixture
def clinic(tmp_path):
    """A nurse's computer (clinic.Clinic) with one paired emulated unit, its clock in real time."""
    from clinic import clinic_with_unit
    c = clinic_with_unit(tmp_path)
    yield c
    c.emu.close()


@pytest.fixture
def synced(clinic):
    """The same unit synced with this visit's settings (simple-continuous, refilled an hour and a
    minute ago: a file the test makes for now, refilled an hour ago, is a later refill even when made
    within the same second, which a fast machine does)."""
    from clinic import settings_for_now
    result = clinic.run("sync", str(settings_for_now(clinic.tmp, refilled_ago_s=3660)), "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    return clinic
