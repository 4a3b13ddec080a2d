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

from pumpwatch import jsonpieces

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
    return crc_text_of(crc32(data))


def crc_continue(data, crc=0):
    """CRC-32 of bytes that follow bytes whose CRC-32 was `crc` (a file written in pieces)."""
    return crc32(data, crc)


def crc_text_of(crc):
    return "%08x" % (crc & 0xFFFFFFFF)


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
    """Replace the record at `path` with `value`, power-loss safe.  The JSON body is
    written in pieces (jsonpieces.py): a settings record never needs a second copy of
    its text in RAM."""
    buffer = bytearray(256)
    size = [0, 0]  # bytes, CRC-32

    def measure(piece):
        size[0] += len(piece)
        size[1] = crc32(piece, size[1])

    jsonpieces.dump(value, measure, buffer)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(("%s %d %s %d\n" % (MAGIC, RECORD_FORMAT, crc_text_of(size[1]), size[0])).encode())
            jsonpieces.dump(value, f.write, buffer)
            f.flush()
    except OSError:
        remove(tmp)  # a full flash: the piece written would only take more of it
        raise
    os.rename(tmp, path)


def try_write_record(path, value):
    """write_record for what monitoring keeps (acknowledgements, the boot record): False when the
    flash is full or failing; the old record stands and the unit goes on sounding."""
    try:
        write_record(path, value)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class EventLog:
    """Append-only, checksummed event log in numbered files (oldest removed)."""

    def __init__(self, directory, name="events", max_bytes=32768, keep=4):
        self.directory = directory
        self.name = name
        self.max_bytes = max_bytes
        self.keep = keep
        self.numbers = None  # file numbers in use, oldest first (read once)

    def path(self, number):
        return "%s/%s.%d.log" % (self.directory, self.name, number)

    def files(self):
        """[(number, path)] oldest first."""
        if self.numbers is None:
            self.numbers = _numbers(self.directory, self.name + ".")
        return [(n, self.path(n)) for n in self.numbers]

    def append(self, entry):
        """Add `entry`; False when the flash could not take it."""
        body = json.dumps(entry).encode()
        line = crc_text(body).encode() + b" " + body + b"\n"
        numbers = self.numbers
        if numbers is None:
            numbers = self.numbers = _numbers(self.directory, self.name + ".")
        if not numbers:
            numbers.append(1)
        elif _size(self.path(numbers[-1])) + len(line) > self.max_bytes:
            numbers.append(numbers[-1] + 1)
            while len(numbers) > self.keep:
                remove(self.path(numbers.pop(0)))
        try:
            with open(self.path(numbers[-1]), "ab") as f:
                f.write(line)
            return True
        except OSError:  # a full or failing flash: this record is lost, the monitoring goes on
            return False

    def clear(self):
        for _, path in self.files():
            remove(path)
        self.numbers = []


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def _numbers(directory, prefix):
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        if name.startswith(prefix) and name.endswith(".log"):
            middle = name[len(prefix):-4]
            if middle.isdigit():
                found.append(int(middle))
    found.sort()
    return found
