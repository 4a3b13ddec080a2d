"""The board checks and forecasts each synced settings text once (issue 14's 1 000-unit page load): a
second load forecasts nothing again, a new sync of a unit is forecast afresh, and what is cached is the
core Forecast of the settings (the same figures as a fresh one)."""

from __future__ import annotations

import board_data
from pumpwatch.forecast import Forecast

from pumpsync import board, due_list
from pumpsync.history import History
from pumpsync.session import settings_of_text


def test_a_second_load_forecasts_nothing_and_a_new_sync_is_forecast_afresh(tmp_path, monkeypatch):
    db = str(tmp_path / "history.sqlite")
    history = History(db)
    board_data.fill(history)
    checked = []
    real = due_list.settings_of_text
    monkeypatch.setattr(due_list, "settings_of_text", lambda text: checked.append(text) or real(text))
    cache = due_list.ForecastCache()
    first = due_list.board_rows(history, board_data.NOW, cache)
    assert len(checked) == len(board_data.UNITS)
    second = due_list.board_rows(history, board_data.NOW + 3600, cache)
    assert len(checked) == len(board_data.UNITS), "nothing checked or forecast again"
    assert [r.unit_id for r in first] == [r.unit_id for r in second]
    assert [r.due_at for r in first] == [r.due_at for r in second]
    assert all(b.days_left == round((a.due_at - board_data.NOW - 3600) / 86400, 1) for a, b in zip(first, second))

    history.record("sync", "0badc0ffee01", "ok", None,
                   board_data.unit_text("simple-continuous.json", "J. Okafor", volume_ml=10.0))
    third = {r.unit_id: r for r in due_list.board_rows(history, board_data.NOW, cache)}
    assert len(checked) == len(board_data.UNITS) + 1, "only the new settings"
    before = {r.unit_id: r for r in first}
    assert third["0badc0ffee01"].due_at < before["0badc0ffee01"].due_at  # half the drug: due sooner
    for row in third.values():
        prescription, _ = real([e for e in history.entries(row.unit_id) if e["kind"] == "sync"
                                and e["result"] == "ok"][-1]["after"])
        assert row.due_at == Forecast(prescription, max(board_data.NOW, prescription.refill_at)).clinical_due_at
    history.close()


def test_the_plot_is_of_the_forecast_as_of_now(tmp_path):
    history = History(str(tmp_path / "history.sqlite"))
    board_data.fill(history)
    row = due_list.board_rows(history, board_data.NOW)[0]
    later = due_list.current(row.forecast, board_data.NOW + 86400)
    assert later.as_of == board_data.NOW + 86400 and later.clinical_due_at == row.forecast.clinical_due_at
    assert due_list.current(later, board_data.NOW + 86400) is later
    history.close()
