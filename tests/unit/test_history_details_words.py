"""A history record's details as a nurse reads them (pumpsync history, the board's unit page):
the faults a log download found are named with their local time, not as raw records."""

from pumpsync import records_view, times

BERLIN = times.Zone.of_iana("Europe/Berlin")
JAN_5_NOON_UTC = 1799150400  # 2027-01-05 12:00 UTC, 13:00 in Berlin


def test_the_faults_of_a_log_download_read_as_words_and_local_times():
    words = records_view._detail_words(
        {"events": 31, "faults": [{"t": JAN_5_NOON_UTC, "e": "fault", "c": "storage_corrupt"},
                                  {"t": JAN_5_NOON_UTC + 60, "e": "crash", "why": "MemoryError"}]}, BERLIN)
    assert "{" not in words and "'" not in words
    assert "storage_corrupt at 2027-01-05 13:00" in words
    assert "crash (why=MemoryError) at 2027-01-05 13:01" in words
    assert "events=31" in words
