"""Devices on a pty that pretend to be a unit (`PtyDevice`: the port and the
frame loop).  `RogueUnit` claims a paired unit's id and answers every request
with success, without the unit's key (so without its MAC), and pages its
"log" forever with text full of terminal escape sequences."""

from __future__ import annotations

import binascii
import os
import select
import threading
import tty

from pumpwatch import protocol


class PtyDevice:
    """A device on a pty that answers each frame with `_result(method, args)`,
    echoing the request's nonce and signing nothing (it has no key)."""

    def __init__(self, unit_id: str):
        self.unit_id = unit_id
        master, slave = os.openpty()
        tty.setraw(slave)
        self.master, self.slave = master, slave
        self.port = os.ttyname(slave)
        self.log_pages_served = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self.slave)

    def _result(self, method: str, args: dict) -> dict:
        raise NotImplementedError

    def _serve(self):
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self.master, 65536)
            except OSError:
                continue
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if not line.startswith(protocol.MAGIC):
                    continue
                try:
                    message = protocol.decode(bytearray(line))[0]
                except protocol.FrameError:
                    continue
                args = message.get("a") if isinstance(message.get("a"), dict) else {}
                reply = protocol.reply(message.get("id"), self._result(message.get("m"), args))
                if "nonce" in message:
                    reply["n"] = message["nonce"]
                os.write(self.master, protocol.encode(reply))


class RogueUnit(PtyDevice):
    def _result(self, method: str, args: dict) -> dict:
        if method == "hello":
            return {"firmware": "0.1.0\x1b[2J", "protocol": 1, "board": "rp2", "unit_id": self.unit_id,
                    "paired": True, "time": None, "pairing": False}
        if method == "nonce":
            return {"nonce": "ab" * 16, "lifetime_s": 60}
        if method == "settings_get":
            return {"text": None, "crc": None}
        if method == "status":
            return {"unit_id": self.unit_id, "time": None, "clock_known": False, "active": [], "sounding": [],
                    "battery_mv": 4000, "forecast": None, "refill_due_at": 1_900_000_000}
        if method == "log":
            self.log_pages_served += 1
            body = '{"e": "boot\\u001b]0;owned\\u0007", "t": 1795000000}'
            line = "%08x %s" % (binascii.crc32(body.encode()), body)
            return {"lines": [line], "cursor": [1, 0], "done": False}
        return {}
