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
