"""Benchmark: the refill board's page with 1 000 synthetic units (issue 14).

A history holding one sync (and a pairing) for each of 1 000 units, each synced
with the settings of an examples/ file under its own patient label, refill date
and appointment; then the board page (GET /) rendered by the Flask app in-process
(test client: server time only, no network), median of REPEAT loads after one
warm-up load.  On SQLite, and on a PostgreSQL the bench starts itself
(tests/unit/pg_server.py; skipped with a line when PostgreSQL is not installed).
Goal (issue 14): <= 200 ms on each.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pumpwatch import timecalc

from pumpsync import board, settings_file
from pumpsync.history import History, events

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
UNITS = 1000
REPEAT = 15
GOAL_MS = 200.0
NOW = timecalc.parse_iso("2027-01-10T09:00:00Z")
CONFIRMED = ("dose-range", "programmer-mismatch")


def _shifted(document: dict, days: int) -> dict:
    doc = json.loads(json.dumps(document))
    for key in ("at", "next_appointment"):
        if key in doc["refill"]:
            at = datetime.fromisoformat(doc["refill"][key].replace("Z", "+00:00")) + timedelta(days=days)
            doc["refill"][key] = at.isoformat()
    return doc


def synthetic_settings(count: int = UNITS) -> list[tuple[str, str, str]]:
    """[(unit id, patient label, settings text as a sync stores it)]: every example in turn, shifted by
    a different number of days (refill and appointment), each under its own label."""
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    found = []
    for i in range(count):
        label = f"Synthetic patient {i:04d}"
        doc = _shifted(documents[i % len(documents)], -(i * 7 % 45))
        doc.setdefault("patient", {})["label"] = label
        loaded = settings_file.parse(json.dumps(doc), NOW, CONFIRMED)
        if loaded.errors:  # a shift the checks refuse (e.g. an appointment before the refill): unshifted
            doc = json.loads(json.dumps(documents[i % len(documents)]))
            doc.setdefault("patient", {})["label"] = label
            loaded = settings_file.parse(json.dumps(doc), NOW, CONFIRMED)
        assert not loaded.errors, loaded.errors
        found.append((f"{0x5e000000 + i:012x}", label, json.dumps(loaded.document, indent=1)))
    return found


def fill(history: History, units) -> None:
    """One pairing and one sync per unit, written in one transaction (the rows `History.record` writes)."""
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rows = []
    for unit_id, label, text in units:
        rows.append(dict(at=at, unit_id=unit_id, kind="pair", result="ok", before_settings=None,
                         after_settings=None, detail=json.dumps({"name": "bench"}), patient_label=label))
        rows.append(dict(at=at, unit_id=unit_id, kind="sync", result="ok", before_settings=None,
                         after_settings=text, detail=json.dumps({"confirmed": []}), patient_label=label))
    assert history.engine is not None, history.problem
    with history.engine.begin() as conn:
        conn.execute(events.insert(), rows)


def time_board(db, units) -> tuple[float, float, int, float]:
    """(median ms, first load ms, rows on the page, start-up warm-up ms) of GET / on the history `db`;
    the first load comes after the warm-up `pumpsync board` does before it serves."""
    fill(History(db), units)
    app = board.create_app(db, clock=lambda: NOW)
    client = app.test_client()
    started = time.perf_counter()
    app.warm()  # type: ignore[attr-defined]  # what pumpsync board does before it serves
    warm = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    page = client.get("/")
    first = (time.perf_counter() - started) * 1000
    assert page.status_code == 200
    shown = page.get_data(as_text=True).count("data-unit=")
    times_ms = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        assert client.get("/").status_code == 200
        times_ms.append((time.perf_counter() - started) * 1000)
    app.history.close()  # type: ignore[attr-defined]
    return statistics.median(times_ms), first, shown, warm


def _line(name: str, median: float, first: float, shown: int, warm: float) -> None:
    worst = max(median, first)
    print(f"  {name:<11} median {median:7.1f} ms over {REPEAT} loads, first load {first:7.1f} ms "
          f"(after the start-up warm-up, {warm:.0f} ms), {shown} units shown; goal <= {GOAL_MS:.0f} ms for "
          f"every load: worst ratio {worst / GOAL_MS:.2f} {'OK' if worst <= GOAL_MS else 'OVER'}")


def run() -> None:
    print(f"Refill board page with {UNITS} synthetic units (server time, Flask test client)")
    units = synthetic_settings()
    with tempfile.TemporaryDirectory() as folder:
        _line("SQLite", *time_board(str(Path(folder) / "history.sqlite"), units))
    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    import pg_server
    try:
        server = pg_server.Server().start()
    except pg_server.Unavailable as exc:
        print(f"  PostgreSQL  skipped: {exc}")
        return
    try:
        _line("PostgreSQL", *time_board(server.url(), units))
    finally:
        server.stop()


if __name__ == "__main__":
    run()
