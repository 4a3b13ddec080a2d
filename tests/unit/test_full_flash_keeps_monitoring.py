"""A full (or failing) flash never stops the monitoring: EMPTY keeps sounding, a press still pauses
it, and the unit says its storage needs the clinic (review 28, finding 4, HIGH: a technician's stray
file filled the Pico's littlefs; every boot crashed writing its log and boot record, the watchdog
bit three times, and safe mode's technical sound replaced EMPTY)."""

from __future__ import annotations

import builtins
import errno
import json

import pytest

from fake_hal import FakeHAL, quiet_step
from pumpwatch import records
from pumpwatch.conditions import EMPTY, STORAGE_CORRUPT
from pumpwatch.unit import Unit
from settings_examples import minimal


@pytest.fixture
def full_flash(monkeypatch):
    real_open = builtins.open

    def open_on_a_full_flash(path, mode="r", *args, **kwargs):
        if any(c in mode for c in "wa+"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    def fill():
        monkeypatch.setattr(records, "open", open_on_a_full_flash, raising=False)
        monkeypatch.setattr(builtins, "open", open_on_a_full_flash)

    return fill


def test_a_unit_booting_on_a_full_flash_sounds_empty_and_a_press_still_pauses_it(tmp_path, full_flash):
    hal = FakeHAL(tmp_path / "flash")
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(
        minimal(refill={"at": "2026-11-08T11:06:40Z", "volume_ml": 1})))
    quiet_step(Unit(hal))  # the settings taken in while there was room
    full_flash()
    unit = Unit(hal)  # the next boot: nothing can be written
    quiet_step(unit)
    sounding = [cid for cid, _ in unit.sounding]
    assert EMPTY in sounding and STORAGE_CORRUPT in unit.faults, (sounding, unit.faults)
    hal.press(unit, 150)  # the acknowledgement cannot be saved: it holds until the next boot
    assert EMPTY not in [cid for cid, _ in unit.sounding]


def test_on_a_full_flash_the_storage_fault_is_paused_by_a_press_like_any_other(tmp_path, full_flash):
    """The fault stays while the flash cannot take records, but a press pauses it like any
    technical sound (a sound the patient cannot pause is one they take the battery out for)."""
    hal = FakeHAL(tmp_path / "flash")
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(minimal(refill={"at": "2026-11-08T11:06:40Z", "volume_ml": 20})))
    quiet_step(Unit(hal))
    full_flash()
    unit = Unit(hal)
    quiet_step(unit)
    assert [cid for cid, _ in unit.sounding] == [STORAGE_CORRUPT]
    hal.press(unit, 150)
    hal.advance(60_000)
    quiet_step(unit)
    assert unit.sounding == [] and STORAGE_CORRUPT in unit.faults
