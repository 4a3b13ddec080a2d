"""Talking to a PumpWatch unit over its USB serial port.

Owns the host end of the sync protocol (frames from the core's
`pumpwatch.protocol`, so there is one implementation of the wire format):
opening the port without resetting an ESP32 (DTR/RTS untouched), request /
reply matching by id, authenticated writes (fresh nonce + HMAC with the
paired key), and checking that the unit's replies to a paired computer carry
its MAC over the request's nonce or challenge, so a device that merely claims
a paired unit's id cannot report a sync it never did.  Text from the unit is
made printable (`printable`) before it reaches a terminal.  Errors are
`UnitError` with one sentence a nurse can act on.
"""

from __future__ import annotations

import json
import re
import secrets
import time

import serial

from pumpwatch import protocol, records

from pumpsync import port_lock

DEFAULT_TIMEOUT_S = 5.0
DISCONNECTED = "disconnected"  # the port went away under us (a pulled cable, a unit that reset)
MAINTENANCE = "maintenance"  # a MicroPython prompt answers instead of the unit
MAINTENANCE_PROMPT = b">>>"
RESTART_S = 20.0  # a unit restarting to check new settings answers again within this
SETTINGS_PIECE_JSON = 1536  # a piece of settings text, escaped as JSON, stays well under protocol.MAX_FRAME
_UNIT_ID = re.compile(r"[0-9a-f]{12}")
_NOT_PRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value) -> str:
    """Text from a unit, safe for a terminal: control and bidi characters
    (escape sequences) are shown as \\xNN / \\uNNNN, never sent raw."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_PRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class UnitError(Exception):
    """A request failed; `code` is the protocol error code (or a local one)."""

    def __init__(self, message: str, code: str = "failed", fields: list | None = None):
        super().__init__(printable(message))
        self.code = printable(code)
        self.fields = [printable(f) for f in fields] if isinstance(fields, list) else []
        self.settings_unchanged = False  # put_settings: True when the unit surely kept its old settings


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


def _pieces(text: str):
    """(offset, piece) of `text` cut so that each piece, escaped inside a frame, is at most
    SETTINGS_PIECE_JSON characters (quotes and non-ASCII letters escape to more)."""
    start, size = 0, 0
    for i, char in enumerate(text):
        cost = len(json.dumps(char)) - 2
        if size + cost > SETTINGS_PIECE_JSON:
            yield start, text[start:i]
            start, size = i, 0
        size += cost
    yield start, text[start:]


class UnitClient:
    def __init__(self, port: str, key: bytes | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 key_name: str | None = None, command: str | None = None):
        self.port = port
        self.key = key
        self.key_name = key_name
        self.timeout = timeout
        try:
            self._lock = port_lock.acquire(port, command)
        except port_lock.PortBusy as exc:
            raise UnitError(str(exc), "port_busy") from None
        try:
            self.link = open_serial(port, timeout)
        except BaseException:
            port_lock.release(self._lock)
            raise
        self.next_id = int(time.time() * 1000) % 1_000_000
        self.bytes_sent = 0
        self.bytes_received = 0
        self._pending = b""
        self._seen_other = b""  # the end of what came that was not a frame (a REPL prompt?)
        self._sent, self._echoed = b"", False  # the last request, and whether it came back as an echo
        # A stray byte left on the line would glue onto our first frame: end it.
        try:
            self.link.write(b"\n")
            self.link.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise UnitError(f"cannot talk to {port} ({exc}): is the cable in?", DISCONNECTED) from None

    def close(self):
        try:
            self.link.close()
        except (serial.SerialException, OSError):
            pass  # a pulled cable: nothing left to close
        port_lock.release(self._lock)

    def note_unit(self, unit_id: str):
        port_lock.note_unit(self._lock, unit_id)

    def __enter__(self) -> "UnitClient":
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ requests
    def call(self, method: str, args: dict | None = None, timeout: float | None = None,
             verified: bool = False) -> dict:
        """A read; `verified` (with a key): the unit must MAC its reply over our challenge."""
        body: dict = {"m": method, "a": args or {}}
        if verified and self.key is not None:
            body["challenge"] = secrets.token_hex(16)
            body["kid"] = self.key_name
            return self._exchange(body, None, timeout, body["challenge"])
        return self._exchange(body, None, timeout, None)

    def write(self, method: str, args: dict | None = None, timeout: float | None = None) -> dict:
        """An authenticated request: a fresh nonce, then the MAC'd frame; the reply must carry
        the unit's MAC over that nonce."""
        if self.key is None:
            raise UnitError("this computer has no key for the unit: pair it first (pumpsync pair)",
                            protocol.UNAUTHORISED)
        nonce = self.call("nonce")["nonce"]
        body = {"m": method, "a": args or {}, "nonce": nonce}
        if self.key_name is not None:
            body["kid"] = self.key_name
        return self._exchange(body, self.key, timeout, nonce)

    def put_settings(self, text: str, timeout: float | None = None) -> dict:
        """Send new settings.  The unit keeps them, restarts and checks them on a fresh
        heap (as at power-on), so this waits for it to answer again (reopening the port:
        a board's USB serial goes away during the restart) and asks for the outcome:
        `crc`, `refill_due_at`.  A refusal raises UnitError(invalid_settings) with the
        unit's reasons as fields."""
        crc = records.crc_of(text)
        staged: dict = {}
        for offset, piece in _pieces(text):
            try:
                staged = self.write("settings_put", {"text": piece, "offset": offset, "total": len(text),
                                                     "crc": crc}, timeout)
            except UnitError as exc:
                # before the last piece the unit keeps its settings; the last one may have been taken
                exc.settings_unchanged = offset + len(piece) < len(text) or exc.code not in (DISCONNECTED,
                                                                                               "timeout")
                raise
        deadline = time.monotonic() + (timeout or self.timeout) + RESTART_S
        while True:
            try:
                outcome = self.call("settings_result", verified=True, timeout=0.5)
                break
            except UnitError as exc:
                if exc.code not in ("timeout", "no_unit", DISCONNECTED):
                    raise
                if exc.code == DISCONNECTED:
                    self._reopen()
            except (serial.SerialException, OSError):
                self._reopen()
            if time.monotonic() > deadline:
                raise UnitError("the unit did not come back after restarting to check the settings", "timeout")
            time.sleep(0.2)
        if outcome.get("crc") != staged.get("crc"):
            raise UnitError("the unit restarted without checking the settings (a power cut?)", "timeout")
        errors = outcome.get("errors")
        if errors:
            raise UnitError("settings refused", protocol.INVALID_SETTINGS,
                            [printable(str(e)) for e in errors] if isinstance(errors, list) else None)
        return outcome

    def _reopen(self):
        """The port went away (a board restarting): open it again once it is back."""
        try:
            self.link.close()
        except (serial.SerialException, OSError):
            pass
        try:
            self.link = open_serial(self.port, self.timeout)
            self._pending = b""
        except UnitError:
            time.sleep(0.3)

    def _exchange(self, body: dict, key: bytes | None, timeout: float | None, expect: str | None) -> dict:
        self.next_id += 1
        request = {"v": protocol.VERSION, "id": self.next_id, **body}
        frame = b"\n" + protocol.encode(request, key)  # a stray byte on the line cannot glue onto it
        self._sent, self._echoed = bytes(frame).strip(), False
        try:
            self.link.write(frame)
            self.bytes_sent += len(frame)
            reply, mac, reply_body = self._read_reply(self.next_id, timeout or self.timeout)
        except (serial.SerialException, OSError) as exc:
            raise UnitError(f"the unit's port {self.port} went away ({exc}): the cable was pulled, or the unit "
                            "restarted", DISCONNECTED) from None
        err: dict = reply["err"] if isinstance(reply.get("err"), dict) else {}
        refused_before_auth = not reply.get("ok") and err.get("code") == protocol.UNAUTHORISED
        if expect is not None and not refused_before_auth:
            if not protocol.mac_valid(self.key, reply_body, mac) or reply.get("n") != expect:
                if not reply.get("ok"):  # e.g. "out of memory": too little left even to sign it
                    raise UnitError(f"the unit answered with an error it did not sign (it does so when out of "
                                    f"memory; a device posing as the unit could too): "
                                    f"{printable(str(err.get('msg', '?')))}; nothing is recorded as done",
                                    "unauthenticated_reply")
                raise UnitError(f"the reply on {self.port} is not signed with this computer's key: it may not "
                                "be the unit you paired with (nothing is recorded as done); check the unit and "
                                "pair again if it was factory-reset", "unauthenticated_reply")
        if not reply.get("ok"):
            raise UnitError(err.get("msg", "the unit refused the request"), err.get("code", "failed"),
                            err.get("fields"))
        result = reply.get("r")
        if not isinstance(result, dict):
            raise UnitError("the unit's reply has no result", protocol.BAD_FRAME)
        if "unit_id" in result and not _UNIT_ID.fullmatch(str(result["unit_id"])):
            raise UnitError("the device's id is not a PumpWatch unit id", protocol.BAD_FRAME)
        return result

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
                replies.append(decode_reply(line)[0])
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

    def _read_reply(self, request_id: int, timeout: float):
        """(message, mac, body) of the reply to `request_id`."""
        deadline = time.monotonic() + timeout
        unmatched = None  # an error the unit sent with no id: for our frame, or a late one for earlier noise
        others = 0  # replies that were not to this request: id-less errors and other ids
        while True:
            line = self._read_line(deadline)
            if line is None and others > 1:
                raise UnitError(f"no answer from the unit on {self.port} within {timeout:g} s: it is busy answering "
                                f"other traffic on the port ({others} replies not to this pumpsync's request); close "
                                "any other program using the port, wait a minute and try again", "timeout")
            if line is None and unmatched is not None:
                return unmatched  # no reply of ours came: the unit could not read our frame
            if line is None:
                echoed = self._echoed or (self._sent and self._sent in self._pending)
                if echoed or MAINTENANCE_PROMPT in self._pending or MAINTENANCE_PROMPT in self._seen_other:
                    raise UnitError(f"the unit on {self.port} is in maintenance (its MicroPython prompt answers): it "
                                    "is NOT MONITORING; it returns to monitoring by itself when the maintenance "
                                    "minutes are over, or press its reset button", MAINTENANCE)
                raise UnitError(f"no answer from the unit on {self.port} within {timeout:g} s "
                                "(is it a PumpWatch unit, and running?)", "timeout")
            if not line.startswith(protocol.MAGIC):
                self._seen_other = (self._seen_other + line)[-64:]
                continue
            try:
                message, mac, body = decode_reply(line)
            except protocol.FrameError as exc:
                raise UnitError(f"the unit's reply was damaged ({exc}): try again", protocol.BAD_FRAME) from None
            if "m" in message:  # our own request echoed back: a REPL (maintenance), not the unit
                self._echoed = True
                continue
            if message.get("id") == request_id:
                return message, mac, bytes(body)
            others += 1
            if message.get("id") is None and unmatched is None:
                unmatched = (message, mac, bytes(body))


def decode_reply(line: bytes):
    """A reply frame: the unit's replies (log pages, status) are bigger than
    the request shapes it accepts, so only the frame checks apply here."""
    return protocol.decode(line, limits=None)
