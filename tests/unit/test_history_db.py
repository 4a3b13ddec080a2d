"""The history on either database: a SQLite file (default; a plain path or sqlite:///) or a clinic's
PostgreSQL (a real server the suite starts, tests/unit/pg_server.py), with one schema, one set of
migrations and the same behaviour; several computers writing to one PostgreSQL at once lose nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from pumpsync import history as history_module
from pumpsync.history import History, HistoryPathError, HistoryUnavailable

SETTINGS_A = json.dumps({"patient": {"label": "Bed 4 - A. Meyer"}, "drug": {"name": "baclofen"}})
SETTINGS_B = json.dumps({"patient": {"label": "B. Okafor"}})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("postgres_url")


def test_the_same_records_and_answers_on_both_databases(db_url):
    history = History(db_url)
    assert history.problem is None and history.version == len(history_module.MIGRATIONS)
    assert history.record("pair", "unit-a", "ok", name="desk-2") is True
    assert history.record("sync", "unit-a", "ok", None, SETTINGS_A, confirmed=["programmer-mismatch"]) is True
    assert history.record("log_download", "unit-a", "ok", events=12) is True  # no settings: the unit's label
    assert history.record("sync", "unit-b", "refused", None, SETTINGS_B, reason=["dose-change"]) is True
    entries = history.entries()
    assert [(e["unit_id"], e["kind"], e["result"]) for e in entries] == [
        ("unit-a", "pair", "ok"), ("unit-a", "sync", "ok"), ("unit-a", "log_download", "ok"),
        ("unit-b", "sync", "refused")]
    assert [e["patient_label"] for e in entries] == [None, "Bed 4 - A. Meyer", "Bed 4 - A. Meyer", "B. Okafor"]
    assert entries[1]["detail"] == {"confirmed": ["programmer-mismatch"]} and entries[1]["after"] == SETTINGS_A
    assert [e["kind"] for e in history.entries("unit-b")] == ["sync"]
    assert history.units() == ["unit-a", "unit-b"]
    assert history.last_at("unit-a", "sync", "ok") is not None
    assert history.last_at("unit-b", "sync", "ok") is None
    assert {(e["unit_id"], e["kind"]) for e in history.latest()} == {
        ("unit-a", "pair"), ("unit-a", "sync"), ("unit-a", "log_download"), ("unit-b", "sync")}
    history.close()
    again = History(db_url)  # migrations run once: reopening changes nothing
    assert len(again.entries()) == 4 and again.version == len(history_module.MIGRATIONS)
    again.close()


def test_a_plain_path_a_sqlite_url_and_the_environment_name_the_same_file(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite"
    History(path).record("sync", "u1", "ok")
    assert len(History(f"sqlite:///{path}").entries()) == 1
    monkeypatch.setenv("PUMPSYNC_DB", str(path))
    assert len(History(None).entries()) == 1
    monkeypatch.setenv("PUMPSYNC_DB", str(tmp_path / "missing-folder" / "h.sqlite"))
    with pytest.raises(HistoryPathError, match="does not exist"):
        History(None)


def test_a_url_of_another_kind_is_an_error_not_a_file(tmp_path):
    with pytest.raises(HistoryPathError, match="PostgreSQL"):
        History("mysql://clinic@db/pumpsync")
    with pytest.raises(HistoryPathError, match="does not exist"):
        History(f"sqlite:///{tmp_path}/no-such-folder/h.sqlite")


def test_a_password_in_the_url_is_never_shown(tmp_path):
    history = History("postgresql://nurse:s3cret@/pumpsync?host=/nonexistent-socket-dir&port=1")
    assert "s3cret" not in str(history.path) and "s3cret" not in (history.problem or "")
    assert history.problem is not None
    history.close()


def test_an_unreachable_server_degrades_like_a_damaged_file(capsys):
    said = []
    history = History("postgresql://pumpsync@/nowhere?host=/nonexistent-socket-dir&port=1", warn=said.append)
    assert history.record("sync", "u1", "ok") is False and history.record("refill", "u1", "ok") is False
    assert len(said) == 1 and "NOT recorded" in said[0]
    with pytest.raises(HistoryUnavailable):
        history.entries()
    assert history.units() == [] and history.last_at("u1", "sync", "ok") is None


def test_a_file_of_an_older_pumpsync_is_migrated_and_keeps_its_records(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, unit_id TEXT, kind TEXT NOT NULL, "
               "result TEXT NOT NULL, before_settings TEXT, after_settings TEXT, detail TEXT)")
    db.execute("CREATE INDEX events_unit ON events (unit_id, at)")
    db.execute("INSERT INTO events (at, unit_id, kind, result, after_settings, detail) VALUES "
               "('2026-01-05T09:00:00+00:00', 'u1', 'sync', 'ok', ?, '{}')", (SETTINGS_A,))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    history = History(path)
    assert history.problem is None and history.version == len(history_module.MIGRATIONS)
    assert history.record("log_download", "u1", "ok", events=1)
    entries = history.entries()
    assert [e["kind"] for e in entries] == ["sync", "log_download"]
    assert entries[1]["patient_label"] is None  # the old row carries no label column value
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(history_module.MIGRATIONS)


def test_a_database_of_a_newer_pumpsync_is_not_touched(db_url):
    History(db_url).close()
    import sqlalchemy as sa
    engine = sa.create_engine(history_module._target(db_url)[1] or f"sqlite:///{db_url}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    engine.dispose()
    said = []
    history = History(db_url, warn=said.append)
    assert "newer pumpsync" in history.problem and history.record("sync", "u1", "ok") is False
    with pytest.raises(HistoryUnavailable):
        history.entries()


_WRITER = textwrap.dedent("""
    import sys
    from pumpsync.history import History
    url, unit, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    history = History(url)   # every writer also races the first migration of an empty database
    ok = sum(history.record("sync" if i % 2 else "log_download", unit, "ok", None,
                            '{"patient": {"label": "P-' + unit + '"}}' if i % 2 else None, n=i)
             for i in range(count))
    history.close()
    print(ok)
""")


@pytest.mark.postgresql
def test_several_computers_writing_to_one_postgresql_at_once_lose_nothing(postgres_url):
    writers, count = 4, 40
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, postgres_url, f"unit-{w}", str(count)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONWARNINGS="ignore"))
             for w in range(writers)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, [err for _, err in outputs]
    assert [int(out) for out, _ in outputs] == [count] * writers
    history = History(postgres_url)
    entries = history.entries()
    assert len(entries) == writers * count
    for w in range(writers):
        mine = [e for e in entries if e["unit_id"] == f"unit-{w}"]
        assert sorted(e["detail"]["n"] for e in mine) == list(range(count))
        assert {e["patient_label"] for e in mine[1:]} == {f"P-unit-{w}"}
    assert history.units() == [f"unit-{w}" for w in range(writers)]


@pytest.mark.postgresql
def test_pumpsync_history_reads_postgresql_from_db_or_the_environment(postgres_url):
    History(postgres_url).record("sync", "unit-z", "ok", None, SETTINGS_B)
    run = lambda *args, **env: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "pumpsync", "history", "--json", *args], capture_output=True, text=True,
        env=dict(os.environ, **env), timeout=60)
    for result in (run("--db", postgres_url), run(PUMPSYNC_DB=postgres_url)):
        assert result.returncode == 0, result.stderr
        assert [e["unit_id"] for e in json.loads(result.stdout)] == ["unit-z"]
