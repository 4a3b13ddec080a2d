"""Reading back what the unit stored: a record (at boot) and the event log.

Owns checking a record's header, length and CRC, and parsing the lines
records.EventLog appends (each with its own CRC, so a torn or damaged line is
counted and skipped, never fatal).  Used at boot, by the host tools and for a
log download; the unit does not keep it in RAM otherwise.
"""

import json

from pumpwatch.records import MAGIC, RECORD_FORMAT, crc_text, exists


class CorruptRecord(Exception):
    """A record exists but fails its checks (torn, edited, or a wrong format)."""


def read_record(path):
    """The value stored at `path`; None if there is none; CorruptRecord if damaged."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
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




def files(log):
    """The log's files, oldest first."""
    names = ["%s.%d" % (log.path, i) for i in range(log.keep, 0, -1)] + [log.path]
    return [name for name in names if exists(name)]


def entries(log):
    """(entries oldest first, number of damaged lines dropped)."""
    found = []
    dropped = 0
    for name in files(log):
        with open(name, "rb") as f:
            data = f.read()
        for line in data.split(b"\n"):
            if not line:
                continue
            entry = parse_line(line)
            if entry is None:
                dropped += 1
            else:
                found.append(entry)
    return found, dropped


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
