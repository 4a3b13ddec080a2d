"""Sending one reply frame in bounded memory (the unit's side of protocol.py).

Owns writing a frame without ever holding its JSON body: json.dump runs
twice over the reply, first into a sink that computes the body's CRC and
MAC, then into one that sends it in small pieces.  The same dict gives the
same bytes both times, so the header sent first is right.  A whole 2 KB log
page or a 8 KB settings text then needs no free stretch of the heap larger
than PIECE, which matters on a fixed heap in pieces (docs/architecture.md).
The pieces are jsonpieces.py's; a port without io.IOBase builds the frame
whole (protocol.encode_parts).
"""

from binascii import crc32, hexlify

from pumpwatch import jsonpieces, protocol

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

PIECE = const(256)


class ReplyWriter:
    """Holds the one PIECE buffer; `send` writes a whole frame through `serial_write`."""

    def __init__(self, serial_write):
        self.serial_write = serial_write
        self.buffer = bytearray(PIECE)
        self.midway = False  # a frame's header is out but not its end

    def send(self, message, key=None):
        self.midway = False
        if not jsonpieces.AVAILABLE:
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
        jsonpieces.dump(message, flush_piece, self.buffer)
