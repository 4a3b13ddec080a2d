"""JSON written in bounded memory: json.dump through a small buffer, in pieces.

Owns turning a value into its JSON bytes without ever holding them whole:
`dump(value, flush_piece, buffer)` hands the bytes to `flush_piece` at most
len(buffer) at a time.  Run twice over the same value it gives the same bytes
(the same dict, the same order), so a caller can first count and checksum
them (a frame's or a record's header) and then send or store them.  A large
reply or settings record then needs no long free stretch of a heap in
pieces.  json.dump to a Python object needs io.IOBase; on a port without it
the value is dumped whole (`AVAILABLE` is False).
"""

import json

try:
    from io import IOBase
except ImportError:  # pragma: no cover - a port built without it
    IOBase = None

AVAILABLE = IOBase is not None


class _Sink(IOBase or object):  # type: ignore[misc]  # IOBase is None only on ports without it
    """Where json.dump writes: gathered into the buffer, then handed on."""

    def __init__(self, buffer, flush_piece):
        self.buffer = buffer
        self.used = 0
        self.flush_piece = flush_piece

    def write(self, data):
        if isinstance(data, str):  # CPython's json writes text
            data = data.encode()
        size = len(self.buffer)
        taken = 0
        while taken < len(data):
            n = min(len(data) - taken, size - self.used)
            self.buffer[self.used:self.used + n] = data[taken:taken + n]
            self.used += n
            taken += n
            if self.used == size:
                self.flush()
        return len(data)

    def flush(self):
        if self.used:
            self.flush_piece(memoryview(self.buffer)[:self.used])
            self.used = 0


def dump(value, flush_piece, buffer):
    """The JSON bytes of `value`, to `flush_piece` in pieces of at most len(buffer)."""
    if not AVAILABLE:
        flush_piece(json.dumps(value).encode())
        return
    sink = _Sink(buffer, flush_piece)
    json.dump(value, sink)
    sink.flush()
