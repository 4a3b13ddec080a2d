"""The plan of accepted settings is kept on the flash (plancache.py): a boot
after acceptance needs no settings checker, so a unit that restarts at night
comes back monitoring on a small heap.  A plan that does not belong to the
stored settings, or was made by other code, is never used."""

from __future__ import annotations

import json

from fake_hal import FakeHAL, quiet_step
from pumpwatch import plancache, records
from pumpwatch.unit import Unit
from settings_examples import minimal


def _accepted(tmp_path):
    hal = FakeHAL(tmp_path / "flash", wall_s=1_796_200_000)
    (tmp_path / "flash" / "settings.json").write_text(json.dumps(minimal()))
    unit = Unit(hal)
    quiet_step(unit)
    assert records.exists(unit.plan_path)
    return hal, unit


def _reboot(hal, monkeypatch=None, checker_allowed=True):
    if not checker_allowed:
        import pumpwatch.bootsettings as bootsettings

        def no_checker(*_):
            raise AssertionError("the boot checked the settings again")
        monkeypatch.setattr(bootsettings, "use", no_checker)
    unit = Unit(hal)
    quiet_step(unit)
    return unit


def test_a_boot_after_acceptance_uses_the_kept_plan_without_the_checker(tmp_path, monkeypatch):
    hal, first = _accepted(tmp_path)
    again = _reboot(hal, monkeypatch, checker_allowed=False)
    assert again.plan.starts == first.plan.starts
    assert again.plan.refill_due_at == first.plan.refill_due_at
    assert again.settings_crc == first.settings_crc and not again.faults


def test_a_kept_plan_for_other_settings_is_ignored_and_made_again(tmp_path):
    hal, first = _accepted(tmp_path)
    plancache.save(first.plan_path, first.plan, "00000000")  # e.g. left over from the previous settings
    again = _reboot(hal)
    assert again.plan.starts == first.plan.starts and not again.faults
    kept = json.loads(open(first.plan_path).read().split("\n", 1)[1])
    assert kept["settings_crc"] == first.settings_crc  # kept again for the next boot


def test_new_firmware_makes_the_plan_again(tmp_path, monkeypatch):
    hal, first = _accepted(tmp_path)
    monkeypatch.setattr(plancache, "code_crc", lambda: "feedf00d")  # a planning rule changed
    assert plancache.load(first.plan_path, first.settings_crc) is None
    again = _reboot(hal)
    assert again.plan.starts == first.plan.starts


def test_a_damaged_plan_record_is_never_used(tmp_path):
    hal, first = _accepted(tmp_path)
    with open(first.plan_path, "r+b") as f:
        f.seek(-12, 2)
        f.write(b"9999")
    assert plancache.load(first.plan_path, first.settings_crc) is None
    again = _reboot(hal)
    assert again.plan.starts == first.plan.starts and not again.faults


def test_factory_reset_erases_the_kept_plan(tmp_path):
    from pumpwatch import factory
    _, unit = _accepted(tmp_path)
    factory.erase(unit, "test")
    assert not records.exists(unit.plan_path)
