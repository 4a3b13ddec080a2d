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
import sys
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


class HistoryPathError(ValueError):
    """A --db whose folder does not exist: a mistyped path, not a new database."""


class HistoryUnavailable(OSError):
    """The history cannot be read (damaged, unreadable, from a newer pumpsync)."""


class History:
    """The record.  A damaged or read-only file never stops a unit command: `record` then
    says once, on stderr, that this was not recorded and why, and returns False."""

    def __init__(self, path: str | Path | None = None, warn=None):
        self.path = Path(path) if path else default_path()
        self.problem: str | None = None
        self.warned = False
        self.warn = warn or (lambda text: print(text, file=sys.stderr, flush=True))
        self.db: sqlite3.Connection | None = None
        if path and not self.path.parent.is_dir():
            raise HistoryPathError(f"--db: the folder {self.path.parent} does not exist (mistyped?); the history "
                                   "is a file in an existing folder")
        if path and self.path.is_dir():
            raise HistoryPathError(f"--db: {self.path} is a folder; give the history file's path in it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # patient data: readable by this user only, from the first byte
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self.db = sqlite3.connect(self.path)
            self._migrate()
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            self.problem = _reason(self.path, exc)
            if self.db is not None:
                self.db.close()
                self.db = None

    def _migrate(self):
        assert self.db is not None
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(f"it was written by a newer pumpsync (schema {version})")
        if version == len(MIGRATIONS):
            return
        with self.db:
            for number in range(version, len(MIGRATIONS)):
                self.db.execute(MIGRATIONS[number])
            self.db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def record(self, kind: str, unit_id: str | None, result: str, before: str | None = None,
               after: str | None = None, **detail) -> bool:
        if self.db is not None:
            try:
                with self.db:
                    self.db.execute(
                        "INSERT INTO events (at, unit_id, kind, result, before_settings, after_settings, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (datetime.now(timezone.utc).isoformat(timespec="seconds"), unit_id, kind, result, before,
                         after, json.dumps(detail, default=str)))
                return True
            except sqlite3.Error as exc:
                self.problem = _reason(self.path, exc)
        if not self.warned:
            self.warned = True
            self.warn(f"pumpsync: WARNING the history could not be written ({self.problem}): this {kind} "
                      f"({result}) is NOT recorded on this computer; note it by hand")
        return False

    def entries(self, unit_id: str | None = None) -> list[dict]:
        if self.db is None:
            raise HistoryUnavailable(self.problem)
        query = "SELECT at, unit_id, kind, result, before_settings, after_settings, detail FROM events"
        params: tuple = ()
        if unit_id:
            query += " WHERE unit_id = ?"
            params = (unit_id,)
        try:
            rows = self.db.execute(query + " ORDER BY id", params).fetchall()
        except sqlite3.Error as exc:
            raise HistoryUnavailable(_reason(self.path, exc)) from None
        return [{"at": at, "unit_id": unit, "kind": kind, "result": result, "before": before, "after": after,
                 "detail": _json_or_text(detail) if detail else {}}
                for at, unit, kind, result, before, after, detail in rows]

    def last_at(self, unit_id: str, kind: str, result: str) -> int | None:
        """Epoch seconds of the unit's latest record of this kind and result (None: none, or unreadable)."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT at FROM events WHERE unit_id = ? AND kind = ? AND result = ? "
                                  "ORDER BY id DESC LIMIT 1", (unit_id, kind, result)).fetchone()
        except sqlite3.Error:
            return None
        return int(datetime.fromisoformat(row[0]).timestamp()) if row else None

    def units(self) -> list[str]:
        if self.db is None:
            return []
        try:
            return [row[0] for row in self.db.execute(
                "SELECT DISTINCT unit_id FROM events WHERE unit_id IS NOT NULL ORDER BY unit_id")]
        except sqlite3.Error:
            return []

    def close(self):
        if self.db is not None:
            self.db.close()


def _json_or_text(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged ({text}); move it aside and pumpsync starts a new one"
    if "readonly" in text or isinstance(exc, PermissionError) or "unable to open" in text:
        return f"{path} cannot be written ({text}); check its permissions and the disk"
    return f"{path}: {text}"
