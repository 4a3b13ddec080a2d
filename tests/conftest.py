"""Shared test set-up.

`--port PORT` runs the device tests (tests/device) against a unit on a real
serial port instead of an emulated one; tests that need the emulator's
control API (virtual time, power cuts) are then skipped.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "unit"))


def pytest_addoption(parser):
    parser.addoption("--port", default=None, metavar="PORT",
                     help="run tests/device against the unit on this serial port (hardware in the loop)")
    parser.addoption("--keystore", default=None, metavar="PATH",
                     help="with --port: a keystore paired with that unit (for maintenance and writes)")


def pytest_collection_modifyitems(config, items):
    import pytest

    hardware = config.getoption("--port")
    for item in items:
        if hardware and not item.get_closest_marker("hardware"):
            item.add_marker(pytest.mark.skip(reason="needs the emulator's control API (virtual time, power, "
                                                    "button) or runs on CPython alone; not a hardware test"))
        elif not hardware and item.get_closest_marker("hardware_only"):
            item.add_marker(pytest.mark.skip(reason="needs a real unit (make hil PORT=...)"))
