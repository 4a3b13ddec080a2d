"""Calendar arithmetic agrees with CPython's datetime."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from pumpwatch import timecalc

moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 12, 31))
offsets = st.integers(-14 * 60, 14 * 60)


@given(moments, offsets)
def test_iso_text_with_an_offset_parses_to_the_same_instant_as_datetime(moment, offset_min):
    zone = timezone(timedelta(minutes=offset_min))
    aware = moment.replace(microsecond=0, tzinfo=zone)
    assert timecalc.parse_iso(aware.isoformat()) == int(aware.timestamp())


@given(st.integers(0, 7_000_000_000))
def test_format_then_parse_round_trips(epoch):
    text = timecalc.format_iso(epoch)
    assert text == datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert timecalc.parse_iso(text) == epoch


def test_malformed_times_are_refused():
    for text in ["2026-11-20", "2026-11-20T10:30:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                 "2026-11-20T24:00:00Z", "2026-11-20T10:30:00+25:00", "20261120T103000Z", None, 5,
                 "2026-11-20T10:30:00.Z", "2026-11-20T10:3x:00Z"]:
        assert timecalc.parse_iso(text) is None, text
    assert timecalc.parse_iso("2028-02-29T00:00:00Z") is not None
    assert timecalc.parse_iso("2026-11-20T10:30:00.250Z") == timecalc.parse_iso("2026-11-20T10:30:00Z")


def test_times_of_day():
    assert timecalc.parse_hhmm("00:00") == 0
    assert timecalc.parse_hhmm("23:59") == 86340
    for text in ["24:00", "7:00", "07:60", "0700", "", None]:
        assert timecalc.parse_hhmm(text) is None
