"""The checks between the settings on a unit and new ones (host, on CPython)."""

from __future__ import annotations

import pytest

from pumpsync import sync_checks
from pumpwatch.settings import check

from settings_examples import minimal

def _p(dose=400, origin=None, concentration=2000, refill="2027-01-20T10:30:00Z"):
    doc = minimal()
    doc["therapy"]["steps"][0]["mcg_per_day"] = dose
    doc["drug"]["concentration_mcg_per_ml"] = concentration
    doc["refill"]["at"] = refill
    if origin:
        doc["patient"] = {"spasticity_origin": origin}
    prescription, errors, _ = check(doc, None)
    assert not errors
    return prescription


@pytest.mark.parametrize("new_dose,origin,needs", [
    (560, "spinal", False), (561, "spinal", True),  # spinal: +40 %
    (480, "cerebral", False), (481, "cerebral", True),  # cerebral: +20 %
    (480, None, False), (481, None, True),  # no origin given: the stricter +20 %
    (320, None, False), (319, None, True),  # -20 %
])
def test_dose_change_ranges_follow_the_label(new_dose, origin, needs):
    before = _p(refill="2026-11-20T10:30:00Z")
    names = [c.name for c in sync_checks.required_confirmations(before, _p(new_dose, origin))]
    assert (sync_checks.CONFIRM_DOSE_CHANGE in names) == needs


def test_concentration_change_and_older_file_need_confirmation():
    before = _p(refill="2026-11-20T10:30:00Z")
    names = [c.name for c in sync_checks.required_confirmations(before, _p(concentration=500, dose=400))]
    assert sync_checks.CONFIRM_CONCENTRATION_CHANGE in names
    older = [c.name for c in sync_checks.required_confirmations(before, _p(refill="2026-11-01T10:30:00Z"))]
    assert older == [sync_checks.CONFIRM_OLDER_REFILL]


def test_first_sync_needs_no_confirmation():
    assert sync_checks.required_confirmations(None, _p()) == []


def test_reconciliation_flags_leaks_and_under_delivery():
    leak = sync_checks.reconcile(returned_ml=4.0, refill_volume_ml=20, expected_remaining_ml=8.0)
    assert leak["flagged"] and leak["discrepancy_pct"] == 33.3 and "pocket fill" in leak["meaning"]
    under = sync_checks.reconcile(returned_ml=11.0, refill_volume_ml=20, expected_remaining_ml=8.0)
    assert under["flagged"] and "delivered less" in under["meaning"]
    fine = sync_checks.reconcile(returned_ml=7.8, refill_volume_ml=20, expected_remaining_ml=8.0)
    assert not fine["flagged"]
