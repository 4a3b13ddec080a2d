"""A sync's settings on the unit (core on CPython, fake_hal.py): they arrive in
pieces appended to a staged file, the unit restarts, and the next boot checks
and applies them on a fresh heap.  Nothing half-sent or damaged is ever applied,
and a refusal leaves the old settings in force with the reasons for the host."""

from __future__ import annotations

import json

import pytest

from fake_hal import FakeHAL, quiet_step
from pumpsync.client import _pieces
from pumpwatch import records, writes
from pumpwatch.service import Service
from pumpwatch.unit import Unit
from settings_examples import minimal

OLD = minimal()
NEW = minimal(refill={"at": "2026-11-30T09:00:00Z", "volume_ml": 18}, patient={"label": "Zoë Ünal, bed 4"})


def _running_unit(tmp_path):
    hal = FakeHAL(tmp_path / "flash", wall_s=1_796_200_000)  # 2 December 2026
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(OLD))
    unit = Unit(hal)
    quiet_step(unit)
    assert unit.settings_crc == records.crc_of(json.dumps(OLD))
    return hal, unit


def _send(unit, text, crc=None, order=None):
    service = Service(unit)
    pieces = list(_pieces(text))
    replies = []
    for offset, piece in [pieces[i] for i in order] if order else pieces:
        replies.append(writes.settings_put(service, {"text": piece, "offset": offset, "total": len(text),
                                                     "crc": crc or records.crc_of(text)}))
    return replies


def _restart(hal):
    unit = Unit(hal)
    quiet_step(unit)
    return unit


def test_settings_sent_in_pieces_are_applied_at_the_next_boot(tmp_path):
    hal, unit = _running_unit(tmp_path)
    text = json.dumps(NEW, indent=1) + " " * 3000  # several pieces, with non-ASCII letters
    replies = _send(unit, text)
    assert len(replies) >= 3 and replies[-1] == {"crc": records.crc_of(text), "staged": True, "restart": True}
    assert unit.reset_requested == "settings"
    assert unit.settings_crc == records.crc_of(json.dumps(OLD))  # nothing changes before the restart
    unit = _restart(hal)
    assert unit.settings_crc == records.crc_of(text)
    assert unit.last_put == {"crc": records.crc_of(text), "errors": [], "refill_due_at": unit.plan.refill_due_at}
    assert not records.exists(unit.staged_path) and not records.exists(unit.staged_text_path)


def test_a_refused_file_leaves_the_old_settings_in_force_and_says_why(tmp_path):
    hal, unit = _running_unit(tmp_path)
    bad = json.loads(json.dumps(NEW))
    bad["pump"]["reservoir_ml"] = "20"
    _send(unit, json.dumps(bad))
    unit = _restart(hal)
    assert unit.settings_crc == records.crc_of(json.dumps(OLD))
    assert unit.last_put["errors"] == ['pump.reservoir_ml: must be a number, not "20"']
    assert unit.faults == {}  # a sync's refusal is the nurse's to read, not an alarm for the patient


@pytest.mark.parametrize("how", ["out of order", "wrong crc"])
def test_pieces_out_of_order_or_damaged_are_refused_and_change_nothing(tmp_path, how):
    hal, unit = _running_unit(tmp_path)
    text = json.dumps(NEW) + " " * 4000
    with pytest.raises(ValueError) as refused:
        if how == "out of order":
            _send(unit, text, order=[0, 2, 1])
        else:
            _send(unit, text, crc="00000000")
    assert ("in order" if how == "out of order" else "arrived damaged") in str(refused.value)
    assert unit.reset_requested is None
    unit = _restart(hal)
    assert unit.settings_crc == records.crc_of(json.dumps(OLD)) and unit.last_put is None


def test_an_unfinished_sync_is_removed_at_the_next_boot(tmp_path):
    hal, unit = _running_unit(tmp_path)
    text = json.dumps(NEW) + " " * 4000
    service = Service(unit)
    offset, piece = next(iter(_pieces(text)))
    assert writes.settings_put(service, {"text": piece, "offset": 0, "total": len(text)})["received"] == len(piece)
    unit = _restart(hal)  # the cable was pulled, then the battery
    assert unit.settings_crc == records.crc_of(json.dumps(OLD))
    assert not records.exists(unit.staged_text_path)


def test_a_power_cut_after_the_settings_were_stored_applies_them_once_more_not_the_old_ones(tmp_path):
    hal, unit = _running_unit(tmp_path)
    text = json.dumps(NEW)
    _send(unit, text)
    staged = (tmp_path / "flash" / "data" / "staged.rec").read_bytes()
    staged_text = (tmp_path / "flash" / "data" / "staged.txt").read_bytes()
    _restart(hal)
    # as if the power went between storing the settings and removing the staged copy
    (tmp_path / "flash" / "data" / "staged.rec").write_bytes(staged)
    (tmp_path / "flash" / "data" / "staged.txt").write_bytes(staged_text)
    unit = _restart(hal)
    assert unit.settings_crc == records.crc_of(text) and unit.last_put["errors"] == []
