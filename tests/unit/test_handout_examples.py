"""Issue 14, done when: hand-outs for every file in examples/ are generated and checked.

Each example goes through `pumpsync handout FILE --out DIR` in-process (cli.main), then every file the
command promises is there and not empty, the calendar parses with icalendar and its due event is the
forecast's clinical_due_at (as `forecast --json` says it), the plot is a PNG and the summary is one page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timezone
from pathlib import Path

import pytest

from pumpsync import cli, handout
from pumpwatch import timecalc

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
AT = "2026-12-03T06:00:00Z"


def test_there_are_examples_to_check():
    assert len(EXAMPLES) >= 10


def _page_count(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_gets_its_hand_outs(example, tmp_path, capsys):
    from icalendar import Calendar

    assert cli.main(["forecast", str(example), "--at", AT, "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    out = tmp_path / "out"
    assert cli.main(["handout", str(example), "--out", str(out), "--at", AT]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    for target in handout._targets(out):
        assert target.is_file() and target.stat().st_size > 0, f"{example.name}: {target.name} missing or empty"
        assert str(target) in printed
    assert not [p.name for p in out.iterdir() if p.name.endswith(".partial")]

    calendar = Calendar.from_ical((out / "reminders.ics").read_bytes())
    due = [event for event in calendar.walk("VEVENT") if "due" in event["categories"].cats]
    assert len(due) == 1, f"{example.name}: one due event"
    start = due[0].decoded("dtstart")
    assert start.tzinfo is not None
    assert timecalc.format_iso(int(start.astimezone(timezone.utc).timestamp())) == expected["clinical_due_at"]

    assert (out / "reservoir.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "summary.pdf").read_bytes()[:5] == b"%PDF-"
    assert _page_count(out / "summary.pdf") == 1, f"{example.name}: the summary is one page"
    assert (out / "pumpwatch-high.wav").read_bytes()[:4] == b"RIFF"
