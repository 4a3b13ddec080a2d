"""The clinic's record of every sync, pairing, refill reconciliation and log download.

Owns the SQLite database (stdlib sqlite3; default in the user's data
directory, `--db PATH` overrides).  Plain SQL and numbered migrations
(`PRAGMA user_version`), so a clinic could later point the same statements
at a server database.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import platformdirs

MIGRATIONS = [
    # 1: the first schema
    """CREATE TABLE events (
           id INTEGER PRIMARY KEY,
           at TEXT NOT NULL,              -- ISO 8601 UTC, when the host recorded it
           unit_id TEXT,
           kind TEXT NOT NULL,            -- pair | sync | refill | log_download | time_set | alarm_test | maintenance
           result TEXT NOT NULL,          -- ok | refused | failed
           before_settings TEXT,          -- the settings file text on the unit before (sync)
           after_settings TEXT,           -- the settings file text after (sync)
           detail TEXT                    -- JSON: what the nurse saw (table, figures, reason)
       )""",
    "CREATE INDEX events_unit ON events (unit_id, at)",
]


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("pumpsync")) / "history.sqlite"


class History:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # patient data: readable by this user only, from the first byte
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self.db = sqlite3.connect(self.path)
        self._migrate()

    def _migrate(self):
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} was written by a newer pumpsync (schema {version})")
        with self.db:
            for number in range(version, len(MIGRATIONS)):
                self.db.execute(MIGRATIONS[number])
            self.db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def record(self, kind: str, unit_id: str | None, result: str, before: str | None = None,
               after: str | None = None, **detail):
        with self.db:
            self.db.execute(
                "INSERT INTO events (at, unit_id, kind, result, before_settings, after_settings, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), unit_id, kind, result, before,
                 after, json.dumps(detail, default=str)))

    def entries(self, unit_id: str | None = None) -> list[dict]:
        query = "SELECT at, unit_id, kind, result, before_settings, after_settings, detail FROM events"
        params: tuple = ()
        if unit_id:
            query += " WHERE unit_id = ?"
            params = (unit_id,)
        rows = self.db.execute(query + " ORDER BY id", params).fetchall()
        return [{"at": at, "unit_id": unit, "kind": kind, "result": result, "before": before, "after": after,
                 "detail": json.loads(detail) if detail else {}}
                for at, unit, kind, result, before, after, detail in rows]

    def close(self):
        self.db.close()
