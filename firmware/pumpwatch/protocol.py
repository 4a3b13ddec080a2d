"""The USB sync protocol's wire format, shared by the unit and pumpsync.

Owns framing, the envelope, error codes and the authentication code
(docs/protocol.md).  One frame is one line:

    PW1 <crc32 of json, 8 hex> <hmac-sha256 of json, 64 hex, or -> <json>\\n

JSON never holds a raw newline, so stray bytes (a terminal, a Ctrl-C) can
never be taken for a frame, and a damaged frame fails its CRC.  Requests:
{"v": 1, "id": n, "m": method, "a": {...}, "nonce": hex (writes)}.
Replies: {"v": 1, "id": n, "ok": true, "r": {...}} or
{"v": 1, "id": n|null, "ok": false, "err": {"code": ..., "msg": ..., "fields": [...]}}.
A write's MAC covers the exact JSON bytes, which include a single-use nonce
the unit issued: a replayed, stale or forged write is refused.

Anyone on the USB port can send frames, so decoding allocates a bounded
amount whatever arrives: the line is at most MAX_FRAME bytes, the body is
parsed in place (no copies), and its shape (nesting depth, containers,
items, number length) is checked by a scan before json.loads sees it.
"""

import json

try:
    import hashlib
    from binascii import crc32, hexlify
except ImportError:  # pragma: no cover
    raise

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

VERSION = const(1)
MAGIC = b"PW1 "
MAX_FRAME = const(4096)  # settings travel in pieces of 1024 characters (writes.settings_put)
NO_MAC = b"-"
_MAC_HEX = const(64)

# What a request may look like before it is parsed (requests are small objects;
# settings text travels as one JSON string, so its brackets do not count).
MAX_DEPTH = const(4)
MAX_CONTAINERS = const(16)
MAX_ITEMS = const(64)
MAX_NUMBER_CHARS = const(24)

# error codes
BAD_FRAME = "bad_frame"
BAD_REQUEST = "bad_request"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_METHOD = "unknown_method"
UNAUTHORISED = "unauthorised"
INVALID_SETTINGS = "invalid_settings"
BUSY = "busy"
FAILED = "failed"
ERROR_CODES = (BAD_FRAME, BAD_REQUEST, UNSUPPORTED_VERSION, UNKNOWN_METHOD, UNAUTHORISED, INVALID_SETTINGS,
               BUSY, FAILED)


class FrameError(Exception):
    """A line that is not a valid frame (reply: bad_frame, or nothing)."""


def _crc(data):
    return b"%08x" % (crc32(data) & 0xFFFFFFFF)


def hmac_sha256(key, message):
    """HMAC-SHA256 (RFC 2104) over hashlib.sha256, which every port has."""
    inner, outer_key = hmac_start(key)
    inner.update(message)
    return hmac_finish(inner, outer_key)


def hmac_start(key):
    """(inner hash to update with the message, outer padded key): an HMAC in pieces."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key + bytes(block - len(key))
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), bytes(b ^ 0x5C for b in key)


def hmac_finish(inner, outer_key):
    outer = hashlib.sha256(outer_key)
    outer.update(inner.digest())
    return outer.digest()


def same(a, b):
    """Compare secrets in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


def encode(message, key=None):
    """One frame (bytes, newline included) for a dict; MAC'd when a key is given."""
    head, body = encode_parts(message, key)
    return head + body + b"\n"


def encode_parts(message, key=None):
    """(header, body) of a frame, to be sent one after the other and then a newline:
    the unit never holds a second copy of a large reply."""
    body = json.dumps(message).encode()
    mac = hexlify(hmac_sha256(key, body)) if key is not None else NO_MAC
    return MAGIC + _crc(body) + b" " + mac + b" ", body


REQUEST_LIMITS = (MAX_DEPTH, MAX_CONTAINERS, MAX_ITEMS)


def decode(line, limits=REQUEST_LIMITS):
    """(message dict, mac bytes or None, body) of one frame line (no newline).
    `body` is a memoryview into `line`: the exact bytes the MAC covers.
    `limits` bound the body's shape (None: a reply, read by the host)."""
    if len(line) > MAX_FRAME:
        raise FrameError("frame too long")
    if not line.startswith(MAGIC):
        raise FrameError("not a frame")
    start = len(MAGIC)
    crc_end = line.find(b" ", start)
    mac_end = line.find(b" ", crc_end + 1) if crc_end > 0 else -1
    if crc_end != start + 8 or mac_end < 0:
        raise FrameError("frame has no CRC, MAC and body")
    mac = line[crc_end + 1:mac_end]
    if mac != NO_MAC and len(mac) != _MAC_HEX:
        raise FrameError("MAC is not 64 hex digits or -")
    body = memoryview(line)[mac_end + 1:]
    if _crc(body) != line[start:crc_end]:
        raise FrameError("CRC mismatch")
    if limits is not None:
        check_shape(line, mac_end + 1, limits[0], limits[1], limits[2])
    try:
        message = _loads(body)
    except ValueError:
        raise FrameError("body is not JSON")
    if not isinstance(message, dict):
        raise FrameError("body is not an object")
    return message, (None if mac == NO_MAC else mac), body


def _loads(view):
    try:
        return json.loads(view)  # MicroPython parses a memoryview in place
    except TypeError:  # CPython's json wants bytes
        return json.loads(bytes(view))


def check_shape(data, start, max_depth, max_containers, max_items):
    """Raise FrameError unless the JSON text data[start:] stays within the
    limits: nesting depth, number of arrays/objects, number of items (commas)
    and digits in a number, all counted outside strings.  Strings are skipped
    with find(), so the cost is one pass over the structure, not the text."""
    end = len(data)
    i = start
    depth = containers = items = run = 0
    while i < end:
        quote = data.find(b'"', i)
        stop = end if quote < 0 else quote
        for k in range(i, stop):
            c = data[k]
            if c == 0x5B or c == 0x7B:  # [ {
                depth += 1
                containers += 1
                if depth > max_depth or containers > max_containers:
                    raise FrameError("body nests too deep or holds too many lists")
            elif c == 0x5D or c == 0x7D:  # ] }
                depth -= 1
            elif c == 0x2C:  # ,
                items += 1
                if items > max_items:
                    raise FrameError("body holds too many items")
            if 0x30 <= c <= 0x39:
                run += 1
                if run > MAX_NUMBER_CHARS:
                    raise FrameError("body holds a number too long")
            else:
                run = 0
        if quote < 0:
            return
        i = _string_end(data, quote + 1, end) + 1
        run = 0


def _string_end(data, i, end):
    """Index of the quote closing a JSON string that starts at data[i]."""
    while True:
        quote = data.find(b'"', i)
        if quote < 0:
            raise FrameError("body has an unterminated string")
        k = quote - 1
        while data[k] == 0x5C:  # backslashes before it: an even number means it closes
            k -= 1
        if (quote - 1 - k) % 2 == 0:
            return quote
        i = quote + 1


def mac_valid(key, body, mac):
    if key is None or mac is None or len(mac) != _MAC_HEX:
        return False
    return same(hexlify(hmac_sha256(key, body)), mac)


def reply(request_id, result):
    return {"v": VERSION, "id": request_id, "ok": True, "r": result}


def error(request_id, code, msg, fields=None):
    err = {"code": code, "msg": msg}
    if fields:
        err["fields"] = fields
    return {"v": VERSION, "id": request_id, "ok": False, "err": err}


class LineSplitter:
    """Bytes in, complete lines out, one at a time; an over-long line is
    dropped, not kept.  `next_line()` is a line (bytearray), None for a line
    that was too long, or False when no complete line is queued."""

    def __init__(self, limit=MAX_FRAME):
        self.limit = limit
        self.buffer = bytearray()  # the start of a line not yet ended
        self.overflow = False
        self.data = b""  # bytes pushed and not yet split
        self.pos = 0

    def push(self, data):
        self.data = self.data[self.pos:] + data if self.pos < len(self.data) else data
        self.pos = 0

    def pending(self):
        return self.pos < len(self.data) and self.data.find(b"\n", self.pos) >= 0

    def next_line(self):
        data = self.data
        end = data.find(b"\n", self.pos)
        if end < 0:
            self._keep(self.pos, len(data))
            self.data, self.pos = b"", 0
            return False
        start, self.pos = self.pos, end + 1
        if self.overflow or len(self.buffer) + end - start > self.limit:
            line = None  # an over-long line: say so once, keep nothing
        else:
            self.buffer.extend(memoryview(data)[start:end])
            line = self.buffer  # handed over, not copied
            if line and line[-1] == 0x0D:
                line = line[:-1]
        self.buffer = bytearray()
        self.overflow = False
        return line

    def _keep(self, start, end):
        if self.overflow:
            return
        if len(self.buffer) + end - start > self.limit:
            self.overflow = True
            self.buffer = bytearray()
        else:
            self.buffer.extend(memoryview(self.data)[start:end])
