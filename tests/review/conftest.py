"""Review tests (issue 11): helpers shared with tests/device."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "device"))


@pytest.fixture
def hardware_free(request):
    if request.config.getoption("--port"):
        pytest.skip("needs the emulator's control API")
