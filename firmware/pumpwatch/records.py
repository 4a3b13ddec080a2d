"""What the unit keeps on flash, and how it survives power loss.

Owns two storage formats (docs/storage.md):

* a **record**: one JSON value in its own file, header
  "PWREC <format> <crc32 hex> <length>\\n" then the JSON body.  Written to
  "<name>.tmp", flushed, closed, then renamed over the old file: littlefs
  renames atomically, so a power cut leaves the old or the new record.
* the **event log**: append-only lines "<crc32 hex> <json>\\n", each checked on
  its own, so a torn last line is dropped, not fatal.  Rotated to
  "<name>.1", "<name>.2" when a file passes `max_bytes`.

Nothing here writes unless asked to: callers write only on change.  Reading
back (records at boot, the log for the host) is readback.py's: the unit
writes all the time but reads only at boot, so that code is not kept in RAM.
"""

import json
import os

try:
    from binascii import crc32
except ImportError:  # pragma: no cover - every supported interpreter has it
    from zlib import crc32

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

RECORD_FORMAT = const(1)
MAGIC = "PWREC"


def crc_text(data):
    return "%08x" % (crc32(data) & 0xFFFFFFFF)


def crc_of(text):
    """CRC-32 (hex) of a text's UTF-8 bytes: identifies a settings file's content."""
    return crc_text(text.encode())


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def write_record(path, value):
    """Replace the record at `path` with `value`, power-loss safe."""
    body = json.dumps(value).encode()
    header = "%s %d %s %d\n" % (MAGIC, RECORD_FORMAT, crc_text(body), len(body))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header.encode())
        f.write(body)
        f.flush()
    os.rename(tmp, path)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class EventLog:
    """Append-only, checksummed, rotated event log."""

    def __init__(self, path, max_bytes=32768, keep=3):
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep

    def _size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0

    def append(self, entry):
        body = json.dumps(entry).encode()
        line = crc_text(body).encode() + b" " + body + b"\n"
        if self._size() + len(line) > self.max_bytes:
            self._rotate()
        with open(self.path, "ab") as f:
            f.write(line)

    def _rotate(self):
        oldest = "%s.%d" % (self.path, self.keep)
        remove(oldest)
        for index in range(self.keep - 1, 0, -1):
            older = "%s.%d" % (self.path, index)
            if exists(older):
                os.rename(older, "%s.%d" % (self.path, index + 1))
        if exists(self.path):
            os.rename(self.path, self.path + ".1")
