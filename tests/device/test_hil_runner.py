"""`pytest tests/device --port PORT` runs the hardware subset against a unit that is,
for all the tests know, real: here one started by `pumpsync emulate`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

from pumpsync.micropython import REPO_ROOT


def test_the_hardware_subset_passes_against_pumpsync_emulate(tmp_path):
    emulate = subprocess.Popen([sys.executable, "-m", "pumpsync", "emulate", "--state", str(tmp_path / "unit"),
                                "--speed", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = re.search(r"serial port: (\S+)", emulate.stdout.readline()).group(1)
        result = subprocess.run([sys.executable, "-m", "pytest", "tests/device", "--port", port, "-q",
                                 "-p", "no:cacheprovider"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=600)
        summary = result.stdout.strip().splitlines()[-1]
        assert result.returncode == 0, result.stdout[-3000:]
        passed = int(re.search(r"(\d+) passed", summary).group(1))
        assert passed >= 6 and "skipped" in summary and "failed" not in summary
    finally:
        emulate.send_signal(signal.SIGINT)
        emulate.wait(timeout=20)
