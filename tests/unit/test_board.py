"""The refill board's content and rules, through Flask's test client (the browser test is
test_board_browser.py): every synced unit, the soonest due first, the core forecast's due date, the
flags, overdue and late-appointment rows marked, no patient label in any address, read-only."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import pytest

import board_data
from pumpwatch.forecast import Forecast

from pumpsync import board, due_list
from pumpsync.history import History
from pumpsync.session import CommandFailed, settings_of_text


@pytest.fixture(params=["sqlite", "postgresql"])
def clinic_db(request, tmp_path):
    url = str(tmp_path / "history.sqlite") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    history = History(url)
    labels = board_data.fill(history)
    history.close()
    return url, labels


@pytest.fixture
def client(clinic_db):
    app = board.create_app(clinic_db[0], clock=lambda: board_data.NOW)
    yield app.test_client()
    app.history.close()


def test_every_synced_unit_the_soonest_due_first_with_the_core_forecast(clinic_db):
    history = History(clinic_db[0])
    rows = due_list.board_rows(history, board_data.NOW)
    assert [r.unit_id for r in rows] == ["feedfacecafe", "a1b2c3d4e5f6", "77aa00bb11cc", "0badc0ffee01"]
    assert "never00synced" not in {r.unit_id for r in rows}  # refused syncs only: not on the board
    for row in rows:
        name, label, refill = board_data.UNITS[row.unit_id]
        prescription, _ = settings_of_text(board_data.unit_text(name, label, **refill))
        expected = Forecast(prescription, max(board_data.NOW, prescription.refill_at))
        assert row.label == label and row.due_at == expected.clinical_due_at
        assert row.days_left == round((expected.clinical_due_at - board_data.NOW) / 86400, 1)
        assert row.appointment_after_due == bool(expected.appointment_after_due)
    by_unit = {r.unit_id: r for r in rows}
    assert by_unit["feedfacecafe"].overdue and any(f.startswith("refill reconciliation flagged on ") for f in by_unit["feedfacecafe"].flags)
    assert by_unit["77aa00bb11cc"].appointment_after_due
    assert any("drift 25 min ahead" in f for f in by_unit["77aa00bb11cc"].flags)
    assert any("overridden (programmer-mismatch)" in f for f in by_unit["0badc0ffee01"].flags)
    assert any("faults" in f and "storage_corrupt" in f for f in by_unit["a1b2c3d4e5f6"].flags)
    assert by_unit["a1b2c3d4e5f6"].last_log_at is not None and by_unit["feedfacecafe"].last_log_at is None
    assert "Europe/Berlin" in by_unit["a1b2c3d4e5f6"].local(by_unit["a1b2c3d4e5f6"].due_at)
    history.close()


def test_the_page_marks_overdue_and_late_rows_and_never_puts_a_label_in_an_address(client, clinic_db):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert re.search(r'<tr class="overdue [^"]*" data-unit="feedfacecafe"', html)
    assert re.search(r'<tr class=" late" data-unit="77aa00bb11cc"', html)
    assert "AFTER the due date" in html and "Europe/Berlin" in html
    addresses = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert addresses and all(label.split()[-1] not in a for a in addresses for label in clinic_db[1].values())
    assert set(re.findall(r'href="/unit/([^"]+)"', html)) == set(board_data.UNITS)


def test_sorting_by_a_column_and_a_unknown_sort_falls_back_to_days_left(client):
    order = lambda html: re.findall(r'data-unit="([^"]+)"', html)  # noqa: E731
    assert order(client.get("/?sort=label").get_data(as_text=True)) == [
        "a1b2c3d4e5f6", "0badc0ffee01", "feedfacecafe", "77aa00bb11cc"]
    assert order(client.get("/?sort=unit").get_data(as_text=True)) == sorted(board_data.UNITS)
    assert order(client.get("/?sort=nonsense").get_data(as_text=True))[0] == "feedfacecafe"


def test_a_unit_page_has_its_history_and_forecast_plot(client):
    page = client.get("/unit/a1b2c3d4e5f6").get_data(as_text=True)
    assert "Bed 4 - A. Meyer" in page and 'src="/unit/a1b2c3d4e5f6/reservoir.png"' in page
    assert page.count("<tr><td>") >= 3 and "log_download" in page and "storage_corrupt" in page
    plot = client.get("/unit/a1b2c3d4e5f6/reservoir.png")
    assert plot.status_code == 200 and plot.mimetype == "image/png" and plot.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/unit/never00synced").status_code == 404
    assert client.get("/unit/Bed%204%20-%20A.%20Meyer").status_code == 404


def test_the_board_is_read_only(client, clinic_db):
    before = len(History(clinic_db[0]).entries())
    for path in ("/", "/unit/a1b2c3d4e5f6"):
        assert client.post(path).status_code == 405 and client.delete(path).status_code == 405
        client.get(path)
    assert len(History(clinic_db[0]).entries()) == before


def test_an_empty_history_is_a_page_and_a_damaged_one_is_said_at_start_and_on_the_page(tmp_path):
    History(str(tmp_path / "empty.sqlite")).close()  # what a nurse's pumpsync makes before its first visit
    app = board.create_app(str(tmp_path / "empty.sqlite"))
    assert "No unit has been synced" in app.test_client().get("/").get_data(as_text=True)
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database " * 100)
    with pytest.raises(CommandFailed, match="damaged"):
        board.create_app(str(damaged))
    running = tmp_path / "running.sqlite"
    board_data.fill(History(str(running)))
    app = board.create_app(str(running), clock=lambda: board_data.NOW)
    running.write_bytes(b"not a database " * 100)  # damaged while the board runs
    html = app.test_client().get("/").get_data(as_text=True)
    assert "cannot be read" in html and "damaged" in html and "move it aside" not in html


def _run(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "pumpsync", "board", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_a_bad_listen_address_or_a_taken_port_is_one_sentence(tmp_path):
    History(str(tmp_path / "h.sqlite")).close()
    for bad in ("8080", "localhost:", "localhost:99999", "host:port"):
        result = _run("--db", str(tmp_path / "h.sqlite"), "--listen", bad)
        assert result.returncode == 2 and "HOST:PORT" in result.stderr and "Traceback" not in result.stderr
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        result = _run("--db", str(tmp_path / "h.sqlite"), "--listen", f"127.0.0.1:{taken.getsockname()[1]}")
    finally:
        taken.close()
    assert result.returncode == 1 and "cannot serve there" in result.stderr and "Traceback" not in result.stderr
    result = _run("--db", str(tmp_path / "no-such-folder" / "h.sqlite"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_the_drift_flag_is_the_unit_clock_against_the_time_it_was_set_to_not_the_record_instant(tmp_path):
    """A slow history write (a busy clinic server) after the clock was set must not change the
    drift the board reports: CI saw "24 min ahead" for a unit 25 min ahead when a second ticked
    over between the clock set and the record."""
    history = History(str(tmp_path / "history.sqlite"))
    board_data.fill(history)
    set_to = int(time.time()) - 3  # the unit was set 3 s before this record is written
    history.record("time_set", "77aa00bb11cc", "ok", was=set_to + 25 * 60, time=set_to, jump_ok=False)
    rows = {r.unit_id: r for r in due_list.board_rows(history, board_data.NOW)}
    assert [f.split(" (set on")[0] for f in rows["77aa00bb11cc"].flags if "drift" in f] == ["unit clock drift 25 min ahead"]
    history.close()
