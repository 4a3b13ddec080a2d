"""The host turns an IANA time zone into the offsets the device understands."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from pumpsync import settings_file
from pumpwatch import timecalc
from pumpwatch.schedule import LocalClock


def test_offset_changes_match_zoneinfo_every_hour_for_400_days():
    start = timecalc.parse_iso("2026-11-20T10:30:00Z")
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"):
        zone = ZoneInfo(name)
        offset, changes = settings_file.offsets_for(zone, start, 400)
        clock = LocalClock(offset * 60, [(at, minutes * 60) for at, minutes in changes])
        for t in range(start, start + 400 * 86400, 3600):
            expected = datetime.fromtimestamp(t, tz=timezone.utc).astimezone(zone).utcoffset()
            assert clock.offset_at(t) == int(expected.total_seconds()), (name, t)


def test_tz_is_resolved_into_offset_and_transitions():
    document = {"refill": {"at": "2026-11-20T10:30:00Z"}, "clock": {"tz": "Europe/Berlin"}}
    assert settings_file.resolve_timezone(document) == []
    assert document["clock"]["utc_offset_min"] == 60
    assert document["clock"]["transitions"][:2] == [
        {"at": "2027-03-28T01:00:00Z", "utc_offset_min": 120},
        {"at": "2027-10-31T01:00:00Z", "utc_offset_min": 60},
    ]
