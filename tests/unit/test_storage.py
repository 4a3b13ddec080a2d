"""Records and the event log survive damage the way the unit needs (core, on CPython)."""

from __future__ import annotations

import pytest

from pumpwatch import readback, records


def test_a_record_round_trips(tmp_path):
    path = str(tmp_path / "state.rec")
    records.write_record(path, {"acks": {"low_reservoir": 123}})
    assert readback.read_record(path) == {"acks": {"low_reservoir": 123}}
    assert not (tmp_path / "state.rec.tmp").exists()


def test_a_missing_record_is_none(tmp_path):
    assert readback.read_record(str(tmp_path / "nothing.rec")) is None


@pytest.mark.parametrize("damage", [
    lambda b: b[:-3],  # torn
    lambda b: b.replace(b"123", b"124"),  # edited
    lambda b: b"garbage",
    lambda b: b.replace(b"PWREC 1", b"PWREC 9"),  # future format
])
def test_a_damaged_record_is_reported_not_trusted(tmp_path, damage):
    path = tmp_path / "state.rec"
    records.write_record(str(path), {"acks": {"low_reservoir": 123}})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(readback.CorruptRecord):
        readback.read_record(str(path))


def test_a_torn_last_log_line_is_dropped_not_fatal(tmp_path):
    log = records.EventLog(str(tmp_path))
    for i in range(5):
        log.append({"e": "ack", "i": i})
    data = (tmp_path / "events.1.log").read_bytes()
    (tmp_path / "events.1.log").write_bytes(data[:-7])
    entries, dropped = readback.entries(log)
    assert [e["i"] for e in entries] == [0, 1, 2, 3] and dropped == 1


def test_a_corrupted_log_line_in_the_middle_is_skipped(tmp_path):
    log = records.EventLog(str(tmp_path))
    for i in range(3):
        log.append({"e": "x", "i": i})
    path = tmp_path / "events.1.log"
    path.write_bytes(path.read_bytes().replace(b'"i": 1', b'"i": 7'))
    entries, dropped = readback.entries(log)
    assert [e["i"] for e in entries] == [0, 2] and dropped == 1


def test_the_log_rotates_and_stays_bounded(tmp_path):
    log = records.EventLog(str(tmp_path), max_bytes=2000, keep=3)
    for i in range(500):
        log.append({"e": "raised", "i": i})
    sizes = [f.stat().st_size for f in tmp_path.iterdir()]
    assert len(sizes) == 3 and all(size <= 2000 for size in sizes)
    entries, dropped = readback.entries(log)
    numbers = [e["i"] for e in entries]
    assert numbers == sorted(numbers) and numbers[-1] == 499 and dropped == 0


def test_log_pages_stream_every_line_once_in_bounded_pages_across_rotation(tmp_path):
    log = records.EventLog(str(tmp_path), max_bytes=1500, keep=3)
    for i in range(40):
        log.append({"e": "raised", "i": i})
    cursor, seen = None, []
    for _ in range(100):
        lines, cursor, done = readback.log_page(log, cursor, 400)
        assert sum(len(line) + 1 for line in lines) <= 400 or len(lines) == 1
        seen += [readback.parse_line(line.encode())["i"] for line in lines]
        if done:
            break
        log.append({"e": "raised", "i": len(seen) + 1000})  # the log grows while a host pages
    oldest = readback.entries(log)[0][0]["i"]
    assert seen[0] == oldest and seen == sorted(seen) and len(seen) == len(set(seen))


def test_a_cursor_into_a_file_that_rotated_away_restarts_at_the_oldest(tmp_path):
    log = records.EventLog(str(tmp_path), max_bytes=500, keep=2)
    for i in range(5):
        log.append({"e": "raised", "i": i})
    _, cursor, _ = readback.log_page(log, None, 100)
    for i in range(5, 60):
        log.append({"e": "raised", "i": i})
    lines, _, _ = readback.log_page(log, cursor, 10_000)
    assert readback.parse_line(lines[0].encode()) == readback.entries(log)[0][0]
