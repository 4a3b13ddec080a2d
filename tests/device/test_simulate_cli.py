"""`pumpsync simulate` prints its timeline in the patient's local time with the
zone name, as every other command does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOCAL = re.compile(r"^  \d{4}-\d\d-\d\d \d\d:\d\d Europe/Berlin \(UTC\+0[12]:00\)  ")


def test_simulate_shows_every_time_in_the_patients_zone():
    result = subprocess.run([sys.executable, "-m", "pumpsync", "simulate", str(EXAMPLES / "flex-night-boost.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    timeline = [line for line in lines if re.match(r"^  \d{4}-", line)]
    assert len(timeline) > 10 and all(LOCAL.match(line) for line in timeline), timeline[:3]
    assert any(line.startswith("  refill due: 2027-01-19 18:46 Europe/Berlin (UTC+01:00)") for line in lines)
    assert "Z " not in result.stdout and not re.search(r"T\d\d:\d\d:\d\dZ", result.stdout)
