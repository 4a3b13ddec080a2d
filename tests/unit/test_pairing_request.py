"""A pairing request nobody confirmed (the host gave up: Ctrl-C) can never be
confirmed later, however long the unit runs: its 30 s window is measured on
the unit's uptime, which never wraps, not on the board's ticks, which wrap
every 2**30 ms (12.4 days) and used to reopen it for ~30 s each time
(found by the before-fix attack run, bench/attacks_before_fix.sh)."""

from __future__ import annotations

import os

from fake_hal import FakeHAL, quiet_step
from pumpwatch import protocol, records
from pumpwatch.unit import Unit

HALF_DAY_MS = 12 * 3600 * 1000  # the unit wakes at least this often (heartbeat)


def _abandoned_request(tmp_path):
    hal = FakeHAL(tmp_path / "flash", wall_s=1_796_200_000)
    unit = Unit(hal)
    quiet_step(unit)
    hal.send(unit, protocol.encode({"v": 1, "id": 1, "m": "pair", "a": {"key": os.urandom(32).hex(), "name": "gone"}}))
    return hal, unit


def _live(hal, unit, ms):
    while ms > 0:
        step = min(ms, HALF_DAY_MS)
        hal.advance(step)
        quiet_step(unit)
        ms -= step


def test_an_abandoned_pairing_request_is_not_confirmed_a_tick_period_later(tmp_path):
    hal, unit = _abandoned_request(tmp_path)
    _live(hal, unit, 2**30 + 5000)  # the ticks are back where the request was made
    hal.press(unit, 2000)  # the patient's status press
    assert not records.exists(unit.data_dir + "/keys.rec")


def test_within_its_window_the_same_press_confirms_it(tmp_path):
    hal, unit = _abandoned_request(tmp_path)
    _live(hal, unit, 3000)  # after the trill
    hal.press(unit, 2000)
    assert records.exists(unit.data_dir + "/keys.rec")


def _pair_request(tmp_path, key):
    hal = FakeHAL(tmp_path / "flash", wall_s=1_796_200_000)
    unit = Unit(hal)
    quiet_step(unit)
    hal.send(unit, protocol.encode({"v": 1, "id": 1, "m": "pair", "a": {"key": key.hex(), "name": "desk"}}))
    return hal, unit


def test_the_computer_that_asked_can_cancel_its_pairing_request_so_a_later_press_pairs_nothing(tmp_path):
    key = os.urandom(32)
    hal, unit = _pair_request(tmp_path, key)
    hal.send(unit, protocol.encode({"v": 1, "id": 2, "m": "pair_cancel", "a": {"key": key.hex()}}))
    _live(hal, unit, 3000)  # after the trill, within the window
    hal.press(unit, 2000)
    assert not records.exists(unit.data_dir + "/keys.rec")


def test_a_cancel_without_the_requests_key_cancels_nothing(tmp_path):
    key = os.urandom(32)
    hal, unit = _pair_request(tmp_path, key)
    hal.send(unit, protocol.encode({"v": 1, "id": 2, "m": "pair_cancel", "a": {"key": os.urandom(32).hex()}}))
    _live(hal, unit, 3000)
    hal.press(unit, 2000)
    assert records.exists(unit.data_dir + "/keys.rec")
