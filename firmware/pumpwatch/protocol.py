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
MAX_FRAME = const(16384)
NO_MAC = b"-"

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
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key + bytes(block - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
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
    body = json.dumps(message).encode()
    mac = hexlify(hmac_sha256(key, body)) if key is not None else NO_MAC
    return MAGIC + _crc(body) + b" " + mac + b" " + body + b"\n"


def decode(line):
    """(message dict, mac bytes or None, body bytes) of one frame line (no newline)."""
    if len(line) > MAX_FRAME:
        raise FrameError("frame too long")
    if not line.startswith(MAGIC):
        raise FrameError("not a frame")
    parts = line[len(MAGIC):].split(b" ", 2)
    if len(parts) != 3:
        raise FrameError("frame has no CRC, MAC and body")
    crc, mac, body = parts
    if _crc(body) != crc:
        raise FrameError("CRC mismatch")
    try:
        message = json.loads(body)
    except ValueError:
        raise FrameError("body is not JSON")
    if not isinstance(message, dict):
        raise FrameError("body is not an object")
    return message, (None if mac == NO_MAC else mac), body


def mac_valid(key, body, mac):
    if key is None or mac is None or len(mac) != 64:
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
    """Bytes in, complete lines out; an over-long line is dropped, not kept."""

    def __init__(self, limit=MAX_FRAME):
        self.limit = limit
        self.buffer = bytearray()
        self.overflow = False

    def feed(self, data):
        lines = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            chunk = data[start:end]
            if self.overflow or len(self.buffer) + len(chunk) > self.limit:
                lines.append(None)  # an over-long line: say so once, keep nothing
            else:
                self.buffer.extend(chunk)
                lines.append(bytes(self.buffer).rstrip(b"\r"))
            self.buffer = bytearray()
            self.overflow = False
            start = end + 1
        rest = data[start:]
        if len(self.buffer) + len(rest) > self.limit:
            self.overflow = True
            self.buffer = bytearray()
        elif not self.overflow:
            self.buffer.extend(rest)
        return lines
