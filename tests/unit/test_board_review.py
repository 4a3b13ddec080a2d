"""Review findings on the refill board (issue 14, second review), each pinned before its fix: one odd
history row never blanks the board; past the due date is overdue from the first second; a reservoir
forecast empty or past the pump's own alarm says so; a sync that ended unverified or interrupted is
never hidden behind the previous patient's row; the board never creates or migrates a history."""

from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

import board_data
from pumpwatch.forecast import Forecast

from pumpsync import board, due_list, times
from pumpsync.history import History, events
from pumpsync.session import CommandFailed, settings_of_text


def filled(tmp_path) -> str:
    path = str(tmp_path / "history.sqlite")
    history = History(path)
    board_data.fill(history)
    history.close()
    return path


def rows_at(path: str, now: int) -> dict:
    history = History(path)
    try:
        return {r.unit_id: r for r in due_list.board_rows(history, now)}
    finally:
        history.close()


def forecast_of(unit_id: str) -> Forecast:
    name, label, refill = board_data.UNITS[unit_id]
    prescription, _ = settings_of_text(board_data.unit_text(name, label, **refill))
    return Forecast(prescription, prescription.refill_at)


def test_one_unit_with_an_odd_record_is_flagged_and_every_other_unit_still_shows(tmp_path):
    path = filled(tmp_path)
    history = History(path)
    _, label, _ = board_data.UNITS["0badc0ffee01"]
    text = board_data.unit_text("simple-continuous.json", label)
    history.record("sync", "0badc0ffee01", "ok", None, text, confirmed=5)
    history.record("sync", "feedfacecafe", "ok", None, board_data.unit_text("near-empty.json", "M. Rossi"),
                   confirmed="programmer-mismatch")
    history.close()
    client = board.create_app(path, clock=lambda: board_data.NOW).test_client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert set(board_data.UNITS) <= set(re.findall(r'data-unit="([^"]+)"', html))
    rows = rows_at(path, board_data.NOW)
    assert rows["0badc0ffee01"].due_at is not None  # a bad "confirmed" is not the settings
    assert any("programmer-mismatch" in f for f in rows["feedfacecafe"].flags)  # a string, not its letters
    assert client.get("/unit/0badc0ffee01").status_code == 200


def test_a_unit_whose_records_cannot_be_read_is_listed_with_that_said_not_dropped(tmp_path, monkeypatch):
    path = filled(tmp_path)
    real = due_list._row

    def failing(unit_id, records, now, cache):
        if unit_id == "77aa00bb11cc":
            raise TypeError("odd record")
        return real(unit_id, records, now, cache)

    monkeypatch.setattr(due_list, "_row", failing)
    rows = rows_at(path, board_data.NOW)
    assert set(rows) == set(board_data.UNITS)
    assert any("cannot be read" in f and "pumpsync history --unit 77aa00bb11cc" in f
               for f in rows["77aa00bb11cc"].flags)


@pytest.mark.parametrize("after_s", [1, 60, 1800, 4000])
def test_a_unit_is_overdue_from_the_first_second_past_its_due_date(tmp_path, after_s):
    path = filled(tmp_path)
    due = forecast_of("0badc0ffee01").clinical_due_at
    row = rows_at(path, due + after_s)["0badc0ffee01"]
    assert row.overdue and row.days_text.startswith("overdue ") and "-" not in row.days_text
    html = board.create_app(path, clock=lambda: due + after_s).test_client().get("/").get_data(as_text=True)
    assert re.search(r'<tr class="overdue[^"]*" data-unit="0badc0ffee01"', html)


def test_a_reservoir_past_the_pump_alarm_or_forecast_empty_is_said_apart_from_overdue(tmp_path):
    path = filled(tmp_path)
    forecast = forecast_of("0badc0ffee01")
    assert forecast.clinical_due_at + 60 < forecast.low_reservoir_at
    just_overdue = rows_at(path, forecast.clinical_due_at + 60)["0badc0ffee01"]
    assert not any("low-reservoir alarm" in f or "EMPTY" in f for f in just_overdue.flags)
    past_alarm = rows_at(path, forecast.low_reservoir_at + 60)["0badc0ffee01"]
    assert any("past the pump's low-reservoir alarm" in f for f in past_alarm.flags)
    empty = rows_at(path, forecast.empty_at + 3600)["0badc0ffee01"]
    assert any(f.startswith("reservoir forecast EMPTY since") and "today" in f for f in empty.flags)
    assert not any("low-reservoir alarm" in f for f in empty.flags)  # the worse one only
    html = board.create_app(path, clock=lambda: forecast.empty_at + 3600).test_client().get("/").get_data(as_text=True)
    assert re.search(r'<tr class="[^"]*\bempty\b[^"]*" data-unit="0badc0ffee01"', html)


@pytest.mark.parametrize("result", ["unverified", "unknown"])
def test_a_later_sync_that_may_be_on_the_unit_is_what_the_board_shows_and_it_says_so(tmp_path, result):
    path = filled(tmp_path)
    history = History(path)
    new = board_data.unit_text("simple-continuous.json", "New Patient")
    history.record("sync", "0badc0ffee01", result, None, new, reason="interrupted")
    history.record("sync", "aaaaaaaaaaaa", result, None, new, reason="interrupted")
    history.close()
    rows = rows_at(path, board_data.NOW)
    for unit_id in ("0badc0ffee01", "aaaaaaaaaaaa"):
        assert rows[unit_id].label == "New Patient"
        assert any(f"last sync {result}" in f and "pumpsync status" in f for f in rows[unit_id].flags), \
            rows[unit_id].flags


@pytest.mark.parametrize("result", ["failed", "refused"])
def test_a_later_sync_that_wrote_nothing_leaves_the_row_and_flags_the_attempt(tmp_path, result):
    path = filled(tmp_path)
    history = History(path)
    history.record("sync", "0badc0ffee01", result, None, board_data.unit_text("simple-continuous.json", "Other"),
                   reason="no programmer printout")
    history.close()
    row = rows_at(path, board_data.NOW)["0badc0ffee01"]
    assert row.label == "J. Okafor"
    assert any(f"last sync attempt {result}" in f and "settings shown" in f for f in row.flags), row.flags


def test_the_board_refuses_a_history_that_does_not_exist_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(CommandFailed, match="does not exist"):
        board.create_app(str(missing))
    assert not missing.exists()


def test_the_board_never_migrates_an_older_history_and_still_shows_it(tmp_path):
    path = str(tmp_path / "old.sqlite")
    with sqlite3.connect(filled(tmp_path)) as new, sqlite3.connect(path) as conn:
        # as a pumpsync before the patient_label column left it (schema 2, in PRAGMA user_version 1)
        columns = "at, unit_id, kind, result, before_settings, after_settings, detail"
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, unit_id TEXT, "
                     "kind TEXT NOT NULL, result TEXT NOT NULL, before_settings TEXT, after_settings TEXT, "
                     "detail TEXT)")
        conn.execute("CREATE INDEX events_unit ON events (unit_id, at)")
        conn.executemany(f"INSERT INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         new.execute(f"SELECT {columns} FROM events ORDER BY id"))
        conn.execute("PRAGMA user_version = 1")
    before = open(path, "rb").read()
    app = board.create_app(path, clock=lambda: board_data.NOW)
    html = app.test_client().get("/").get_data(as_text=True)
    assert set(re.findall(r'data-unit="([^"]+)"', html)) == set(board_data.UNITS)
    app.history.close()
    assert open(path, "rb").read() == before


def test_the_board_refuses_a_file_that_holds_no_history(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(CommandFailed, match="no pumpsync history"):
        board.create_app(str(other))
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_board_reads_through_a_connection_that_refuses_writes(backend, request, tmp_path):
    url = filled(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    if backend == "postgresql":
        history = History(url)
        board_data.fill(history)
        history.close()
    app = board.create_app(url, clock=lambda: board_data.NOW)
    with pytest.raises(sa_exc.DBAPIError, match="(?i)read-?only"):
        with app.history.engine.begin() as conn:
            conn.execute(events.insert().values(at="2027-01-01T00:00:00+00:00", kind="sync", result="ok"))
    assert app.test_client().get("/").status_code == 200
    app.history.close()


def test_a_history_that_breaks_while_the_board_runs_is_said_on_every_page_not_a_missing_unit(tmp_path):
    path = filled(tmp_path)
    app = board.create_app(path, clock=lambda: board_data.NOW)
    client = app.test_client()
    assert client.get("/unit/0badc0ffee01").status_code == 200
    open(path, "wb").write(b"not a database " * 100)
    html = client.get("/").get_data(as_text=True)
    assert "0 units" not in html and "cannot be read" in html
    for address in ("/unit/0badc0ffee01", "/unit/0badc0ffee01/reservoir.png"):
        page = client.get(address)
        assert page.status_code == 503 and "cannot be read" in page.get_data(as_text=True)


def test_a_page_asked_for_under_another_sites_name_is_refused_so_a_web_page_cannot_rebind_to_the_board(tmp_path):
    """DNS rebinding: a site the nurse opens points its own name at 127.0.0.1 and reads the board as
    "same origin".  The board answers only to an address, this computer's names and --hostname."""
    app = board.create_app(filled(tmp_path), clock=lambda: board_data.NOW, hostnames=("board.clinic.lan",))
    client = app.test_client()
    for host in ("attacker.example:8096", "attacker.example", "127.0.0.1.nip.io:8080"):
        page = client.get("/unit/0badc0ffee01", headers={"Host": host})
        assert page.status_code == 421 and "J. Okafor" not in page.get_data(as_text=True)
        assert "--hostname" in page.get_data(as_text=True)
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "192.168.1.20", "board.clinic.lan:8080",
                 "BOARD.clinic.lan"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host


def test_a_unit_nobody_can_forecast_is_at_the_top_of_the_board_not_below_every_due_unit(tmp_path):
    path = filled(tmp_path)
    history = History(path)
    history.record("sync", "dddddddddddd", "ok", None, '{"version": 99, "therapy": "from a newer pumpsync"}')
    history.close()
    rows = board.sort_rows(list(rows_at(path, board_data.NOW).values()), "days")
    assert rows[0].unit_id == "dddddddddddd" and rows[0].due_at is None
    assert any("no forecast" in f for f in rows[0].flags)


def test_each_flag_from_an_earlier_record_says_when_it_was_recorded(tmp_path):
    path = filled(tmp_path)
    row = rows_at(path, board_data.NOW)["feedfacecafe"]
    recorded = row.local(row.last_sync_at)[:10]  # the fill records everything today
    for words in ("refill reconciliation flagged", ):
        assert any(f.startswith(words) and recorded in f for f in row.flags), row.flags
    # each row's date in its own patient's zone (past 23:00 UTC, Berlin is already tomorrow)
    faults = rows_at(path, board_data.NOW)["a1b2c3d4e5f6"]
    recorded = faults.local(faults.last_sync_at)[:10]
    assert any(f.startswith("unit faults in last log") and recorded in f for f in faults.flags), faults.flags
    drift = rows_at(path, board_data.NOW)["77aa00bb11cc"]
    recorded = drift.local(drift.last_sync_at)[:10]
    assert any(f.startswith("unit clock drift") and recorded in f for f in drift.flags), drift.flags


def test_a_read_back_that_differs_is_recorded_as_unverified_not_as_nothing_written(tmp_path, monkeypatch):
    """Re-review N1: pumpsync recorded a read-back mismatch as 'failed', and the board then said
    'nothing was written; the unit runs the settings shown' of a unit that had taken the new ones."""
    from pumpsync import visit

    recorded = []

    class Client:
        def write(self, *a, **k):
            return {}

        def call(self, method, *a, **k):
            return {"crc": "00000000", "intact": True} if method == "settings_get" else {"refill_due_at": 0}

    class Session:
        unit_id, client = "0badc0ffee01", Client()

        class history:
            @staticmethod
            def record(*args, **detail):
                recorded.append((args, detail))

    with pytest.raises(CommandFailed, match="may run"):
        visit._verify(Session(), None, "{}", False, lambda: 1_800_000_000)
    assert recorded[-1][0][:3] == ("sync", "0badc0ffee01", "unverified")


def test_after_an_unsure_sync_a_later_attempt_that_wrote_nothing_never_says_the_unit_runs_what_is_shown(tmp_path):
    path = filled(tmp_path)
    history = History(path)
    new = board_data.unit_text("simple-continuous.json", "New Patient")
    history.record("sync", "0badc0ffee01", "unverified", None, new, reason="read-back differs")
    history.record("sync", "0badc0ffee01", "failed", None, new, reason="no answer")
    history.close()
    flags = rows_at(path, board_data.NOW)["0badc0ffee01"].flags
    assert any("may run other settings" in f for f in flags)
    assert not any("runs the settings shown" in f for f in flags), flags


def test_an_empty_row_stays_darker_red_when_its_appointment_is_after_the_due_date(tmp_path):
    """Re-review N8: 'tr.overdue.late td' is more specific than 'tr.empty td', so an empty row with a
    late appointment (the usual case for a unit that ran dry) was painted like any overdue row."""
    path = filled(tmp_path)
    forecast = forecast_of("77aa00bb11cc")  # its appointment is months after the due date
    html = board.create_app(path, clock=lambda: forecast.empty_at + 3600).test_client().get("/").get_data(as_text=True)
    assert re.search(r'<tr class="overdue late empty" data-unit="77aa00bb11cc"', html)
    style = html.split("<style>")[1].split("</style>")[0]
    assert "tr.overdue.late.empty td" in style  # as specific as any overdue or late rule, and later


def test_a_unit_an_hour_overdue_sorts_above_one_due_in_an_hour(tmp_path):
    """Re-review N7: days left rounded to 0.1 day made both 0.0 and sorted them by unit id."""
    zone = times.zone_of_settings(None, None)
    now = board_data.NOW
    soon = due_list.BoardRow("aaaaaaaaaaaa", "due in an hour", zone, due_at=now + 3600, days_left=0.0)
    late = due_list.BoardRow("bbbbbbbbbbbb", "an hour overdue", zone, due_at=now - 3600, days_left=-0.0, overdue=True)
    assert [r.unit_id for r in board.sort_rows([soon, late], "days")] == ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]


def test_the_read_only_board_keeps_the_urls_own_postgresql_options(postgres_url):
    """Re-review N3: the board's read-only option replaced the URL's own options=, so a clinic whose
    history lives in schema 'clinic' (search_path) saw the public schema instead."""
    import sqlalchemy as sa
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS clinic")
    admin.dispose()
    url = postgres_url + "&options=-csearch_path%3Dclinic"
    history = History(url)
    board_data.fill(history)
    history.close()
    app = board.create_app(url, clock=lambda: board_data.NOW)
    html = app.test_client().get("/").get_data(as_text=True)
    assert set(re.findall(r'data-unit="([^"]+)"', html)) == set(board_data.UNITS)
    with pytest.raises(sa_exc.DBAPIError, match="(?i)read-?only"):
        with app.history.engine.begin() as conn:
            conn.execute(events.insert().values(at="2027-01-01T00:00:00+00:00", kind="sync", result="ok"))
    app.history.close()


def test_a_journal_left_by_a_writer_that_died_is_rolled_back_and_the_board_reads_on(tmp_path):
    """Re-review N2: a hot journal (a nurse's pumpsync lost power mid-record) blinded the read-only
    board with 'cannot be written; check its permissions'."""
    import subprocess
    import sys
    path = filled(tmp_path)
    app = board.create_app(path, clock=lambda: board_data.NOW)
    assert app.test_client().get("/").status_code == 200
    crash = ("import os, sqlite3; c = sqlite3.connect(%r, isolation_level=None); c.execute('pragma cache_size=1');"
             "c.execute('begin'); c.execute(\"update events set detail = hex(randomblob(2000))\"); os._exit(1)") % path
    subprocess.run([sys.executable, "-c", crash], check=False)
    assert (tmp_path / "history.sqlite-journal").exists()
    html = app.test_client().get("/").get_data(as_text=True)
    assert "cannot be read" not in html and set(board_data.UNITS) <= set(re.findall(r'data-unit="([^"]+)"', html))
    app.history.close()
    fresh = board.create_app(path, clock=lambda: board_data.NOW)
    assert fresh.test_client().get("/").status_code == 200
    fresh.history.close()
