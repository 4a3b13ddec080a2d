"""The unit's serial console: text lines from the USB port (interim).

Owns line assembly and the text commands a technician can type until the
authenticated sync protocol replaces them (docs/protocol.md):
  version             -> {"firmware": ..., "board": ...}
  status              -> {"time", "active", "sounding", "refill_due_at", "battery_mv", ...}
  time <ISO 8601>     -> sets the unit's clock: {"time": ...}
Each answer is one JSON line.  Loaded on the first serial traffic, so a unit
nobody talks to does not keep it in RAM.
"""

import json

from pumpwatch import VERSION, timecalc
from pumpwatch.descriptions import PRIORITY_NAMES

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_MAX_LINE = const(160)


class Console:
    def __init__(self, unit):
        self.unit = unit
        self.line = bytearray()

    def feed(self, data):
        for byte in data:
            if byte in (10, 13):
                if self.line:
                    self.command(bytes(self.line).decode().strip())
                    self.line = bytearray()
            elif len(self.line) < _MAX_LINE:
                self.line.append(byte)

    def command(self, text):
        unit = self.unit
        if text == "version":
            self.reply({"firmware": VERSION, "board": unit.hal.board})
        elif text == "status":
            self.reply(self.status())
        elif text.startswith("time "):
            epoch = timecalc.parse_iso(text[5:].strip())
            if epoch is None:
                self.reply({"error": "time: not an ISO 8601 time with Z or an offset"})
                return
            unit.set_time(epoch)
            self.reply({"time": timecalc.format_iso(epoch)})

    def reply(self, value):
        self.unit.hal.serial_write(json.dumps(value) + "\r\n")

    def status(self):
        unit = self.unit
        now = unit.now_s()
        result = {"firmware": VERSION, "board": unit.hal.board,
                  "time": None if now is None else timecalc.format_iso(now),
                  "active": [cid for cid, _ in unit.active(now)],
                  "sounding": [[cid, PRIORITY_NAMES[p]] for cid, p in unit.sounding],
                  "battery_mv": unit.hal.battery_mv()}
        if unit.plan is not None:
            result["refill_due_at"] = timecalc.format_iso(unit.plan.refill_due_at)
        return result
