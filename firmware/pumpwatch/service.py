"""The unit's side of the sync protocol: requests in, replies out.

Owns the methods (docs/protocol.md), who may call them, the single-use
nonces, pairing, and the per-unit key.  Reads are open; every write needs a
MAC with the paired key over a fresh nonce.  It is one more event source of
the unit's loop: a step handles the frames that arrived and returns, so
alarms keep their timing while a nurse syncs.  Loaded on the first serial
traffic.
"""

from pumpwatch import VERSION, protocol, records, sounds
from pumpwatch.conditions import TIME_UNKNOWN

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

NONCE_LIFETIME_MS = const(60000)
PAIRING_WINDOW_MS = const(30000)
MAINTENANCE_MS = const(5 * 60 * 1000)
AUTH_FAILURE_LOG_EVERY_MS = const(60000)
LOG_PAGE_LIMIT = const(400)
LOG_PAGE_BYTES = const(12000)  # a page must fit one frame (protocol.MAX_FRAME) with JSON escaping
MAX_FRAMES_PER_STEP = const(64)

OPEN_METHODS = ("hello", "status", "nonce", "pair", "pair_status", "settings_get", "log")
WRITE_METHODS = ("settings_put", "time_set", "ack", "log_clear", "maintenance", "factory_reset",
                 "alarm_test", "refill")


class Service:
    def __init__(self, unit):
        self.unit = unit
        self.hal = unit.hal
        self.lines = protocol.LineSplitter()
        self.nonce = None  # (hex bytes, issued at ticks)
        self.pairing = None  # (key bytes, deadline ticks)
        self.paired_now = False
        self.last_auth_log = None
        self.key = None
        self.unit_id = None
        self._load_identity()

    # ------------------------------------------------------------------ identity
    def _load_identity(self):
        from pumpwatch import readback
        root = self.unit.data_dir
        try:
            ident = readback.read_record(root + "/unit.rec")
        except readback.CorruptRecord:
            ident = None
        if ident is None:
            ident = {"unit_id": _hex(self.hal.random_bytes(6))}
            records.write_record(root + "/unit.rec", ident)
        self.unit_id = ident["unit_id"]
        try:
            stored = readback.read_record(root + "/key.rec")
        except readback.CorruptRecord:
            stored = None
        if stored is not None:
            self.key = _unhex(stored["key"])

    # ------------------------------------------------------------------ frames
    def feed(self, data):
        handled = 0
        for line in self.lines.feed(data):
            if line is None:
                self._send(protocol.error(None, protocol.BAD_FRAME, "frame too long"))
                continue
            if not line.startswith(protocol.MAGIC):
                continue  # terminal noise, a stray Ctrl-C: not for us
            handled += 1
            if handled > MAX_FRAMES_PER_STEP:
                self._send(protocol.error(None, protocol.BUSY, "too many frames at once"))
                continue
            self._send(self._handle(line))

    def _send(self, message):
        self.hal.serial_write(protocol.encode(message))

    def _handle(self, line):
        try:
            message, mac, body = protocol.decode(line)
        except protocol.FrameError as exc:
            return protocol.error(None, protocol.BAD_FRAME, str(exc))
        request_id = message.get("id")
        if not isinstance(request_id, int) or isinstance(request_id, bool):
            return protocol.error(None, protocol.BAD_REQUEST, "id must be a whole number")
        if message.get("v") != protocol.VERSION:
            return protocol.error(request_id, protocol.UNSUPPORTED_VERSION,
                                  "this unit speaks protocol %d" % protocol.VERSION)
        method = message.get("m")
        args = message.get("a", {})
        if not isinstance(args, dict):
            return protocol.error(request_id, protocol.BAD_REQUEST, "a must be an object")
        if method in OPEN_METHODS:
            handler = getattr(self, "m_" + method)
        elif method in WRITE_METHODS:
            refusal = self._authorise(message, mac, body)
            if refusal is not None:
                return protocol.error(request_id, protocol.UNAUTHORISED, refusal)
            handler = getattr(self, "w_" + method)
        else:
            return protocol.error(request_id, protocol.UNKNOWN_METHOD, "no method %s" % _text(method))
        try:
            result = handler(args)
        except ValueError as exc:
            return protocol.error(request_id, protocol.BAD_REQUEST, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bad request must never stop the monitoring loop
            return protocol.error(request_id, protocol.FAILED, "%s: %s" % (type(exc).__name__, exc))
        if isinstance(result, dict) and "_error" in result:
            code, msg, fields = result["_error"]
            return protocol.error(request_id, code, msg, fields)
        return protocol.reply(request_id, result)

    def _authorise(self, message, mac, body):
        """None when the write may go ahead, else why not (and the nonce is spent)."""
        refusal = None
        now = self.hal.ticks_ms()
        nonce = self.nonce
        self.nonce = None  # single use, whatever happens
        if self.key is None:
            refusal = "the unit is not paired"
        elif nonce is None or message.get("nonce") != nonce[0]:
            refusal = "stale or replayed nonce: ask for a new one"
        elif self.hal.ticks_diff(now, nonce[1]) > NONCE_LIFETIME_MS:
            refusal = "nonce expired: ask for a new one"
        elif not protocol.mac_valid(self.key, body, mac):
            refusal = "wrong key"
        if refusal is not None:
            last = self.last_auth_log
            if last is None or self.hal.ticks_diff(now, last) > AUTH_FAILURE_LOG_EVERY_MS:
                self.last_auth_log = now
                self.unit.log_event({"e": "auth_rejected", "why": refusal, "m": _text(message.get("m"))})
        return refusal

    # ------------------------------------------------------------------ open methods
    def m_hello(self, args):
        now = self.unit.now_s()
        return {"firmware": VERSION, "protocol": protocol.VERSION, "board": self.hal.board,
                "unit_id": self.unit_id, "paired": self.key is not None, "time": now,
                "pairing": self.pairing is not None}

    def m_status(self, args):
        from pumpwatch import status
        return status.of(self.unit, self.unit_id)

    def m_nonce(self, args):
        value = _hex(self.hal.random_bytes(16))
        self.nonce = (value, self.hal.ticks_ms())
        return {"nonce": value, "lifetime_s": NONCE_LIFETIME_MS // 1000}

    def m_pair(self, args):
        key = args.get("key")
        if not isinstance(key, str) or len(key) != 64:
            raise ValueError("key: 64 hex digits (32 bytes)")
        if self.pairing is not None and self.hal.ticks_diff(self.pairing[1], self.hal.ticks_ms()) > 0:
            return {"_error": (protocol.BUSY, "pairing already in progress: long-press the button", None)}
        self.pairing = (_unhex(key), self.hal.ticks_ms() + PAIRING_WINDOW_MS)
        self.paired_now = False
        self.unit.readout = (sounds.BOOT_CHIRP, self.hal.ticks_ms())  # "press and hold now"
        return {"state": "waiting", "press_within_s": PAIRING_WINDOW_MS // 1000}

    def m_pair_status(self, args):
        if self.paired_now:
            return {"state": "paired", "unit_id": self.unit_id}
        if self.pairing is None:
            return {"state": "none"}
        if self.hal.ticks_diff(self.pairing[1], self.hal.ticks_ms()) <= 0:
            self.pairing = None
            return {"state": "expired"}
        return {"state": "waiting"}

    def pairing_pending(self):
        return self.pairing is not None and self.hal.ticks_diff(self.pairing[1], self.hal.ticks_ms()) > 0

    def confirm_pairing(self):
        """The long press that proves someone is holding the unit."""
        if self.pairing is None:
            return
        key = self.pairing[0]
        self.pairing = None
        records.write_record(self.unit.data_dir + "/key.rec", {"key": _hex(key)})
        self.key = key
        self.paired_now = True
        self.unit.log_event({"e": "paired"})

    def m_settings_get(self, args):
        stored = self._stored_settings()
        if stored is None:
            return {"text": None, "crc": None}
        return {"text": stored["text"], "crc": stored["crc"]}

    def m_log(self, args):
        start = args.get("from", 0)
        limit = args.get("limit", LOG_PAGE_LIMIT)
        if not isinstance(start, int) or not isinstance(limit, int) or start < 0 or limit < 1:
            raise ValueError("from and limit: whole numbers (from >= 0, limit >= 1)")
        from pumpwatch import readback
        lines = []
        for name in readback.files(self.unit.log):
            with open(name, "rb") as f:
                lines.extend(line.decode() for line in f.read().split(b"\n") if line)
        page = []
        size = 0
        for line in lines[start:start + min(limit, LOG_PAGE_LIMIT)]:
            size += len(line) + 8
            if page and size > LOG_PAGE_BYTES:
                break
            page.append(line)
        return {"lines": page, "from": start, "next": start + len(page), "total": len(lines)}

    # ------------------------------------------------------------------ writes
    def w_settings_put(self, args):
        text = args.get("text")
        if not isinstance(text, str):
            raise ValueError("text: the settings file's JSON text")
        errors = self._apply_settings(text)
        if errors:
            return {"_error": (protocol.INVALID_SETTINGS, "settings refused", errors)}
        return {"crc": self.unit.settings_crc, "refill_due_at": self.unit.plan.refill_due_at}

    def w_time_set(self, args):
        epoch = args.get("epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1600000000:
            raise ValueError("epoch: UTC seconds since 1970")
        before = self.unit.now_s()
        self._set_time(epoch)
        return {"time": epoch, "was": before}

    def w_ack(self, args):
        return {"acknowledged": self.unit.acknowledge()}

    def w_log_clear(self, args):
        for name in ("", ".1", ".2"):
            records.remove(self.unit.log.path + name)
        self.unit.log_event({"e": "log_cleared"})
        return {}

    def w_maintenance(self, args):
        minutes = args.get("minutes", MAINTENANCE_MS // 60000)
        if not isinstance(minutes, int) or not 1 <= minutes <= 30:
            raise ValueError("minutes: 1 to 30")
        self.unit.log_event({"e": "maintenance", "minutes": minutes})
        self.unit.maintenance_ms = minutes * 60000
        return {"minutes": minutes}

    def w_factory_reset(self, args):
        for name in ("/settings.rec", "/state.rec", "/key.rec", "/boot.rec", "/events.log", "/events.log.1",
                     "/events.log.2"):
            records.remove(self.unit.data_dir + name)
        records.remove(self.unit.inbox_path)
        self.unit.reset_requested = True
        return {}

    def w_alarm_test(self, args):
        priority = args.get("priority", "high")
        if priority not in ("low", "medium", "high"):
            raise ValueError('priority: "low", "medium" or "high"')
        self._play_test(priority)
        return {"priority": priority}

    def w_refill(self, args):
        fields = ("returned_ml", "expected_ml", "discrepancy_pct", "flagged")
        entry = {"e": "refill"}
        for name in fields:
            if name not in args:
                raise ValueError("%s: missing" % name)
            entry[name] = args[name]
        self.unit.log_event(entry)
        return {}


    # ------------------------------------------------------------------ unit changes (writes only)
    def _set_time(self, epoch):
        unit = self.unit
        had_time = unit.now_s() is not None
        self.hal.set_wall_time(epoch)
        unit.faults.pop(TIME_UNKNOWN, None)
        unit.log_event({"e": "time_set", "had_time": had_time})

    def _play_test(self, priority):
        """One burst of an alarm pattern, so the patient learns what it sounds like."""
        for level in sounds.BY_PRIORITY:
            pattern = sounds.BY_PRIORITY[level]
            if pattern.name == priority:
                self.unit.readout = (sounds.Pattern(pattern.name, pattern.segments, None, pattern.led),
                                     self.hal.ticks_ms())
        self.unit.log_event({"e": "alarm_test", "priority": priority})

    def _apply_settings(self, text):
        """New settings from a sync; the errors (nothing changes) or []."""
        from pumpwatch import startup
        try:
            return startup.apply(self.unit, text, self.unit.now_s())
        finally:
            startup.unload(startup.BOOT_ONLY_MODULES)

    def _stored_settings(self):
        from pumpwatch import readback
        try:
            return readback.read_record(self.unit.settings_path)
        except readback.CorruptRecord:
            return None


def _hex(data):
    return "".join("%02x" % b for b in data)


def _unhex(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def _text(value):
    return value if isinstance(value, str) else "(not text)"

