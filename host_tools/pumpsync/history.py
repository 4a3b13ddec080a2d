"""The clinic's record of every sync, pairing, refill reconciliation and log download.

Owns the history database: a SQLite file by default (in the user's data
directory; `--db PATH` or `PUMPSYNC_DB` overrides), or a clinic's shared
PostgreSQL (`--db postgresql://user@host/db`), through SQLAlchemy Core: one
schema, one list of numbered migrations and one set of statements for both
(the only dialect words are SQLite's `PRAGMA user_version`, kept for files of
older pumpsyncs, and PostgreSQL's advisory lock, so that two computers
starting at once migrate one after the other).  Every record is keyed by the
unit id and the settings' `patient.label` (from the settings it carries, else
the unit's last known label).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

import platformdirs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

ENV_VAR = "PUMPSYNC_DB"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_PARAMETERS = ("password", "sslpassword", "passfile")  # libpq's, in a URL's query (any case)
_CONNINFO = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|options)\s*=",
                       re.IGNORECASE)
_PG_LOCK = 0x70756D70  # "pump": the migration lock on a shared PostgreSQL

metadata = sa.MetaData()
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),        # ISO 8601 UTC, when the host recorded it
    sa.Column("unit_id", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),      # pair | sync | refill | log_download | time_set | ...
    sa.Column("result", sa.Text, nullable=False),    # ok | refused | failed | flagged | unknown | unverified
    sa.Column("before_settings", sa.Text),           # the settings file text on the unit before (sync)
    sa.Column("after_settings", sa.Text),            # the settings file text after (sync)
    sa.Column("detail", sa.Text),                    # JSON: what the nurse saw (table, figures, reason)
    sa.Column("patient_label", sa.Text),             # the settings' patient.label (migration 3)
)
schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))


def _create_events_v1(conn):
    """The first schema (SQLAlchemy spells the id's autoincrement for each database)."""
    v1 = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                  *(sa.Column(name, sa.Text, nullable=name in ("unit_id", "before_settings", "after_settings",
                                                               "detail"))
                    for name in ("at", "unit_id", "kind", "result", "before_settings", "after_settings", "detail")))
    conn.execute(sa.schema.CreateTable(v1))


# Numbered migrations: the database's version is how many have run.  Never edit one that has
# shipped; add the next.  Each is a list of statements (text) or callables taking the connection.
MIGRATIONS = [
    [_create_events_v1],                                               # 1: the first schema
    ["CREATE INDEX events_unit ON events (unit_id, at)"],              # (1 and 2 were one step in SQLite files)
    ["ALTER TABLE events ADD COLUMN patient_label TEXT",               # 3: records keyed by patient label too
     "CREATE INDEX events_label ON events (patient_label, unit_id)"],
]
# Files written before the migrations were split were at user_version 1 with both the table and its index.
_LEGACY_SQLITE_VERSIONS = {1: 2}


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("pumpsync")) / "history.sqlite"


class HistoryPathError(ValueError):
    """A --db whose folder does not exist (a mistyped path, not a new database), or a URL of another kind."""


class HistoryUnavailable(OSError):
    """The history cannot be read (damaged, unreadable, unreachable, from a newer pumpsync)."""


def _target(path) -> tuple[str, "sa.URL | None", Path | None, bool]:
    """(what to call it, URL, SQLite file, given explicitly) of --db / PUMPSYNC_DB / the default."""
    given = path if path not in (None, "") else os.environ.get(ENV_VAR) or None
    if given is None:
        file = default_path()
        return str(file), None, file, False
    text = str(given)
    if _CONNINFO.match(text):
        raise HistoryPathError("--db: that is a libpq connection string (key=value); give the clinic's PostgreSQL "
                               "as a URL, postgresql://user@host/db, with the password in ~/.pgpass")
    if not _URL.match(text):
        return text, None, Path(text), True
    try:
        url = sa.make_url(text)
        url.port  # noqa: B018 (a port that is not a number fails here, not at the first connection)
    except (sa_exc.ArgumentError, ValueError):
        raise HistoryPathError(f"--db: {_hide_password(text)} is not a database URL (postgresql://user@host/db, "
                               "sqlite:///path, or a file's path)") from None
    if url.host and "@" in url.host:  # the password's own '@' split the URL in the wrong place
        raise HistoryPathError("--db: the URL has more than one '@' before its host: write an '@' in the "
                               "password as %40 (nothing was connected)")
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
        shown = url.set(drivername="postgresql", query={
            key: ("***" if key.lower() in _SECRET_PARAMETERS else value) for key, value in url.query.items()})
        return shown.render_as_string(hide_password=True), url, None, True
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return url.database, None, Path(url.database), True
    raise HistoryPathError(f"--db: {_hide_password(text)}: the history is a SQLite file (a path, or sqlite:///path) "
                           "or a PostgreSQL database (postgresql://user@host/db)")


def _hide_password(text: str) -> str:
    text = re.sub(r"(://[^:/@]*):.*@", r"\1:***@", text)  # to the last '@': a password may hold one
    return re.sub(r"(?i)([?&](?:%s)=)[^&]*" % "|".join(_SECRET_PARAMETERS), r"\1***", text)


def _secrets_of(url) -> list[str]:
    """What must never be printed of a URL: its password and secret parameters."""
    if url is None:
        return []
    found = [url.password] + [value for key, value in url.query.items() if key.lower() in _SECRET_PARAMETERS]
    return [str(s) for s in found if isinstance(s, str) and s]


class History:
    """The record.  A damaged or read-only file, or an unreachable server, never stops a unit command:
    `record` then says once, on stderr, that this was not recorded and why, and returns False."""

    def __init__(self, path: str | Path | None = None, warn=None, read_only: bool = False):
        name, url, file, explicit = _target(path)
        self.path: Path | str = file if file is not None else name  # shown to the nurse; never a password
        self.problem: str | None = None
        self.warned = False
        self.warn = warn or (lambda text: print(text, file=sys.stderr, flush=True))
        self.engine: sa.Engine | None = None
        self.version = 0
        self.read_only = read_only
        self._read_only_file = file if read_only else None  # SQLite: a dead writer's journal may need rolling back
        self._secrets = _secrets_of(url)
        if file is not None and explicit:
            if not file.parent.is_dir():
                raise HistoryPathError(f"--db: the folder {file.parent} does not exist (mistyped?); the history "
                                       "is a file in an existing folder")
            if file.is_dir():
                raise HistoryPathError(f"--db: {file} is a folder; give the history file's path in it")
        if read_only:
            self._open_read_only(file, url)
            return
        try:
            if file is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
                if not file.exists():
                    # patient data: readable by this user only, from the first byte
                    os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
                url = sa.URL.create("sqlite", database=str(file))
                self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            else:
                assert url is not None  # a postgresql:// URL
                self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 10})
            self._migrate()
        except (sa_exc.SQLAlchemyError, OSError, RuntimeError) as exc:
            self.problem = self._why(exc)
            if self.version == 0 and self.engine is not None:
                self.engine.dispose()
                self.engine = None

    def _open_read_only(self, file: Path | None, url):
        """What the board reads: never creates, migrates or writes (SQLite's mode=ro, PostgreSQL's
        read-only transactions).  HistoryPathError when there is no history there."""
        if file is not None:
            if not file.is_file():
                raise HistoryPathError(f"{file} does not exist (no visit recorded into it yet, or a mistyped "
                                       "--db or PUMPSYNC_DB); nothing was created")
            address = f"{file.resolve().as_uri()}?mode=ro"
            self.engine = sa.create_engine("sqlite://", poolclass=sa.pool.NullPool, creator=lambda: sqlite3.connect(
                address, uri=True, check_same_thread=False))
        else:  # the URL's own options (a search_path) stay: connect_args would replace them
            options = " ".join(filter(None, [url.query.get("options"), "-c default_transaction_read_only=on"]))
            self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={
                "connect_timeout": 10, "options": options})
        try:
            self.version, has_events = self._reading(
                lambda conn: (self._read_version(conn), sa.inspect(conn).has_table("events")))
        except sa_exc.SQLAlchemyError as exc:
            self.problem = self._why(exc)
            return
        if self.version > len(MIGRATIONS):
            self.problem = f"{self.path}: it was written by a newer pumpsync (schema {self.version}): update this one"
        elif not has_events:
            self.engine.dispose()
            raise HistoryPathError(f"{self.path} holds no pumpsync history (no events table): is it the right "
                                   "--db?")

    def _reading(self, work):
        """`work(connection)`'s result; once more after rolling back a dead writer's journal."""
        assert self.engine is not None
        try:
            with self.engine.connect() as conn:
                return work(conn)
        except sa_exc.SQLAlchemyError as exc:
            if not self._recovered_journal(exc):
                raise
        with self.engine.connect() as conn:
            return work(conn)

    def _recovered_journal(self, exc: Exception) -> bool:
        """A read-only SQLite connection may not roll back a journal left by a writer that died (power
        lost mid-record: SQLITE_READONLY_ROLLBACK).  Opening the file read-write for one read rolls it
        back, to what was last committed, as any pumpsync would; nothing else is written."""
        if self._read_only_file is None or "readonly" not in str(exc):
            return False
        try:
            with sqlite3.connect(str(self._read_only_file)) as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.close()
        except sqlite3.Error:
            return False
        return True

    def _why(self, exc: Exception) -> str:
        """The reason to show for a database error, with any part of the password taken out (a
        driver may echo what it was given, e.g. a host that holds a password's tail)."""
        text = _reason(self.path, exc, self.read_only)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    @property
    def dialect(self) -> str | None:
        return self.engine.dialect.name if self.engine is not None else None

    def _read_version(self, conn) -> int:
        if sa.inspect(conn).has_table("schema_version"):
            return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
        if conn.dialect.name == "sqlite":
            legacy = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
            return _LEGACY_SQLITE_VERSIONS.get(legacy, legacy)
        return 0

    def _migrate(self):
        assert self.engine is not None
        with self.engine.connect() as conn:
            self.version = self._read_version(conn)  # a read-only file at an older version can still be read
            conn.rollback()
        if self.version > len(MIGRATIONS):
            version, self.version = self.version, 0
            raise RuntimeError(f"it was written by a newer pumpsync (schema {version})")
        if self.version == len(MIGRATIONS):
            return
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
            version = self._read_version(conn)  # again, under the lock: another computer may have done it
            for number in range(version, len(MIGRATIONS)):
                for step in MIGRATIONS[number]:
                    step(conn) if callable(step) else conn.exec_driver_sql(step)
            if version < len(MIGRATIONS):
                schema_version.create(conn, checkfirst=True)
                conn.execute(schema_version.delete())
                conn.execute(schema_version.insert().values(version=len(MIGRATIONS)))
                if conn.dialect.name == "sqlite":  # an older pumpsync then says "written by a newer pumpsync"
                    conn.exec_driver_sql(f"PRAGMA user_version = {len(MIGRATIONS)}")
        self.version = len(MIGRATIONS)

    def _label_column(self):
        return events.c.patient_label if self.version >= 3 else sa.null().label("patient_label")

    def record(self, kind: str, unit_id: str | None, result: str, before: str | None = None,
               after: str | None = None, **detail) -> bool:
        if self.engine is not None and self.problem is None:
            try:
                with self.engine.begin() as conn:
                    label = _label_of(after) or _label_of(before)
                    if label is None and unit_id is not None:
                        label = conn.execute(
                            sa.select(events.c.patient_label)
                            .where(events.c.unit_id == unit_id, events.c.patient_label.is_not(None))
                            .order_by(events.c.id.desc()).limit(1)).scalar()
                    conn.execute(events.insert().values(
                        at=datetime.now(timezone.utc).isoformat(timespec="seconds"), unit_id=unit_id, kind=kind,
                        result=result, before_settings=before, after_settings=after,
                        detail=json.dumps(detail, default=str), patient_label=label))
                return True
            except sa_exc.SQLAlchemyError as exc:
                self.problem = self._why(exc)
        if not self.warned:
            self.warned = True
            self.warn(f"pumpsync: WARNING the history could not be written ({self.problem}): this {kind} "
                      f"({result}) is NOT recorded on this computer; note it by hand")
        return False

    def _rows(self, query) -> list:
        if self.engine is None:
            raise HistoryUnavailable(self.problem)
        try:
            return self._reading(lambda conn: list(conn.execute(query)))
        except sa_exc.SQLAlchemyError as exc:
            raise HistoryUnavailable(self._why(exc)) from None

    def entries(self, unit_id: str | None = None) -> list[dict]:
        query = sa.select(events.c.at, events.c.unit_id, events.c.kind, events.c.result, events.c.before_settings,
                          events.c.after_settings, events.c.detail, self._label_column())
        if unit_id:
            query = query.where(events.c.unit_id == unit_id)
        return [{"at": at, "unit_id": unit, "kind": kind, "result": result, "before": before, "after": after,
                 "detail": _json_or_text(detail) if detail else {}, "patient_label": label}
                for at, unit, kind, result, before, after, detail, label in self._rows(query.order_by(events.c.id))]

    def latest(self) -> list[dict]:
        """The latest record of each (unit, kind, result), oldest first: what the refill board shows, in one
        query however long the history is."""
        newest = (sa.select(sa.func.max(events.c.id)).where(events.c.unit_id.is_not(None))
                  .group_by(events.c.unit_id, events.c.kind, events.c.result))
        query = (sa.select(events.c.id, events.c.at, events.c.unit_id, events.c.kind, events.c.result,
                           events.c.after_settings, events.c.detail, self._label_column())
                 .where(events.c.id.in_(newest)).order_by(events.c.id))
        return [{"id": id_, "at": at, "unit_id": unit, "kind": kind, "result": result, "after": after,
                 "detail": _json_or_text(detail) if detail else {}, "patient_label": label}
                for id_, at, unit, kind, result, after, detail, label in self._rows(query)]

    def last_at(self, unit_id: str, kind: str, result: str) -> int | None:
        """Epoch seconds of the unit's latest record of this kind and result (None: none, or unreadable)."""
        try:
            rows = self._rows(sa.select(events.c.at).where(events.c.unit_id == unit_id, events.c.kind == kind,
                                                           events.c.result == result)
                              .order_by(events.c.id.desc()).limit(1))
        except HistoryUnavailable:
            return None
        return int(datetime.fromisoformat(rows[0][0]).timestamp()) if rows else None

    def units(self) -> list[str]:
        try:
            return [row[0] for row in self._rows(sa.select(events.c.unit_id).distinct()
                                                 .where(events.c.unit_id.is_not(None)).order_by(events.c.unit_id))]
        except HistoryUnavailable:
            return []

    def close(self):
        if self.engine is not None:
            self.engine.dispose()


def _label_of(settings_text: str | None) -> str | None:
    if not settings_text:
        return None
    try:
        label = json.loads(settings_text).get("patient", {}).get("label")
    except (ValueError, AttributeError):
        return None
    return label if isinstance(label, str) and label else None


def _json_or_text(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reason(path, exc: Exception, read_only: bool = False) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if "not a database" in text or "malformed" in text:
        if read_only:  # the board: the nurses' computers decide what to do with it, not the board
            return f"{path} is damaged ({text}); tell whoever looks after the clinic's history"
        return f"{path} is damaged ({text}); move it aside and pumpsync starts a new one"
    if "readonly" in text or isinstance(exc, PermissionError) or "unable to open" in text:
        return f"{path} cannot be written ({text}); check its permissions and the disk"
    return f"{path}: {text}"
