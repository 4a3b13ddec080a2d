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


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: needs the real PostgreSQL server the suite starts itself")


_pg = {}


def _postgres_server():
    """One real PostgreSQL server per test process (tests/unit/pg_server.py), started on first use."""
    import pytest

    from pg_server import Server, Unavailable

    if "server" not in _pg and "why" not in _pg:
        try:
            _pg["server"] = Server().start()
        except (Unavailable, OSError) as exc:
            _pg["why"] = str(exc)
    if "why" in _pg:
        pytest.skip(f"no PostgreSQL server: {_pg['why']}")
    return _pg["server"]


def pytest_sessionfinish(session, exitstatus):
    server = _pg.pop("server", None)
    if server is not None:
        server.stop()


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    """The suite's PostgreSQL server (skipped, with the reason, where none can be started)."""
    return _postgres_server()


@pytest.fixture
def postgres_url(postgres, request):
    """A fresh, empty database on that server for this test: its postgresql:// URL."""
    import re
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{id(request) % 100000}"
    return postgres.create_database(name)

