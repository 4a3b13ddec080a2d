"""`--json` gives times as UTC ISO 8601 with Z (issue 12: "--json stays UTC ISO with Z"; the audit
found `log --json` with epoch seconds only and `history --json` with "+00:00")."""

from __future__ import annotations

import json

from pumpsync import cli, unit_log
from pumpsync.history import History


def test_each_log_event_in_json_carries_its_utc_iso_time_beside_the_units_own_seconds():
    entries = [{"t": 1796594211, "e": "boot"}, {"t": None, "e": "crash"}]
    shown = unit_log.for_json(entries)
    assert shown[0] == {"t": 1796594211, "at": "2026-12-06T21:56:51Z", "e": "boot"}
    assert shown[1]["at"] is None  # a time the unit did not know
    assert entries[0] == {"t": 1796594211, "e": "boot"}  # the downloaded records are not changed


def test_history_json_times_end_in_z(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    history = History(db)
    history.record("sync", "feedfacecafe0001", "ok")
    history.close()
    assert cli.main(["history", "--db", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["at"].endswith("Z") and "+00:00" not in r["at"] for r in rows), rows
