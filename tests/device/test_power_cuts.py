"""A power cut at littlefs block programs and erases of a whole visit (pair,
sync, a refill cycle with acknowledgements), on the unix backend's real
littlefs image: settings old or new, the log parseable, the unit running.
`make bench` cuts at every one; here every sixth (the suite's time budget), torn and clean."""

from __future__ import annotations

import pytest

from pumpsync import power_cuts


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power)")


def test_a_power_cut_at_every_sixth_block_operation_of_a_visit_loses_nothing_that_matters():
    result = power_cuts.sweep(every=6)
    assert result.total_ops > 30 and result.tried >= result.total_ops // 6
    assert result.failures == []
