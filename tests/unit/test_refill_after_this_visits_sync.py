"""`pumpsync refill` after this visit's sync is refused whichever clock is a second ahead (CI on a
fast machine: the sync was recorded at the computer's second, the unit's whole-second clock read one
less a moment later, and the refill went on to compare with settings that were already replaced)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pumpsync import visit
from pumpsync.history import History
from pumpsync.session import CommandFailed
from pumpsync.times import Zone

UNIT = "feedfacecafe0001"


def _session(tmp_path, unit_time_from_sync_s):
    history = History(tmp_path / "history.sqlite")
    history.record("sync", UNIT, "ok")
    synced_at = history.last_at(UNIT, "sync", "ok")
    # a file whose refill date was not updated: only the history shows this visit's sync
    before = SimpleNamespace(refill_at=synced_at - 60 * 86400)  # the prescription the unit held
    session = SimpleNamespace(hello={"time": synced_at + unit_time_from_sync_s}, history=history, unit_id=UNIT,
                              zone=lambda: Zone("UTC", lambda utc: 0))
    return session, before


@pytest.mark.parametrize("unit_time_from_sync_s", [-1, 0, 5, 3600])
def test_a_refill_right_after_this_visits_sync_is_refused(tmp_path, unit_time_from_sync_s):
    session, before = _session(tmp_path, unit_time_from_sync_s)
    with pytest.raises(CommandFailed, match="reconcile BEFORE the sync"):
        visit.refuse_after_this_visits_sync(session, before)


def test_a_sync_of_an_earlier_visit_leaves_the_refill_free(tmp_path):
    session, before = _session(tmp_path, 13 * 3600)
    visit.refuse_after_this_visits_sync(session, before)
