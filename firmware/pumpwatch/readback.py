"""Reading back what the unit stored: a record (at boot) and the event log.

Owns checking a record's header, length and CRC, and parsing the lines
records.EventLog appends (each with its own CRC, so a torn or damaged line is
counted and skipped, never fatal).  Used at boot, by the host tools and for a
log download; the unit does not keep it in RAM otherwise.
"""

import json

from pumpwatch.records import MAGIC, RECORD_FORMAT, crc_text


class CorruptRecord(Exception):
    """A record exists but fails its checks (torn, edited, or a wrong format)."""


def read_record(path):
    """The value stored at `path`; None if there is none; CorruptRecord if damaged."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return parse_record(data, path)


def parse_record(data, path="record"):
    """The value of a record's bytes (None: no record); CorruptRecord if damaged."""
    if data is None:
        return None
    newline = data.find(b"\n")
    parts = data[:newline].decode().split(" ") if newline > 0 else []
    if len(parts) != 4 or parts[0] != MAGIC:
        raise CorruptRecord("%s: not a PumpWatch record" % path)
    if parts[1] != str(RECORD_FORMAT):
        raise CorruptRecord("%s: record format %s is not %d" % (path, parts[1], RECORD_FORMAT))
    body = data[newline + 1:]
    if str(len(body)) != parts[3] or crc_text(body) != parts[2]:
        raise CorruptRecord("%s: checksum mismatch" % path)
    try:
        return json.loads(body)
    except ValueError:
        raise CorruptRecord("%s: body is not JSON" % path)


def record_intact(path):
    """True when the record at `path` exists and its body matches its header's length
    and CRC; read 256 bytes at a time."""
    from pumpwatch.records import crc_continue, crc_text_of
    try:
        with open(path, "rb") as f:
            parts = f.readline().decode().split(" ")
            if len(parts) != 4 or parts[0] != MAGIC or parts[1] != str(RECORD_FORMAT):
                return False
            size, crc, piece = 0, 0, bytearray(256)
            while True:
                n = f.readinto(piece)
                if not n:
                    break
                size += n
                crc = crc_continue(memoryview(piece)[:n], crc)
    except (OSError, ValueError):
        return False
    return str(size) == parts[3].strip() and crc_text_of(crc) == parts[2]


def entries(log):
    """(entries oldest first, number of damaged lines dropped)."""
    found = []
    dropped = 0
    for _, name in log.files():
        with open(name, "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                if not line:
                    continue
                entry = parse_line(line)
                if entry is None:
                    dropped += 1
                else:
                    found.append(entry)
    return found, dropped


def log_page(log, cursor, max_bytes):
    """Raw lines from `cursor` ([file number, byte offset], or None for the
    oldest), at most `max_bytes` of them, read line by line from flash: the
    memory used is one page, whatever the size of the log.
    Returns (lines as text, next cursor, True when the newest line was read)."""
    files = log.files()
    if not files:
        return [], cursor, True
    numbers = [n for n, _ in files]
    if cursor is None or cursor[0] < numbers[0]:
        cursor = [numbers[0], 0]  # from the start, or what was paged from has rotated away
    lines = []
    size = 0
    number, offset = cursor
    while True:
        if number not in numbers:
            later = [n for n in numbers if n > number]
            if not later:
                return lines, [number, offset], True
            number, offset = later[0], 0
        with open(log.path(number), "rb") as f:
            f.seek(offset)
            while True:
                line = f.readline()
                if not line:
                    break
                if not line.endswith(b"\n"):
                    break  # being written, or torn: not yet a line
                if lines and size + len(line) > max_bytes:
                    return lines, [number, offset], False
                offset += len(line)
                size += len(line)
                lines.append(line[:-1].decode())
        later = [n for n in numbers if n > number]
        if not later:
            return lines, [number, offset], True
        number, offset = later[0], 0


def parse_line(line):
    """The entry of one log line, or None if it fails its checksum."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    if crc_text(body).encode() != line[:8]:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
