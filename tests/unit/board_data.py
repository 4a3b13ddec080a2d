"""A clinic's history for the refill board's tests: units synced with the example files, with the
records the board's flags come from (a confirmed override, a flagged refill, faults in a downloaded
log, a drifted clock)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pumpwatch import timecalc

from pumpsync import settings_file
from pumpsync.history import History

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = timecalc.parse_iso("2027-01-10T09:00:00Z")  # the board's "now" in these tests


def unit_text(name: str, label: str | None = None, **refill) -> str:
    """The settings text a sync stores for an example file (clock.tz resolved, as pumpsync writes it)."""
    document = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    if label is not None:
        document.setdefault("patient", {})["label"] = label
    document["refill"].update(refill)
    loaded = settings_file.parse(json.dumps(document), NOW, ("dose-range", "programmer-mismatch"))
    assert not loaded.errors, loaded.errors
    return json.dumps(loaded.document, indent=1)


# unit id -> (example file, patient label, refill changes)
UNITS = {
    "a1b2c3d4e5f6": ("flex-night-boost.json", "Bed 4 - A. Meyer", {}),
    "0badc0ffee01": ("simple-continuous.json", "J. Okafor", {}),
    "77aa00bb11cc": ("weekly-flex.json", "Paeds 0719", {"next_appointment": "2027-06-30T09:00:00Z"}),
    "feedfacecafe": ("near-empty.json", "M. Rossi", {}),
}


def fill(history: History, at: dict | None = None) -> dict[str, str]:
    """Record a sync of each unit in UNITS, and the records the flags come from; returns unit -> label."""
    for unit_id, (name, label, refill) in UNITS.items():
        history.record("pair", unit_id, "ok", name="desk-2")
        confirmed = ["programmer-mismatch"] if unit_id == "0badc0ffee01" else []
        history.record("sync", unit_id, "ok", None, unit_text(name, label, **refill), confirmed=confirmed)
    history.record("refill", "feedfacecafe", "flagged", returned_ml=1.0, expected_ml=3.1, flagged=True)
    history.record("log_download", "a1b2c3d4e5f6", "ok", events=31,
                   faults=[{"t": NOW - 5 * 86400, "e": "fault", "c": "storage_corrupt"}])
    history.record("log_download", "0badc0ffee01", "ok", events=3, faults=[])
    set_to = int(time.time())
    history.record("time_set", "77aa00bb11cc", "ok", was=set_to + 25 * 60, time=set_to, jump_ok=False)  # 25 min ahead
    history.record("sync", "never00synced", "refused", None, None, reason="no programmer printout")
    return {unit_id: label for unit_id, (_, label, _) in UNITS.items()}
