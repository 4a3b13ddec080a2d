"""The unit's log as a nurse reads it: the evidence in the order the unit
recorded it, even when its clock was wrong for a while; times as local time
with the zone, lists as words."""

from __future__ import annotations

from pumpsync import times
from pumpsync.unit_log import _detail_text, merge_in_record_order

UTC = times.Zone("UTC", lambda utc: 0)
DAY = 86400


def test_events_keep_the_units_record_order_when_its_clock_was_days_ahead():
    wrong = 1_796_700_000 + 5 * DAY  # the clock ran 5 days ahead until time_set corrected it
    events = [{"t": wrong, "e": "boot"}, {"t": wrong + 60, "e": "paired"},
              {"t": 1_796_700_100, "e": "time_set"}, {"t": 1_796_700_200, "e": "settings"}]
    merged = merge_in_record_order(events, [])
    assert [e["e"] for e in merged] == ["boot", "paired", "time_set", "settings"]


def test_noise_goes_in_by_time_between_events_and_keeps_its_own_order():
    events = [{"t": 100, "e": "boot"}, {"t": 300, "e": "settings"}, {"e": "crash"}]
    noise = [{"t": 50, "e": "refused"}, {"t": 200, "e": "refused_again"}, {"t": 400, "e": "late"}]
    merged = merge_in_record_order(events, noise)
    assert [e["e"] for e in merged] == ["refused", "boot", "refused_again", "settings", "crash", "late"]


def test_details_show_clock_changes_as_local_times_and_lists_as_words():
    text = _detail_text({"t": 1, "e": "time_set", "from": 1_796_276_822, "to": 1_796_276_820,
                         "c": ["no_settings", "battery_low"]}, UTC)
    assert "from=2026-" in text and "to=2026-" in text and "1796276822" not in text
    assert "c=no_settings, battery_low" in text and "[" not in text
