"""`make run`, the README's first command: it forecasts the example, runs a refill cycle on the
emulated unit, and ends by writing the patient's hand-outs and saying where they are (issue 14)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_ends_with_the_examples_hand_outs_and_where_they_are(tmp_path):
    out = tmp_path / "handouts"
    for _ in range(2):  # run again: the hand-outs are written anew, never refused as already there
        result = subprocess.run(["make", "--no-print-directory", "run", f"HANDOUTS={out}"], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    tail = result.stdout[result.stdout.index("REFILL DUE"):]
    for name in ("reminders.ics", "reservoir.png", "summary.pdf", "pumpwatch-high.wav", "README.txt"):
        assert str(out / name) in tail, tail
        assert (out / name).stat().st_size > 0
