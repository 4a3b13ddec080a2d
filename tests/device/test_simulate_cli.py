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
    # one vocabulary everywhere: REFILL DUE is the date to refill by; the refill alarm is the unit's own
    assert any(line.startswith("  REFILL DUE: 2027-01-16 18:46 Europe/Berlin (UTC+01:00)") for line in lines)
    assert any(line.startswith("  refill alarm: 2027-01-19 18:46 Europe/Berlin (UTC+01:00)") for line in lines)
    assert "Z " not in result.stdout and not re.search(r"T\d\d:\d\d:\d\dZ", result.stdout)


def _simulate(*extra: str, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pumpsync", "simulate", str(EXAMPLES / "flex-night-boost.json"),
                           *extra], stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=300)


def test_simulate_stops_at_a_short_horizon_and_says_what_it_skipped():
    result = _simulate("--horizon-days", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    stopped = [line for line in lines if "stopped at the 3-day horizon" in line]
    assert stopped and "the reservoir was not yet empty" in stopped[0], result.stdout
    assert "events after 2026-11-23 11:30 Europe/Berlin (UTC+01:00) not simulated" in stopped[0]
    skipped = lines[lines.index(stopped[0]) + 1:]
    assert "    empty: 2027-01-26 10:17 Europe/Berlin (UTC+01:00) (forecast)" in skipped
    assert any(line.startswith("    refill alarm: 2027-01-19 18:46 Europe/Berlin") for line in skipped)
    assert any(line.startswith("    REFILL DUE: 2027-01-16 18:46 Europe/Berlin") for line in skipped)
    assert any(line.startswith("  simulated 3.0 days") for line in lines)
    assert result.stderr == ""  # piped: no progress, no escape codes anywhere
    assert "\x1b" not in result.stdout


def test_a_horizon_past_400_days_or_not_a_number_is_refused_naming_the_option():
    for bad in ("401", "0", "ten"):
        result = _simulate("--horizon-days", bad)
        assert result.returncode == 2 and "--horizon-days" in result.stderr and "1 to 400" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_simulate_shows_virtual_days_on_a_terminals_stderr_and_never_on_stdout():
    import os
    import pty
    import threading

    leader, follower = pty.openpty()
    drawn = bytearray()

    def read_terminal():  # read as it is drawn, so a full terminal buffer never stops pumpsync
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all was read
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        result = _simulate("--horizon-days", "60", stderr=follower)
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert result.returncode == 0
    text = drawn.decode(errors="replace")
    assert "simulating" in text and "virtual days" in text, text
    assert "\x1b[?25h" in text  # the bar was taken down and the cursor given back
    assert "\x1b" not in result.stdout and "virtual days" not in result.stdout
    assert "stopped at the 60-day horizon" in result.stdout
