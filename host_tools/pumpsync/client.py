"""Talking to a PumpWatch unit over its USB serial port.

Owns the host end of the sync protocol (frames from the core's
`pumpwatch.protocol`, so there is one implementation of the wire format):
opening the port without resetting an ESP32 (DTR/RTS untouched), request /
reply matching by id, and authenticated writes (fresh nonce + HMAC with the
paired key).  Errors are `UnitError` with one sentence a nurse can act on.
"""

from __future__ import annotations

import time

import serial

from pumpwatch import protocol

DEFAULT_TIMEOUT_S = 5.0


class UnitError(Exception):
    """A request failed; `code` is the protocol error code (or a local one)."""

    def __init__(self, message: str, code: str = "failed", fields: list | None = None):
        super().__init__(message)
        self.code = code
        self.fields = fields or []


def open_serial(port: str, timeout: float = DEFAULT_TIMEOUT_S) -> serial.Serial:
    """Open `port` without toggling DTR/RTS, which resets ESP32 boards via their USB bridge."""
    link = serial.Serial()
    link.port = port
    link.baudrate = 115200
    link.timeout = timeout
    link.dtr = False
    link.rts = False
    try:
        link.open()
    except serial.SerialException as exc:
        text = str(exc)
        if "busy" in text.lower() or "Errno 16" in text:
            raise UnitError(f"{port} is busy: close the other program using it (mpremote, a terminal)",
                            "port_busy") from None
        raise UnitError(f"cannot open {port}: no unit there? ({exc})", "no_unit") from None
    return link


class UnitClient:
    def __init__(self, port: str, key: bytes | None = None, timeout: float = DEFAULT_TIMEOUT_S):
        self.port = port
        self.key = key
        self.timeout = timeout
        self.link = open_serial(port, timeout)
        self.next_id = int(time.time() * 1000) % 1_000_000
        self.bytes_sent = 0
        self.bytes_received = 0
        self._pending = b""
        self.link.reset_input_buffer()

    def close(self):
        self.link.close()

    def __enter__(self) -> "UnitClient":
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ requests
    def call(self, method: str, args: dict | None = None, timeout: float | None = None) -> dict:
        """An open (read) request; the reply's result."""
        return self._exchange({"m": method, "a": args or {}}, None, timeout)

    def write(self, method: str, args: dict | None = None, timeout: float | None = None) -> dict:
        """An authenticated request: a fresh nonce, then the MAC'd frame."""
        if self.key is None:
            raise UnitError("this computer has no key for the unit: pair it first (pumpsync pair)",
                            protocol.UNAUTHORISED)
        nonce = self.call("nonce")["nonce"]
        return self._exchange({"m": method, "a": args or {}, "nonce": nonce}, self.key, timeout)

    def _exchange(self, body: dict, key: bytes | None, timeout: float | None) -> dict:
        self.next_id += 1
        request = {"v": protocol.VERSION, "id": self.next_id, **body}
        frame = protocol.encode(request, key)
        self.link.write(frame)
        self.bytes_sent += len(frame)
        reply = self._read_reply(self.next_id, timeout or self.timeout)
        if not reply.get("ok"):
            err = reply.get("err", {})
            raise UnitError(err.get("msg", "the unit refused the request"), err.get("code", "failed"),
                            err.get("fields"))
        return reply["r"]

    def send_raw(self, frame: bytes):
        self.link.write(frame)
        self.bytes_sent += len(frame)

    def read_frames(self, timeout: float, idle: float | None = None) -> list[dict]:
        """Every reply frame arriving within `timeout` seconds, or until the port has
        been quiet for `idle` seconds (for tests and fuzzing)."""
        deadline = time.monotonic() + timeout
        replies = []
        while time.monotonic() < deadline:
            line = self._read_line(deadline if idle is None else min(deadline, time.monotonic() + idle))
            if line is None:
                break
            try:
                replies.append(protocol.decode(line)[0])
            except protocol.FrameError:
                replies.append({"_undecodable": line})
        return replies

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.link.timeout = min(left, 0.5)
            chunk = self.link.read(max(1, self.link.in_waiting))
            self.bytes_received += len(chunk)
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.rstrip(b"\r")

    def _read_reply(self, request_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise UnitError(f"no answer from the unit on {self.port} within {timeout:.0f} s "
                                "(is it a PumpWatch unit, and running?)", "timeout")
            if not line.startswith(protocol.MAGIC):
                continue
            try:
                message = protocol.decode(line)[0]
            except protocol.FrameError as exc:
                raise UnitError(f"the unit's reply was damaged ({exc}): try again", protocol.BAD_FRAME) from None
            if message.get("id") in (request_id, None):
                return message
