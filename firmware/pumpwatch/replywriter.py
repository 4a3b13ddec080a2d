"""Sending one reply frame in bounded memory (the unit's side of protocol.py).

Owns writing a frame without ever holding its JSON body: json.dump runs
twice over the reply, first into a sink that computes the body's CRC and
MAC, then into one that sends it in small pieces.  The same dict gives the
same bytes both times, so the header sent first is right.  A whole 2 KB log
page or a 8 KB settings text then needs no free stretch of the heap larger
than PIECE, which matters on a fixed heap in pieces (docs/architecture.md).
json.dump to a Python object needs io.IOBase; a port without it builds the
frame whole (protocol.encode_parts).
"""

import json
from binascii import crc32, hexlify

from pumpwatch import protocol

try:
    from io import IOBase
except ImportError:  # pragma: no cover - a port built without it
    IOBase = None

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

PIECE = const(256)


class _Sink(IOBase or object):  # type: ignore[misc]  # IOBase is None only on ports without it
    """Where json.dump writes: gathered into PIECE bytes, then handed to `flush_piece`."""

    def __init__(self, buffer, flush_piece):
        self.buffer = buffer
        self.used = 0
        self.flush_piece = flush_piece

    def write(self, data):
        if isinstance(data, str):  # CPython's json writes text
            data = data.encode()
        taken = 0
        while taken < len(data):
            n = min(len(data) - taken, PIECE - self.used)
            self.buffer[self.used:self.used + n] = data[taken:taken + n]
            self.used += n
            taken += n
            if self.used == PIECE:
                self.flush()
        return len(data)

    def flush(self):
        if self.used:
            self.flush_piece(memoryview(self.buffer)[:self.used])
            self.used = 0


class ReplyWriter:
    """Holds the one PIECE buffer; `send` writes a whole frame through `serial_write`."""

    def __init__(self, serial_write):
        self.serial_write = serial_write
        self.buffer = bytearray(PIECE)
        self.midway = False  # a frame's header is out but not its end

    def send(self, message, key=None):
        self.midway = False
        if IOBase is None:
            head, body = protocol.encode_parts(message, key)
            self.serial_write(head)
            self.serial_write(body)
            self.serial_write(b"\n")
            return
        state = [0, protocol.hmac_start(key) if key is not None else None]

        def digest(piece):
            state[0] = crc32(piece, state[0])
            if state[1] is not None:
                state[1][0].update(piece)

        self._dump(message, digest)  # a MemoryError here has sent nothing: the caller can still answer
        mac = hexlify(protocol.hmac_finish(*state[1])) if key is not None else protocol.NO_MAC
        self.serial_write(protocol.MAGIC + b"%08x" % (state[0] & 0xFFFFFFFF) + b" " + mac + b" ")
        self.midway = True
        self._dump(message, lambda piece: self.serial_write(bytes(piece)))
        self.serial_write(b"\n")
        self.midway = False

    def _dump(self, message, flush_piece):
        sink = _Sink(self.buffer, flush_piece)
        json.dump(message, sink)
        sink.flush()
