"""A record from before the current refill (a fault last summer) is shown at its true local time:
the settings carry the patient's UTC offsets from the refill on only, so earlier instants take the
offset from the zone the settings name (review finding: a July fault showed UTC+01:00 in Berlin)."""

from __future__ import annotations

import board_data
from pumpwatch import timecalc

from pumpsync import times
from pumpsync.session import settings_of_text


def test_an_instant_before_the_refill_has_the_offset_that_was_in_force_then():
    prescription, document = settings_of_text(board_data.unit_text("flex-night-boost.json"))  # Berlin, refilled Nov
    zone = times.zone_of_settings(prescription, document)
    july = timecalc.parse_iso("2026-07-15T10:00:00Z")
    assert zone.local(july) == "2026-07-15 12:00 Europe/Berlin (UTC+02:00)"
    january = timecalc.parse_iso("2027-01-15T10:00:00Z")  # after the refill: the settings' offsets
    assert zone.local(january) == "2027-01-15 11:00 Europe/Berlin (UTC+01:00)"
