"""The unit's side of the sync protocol: frames in, replies out, who may write.

Owns the frame loop (a bounded number of frames per wake-up, the watchdog
fed for each, so alarms keep their timing and a flood cannot starve the
loop), the single-use nonces, authentication of writes against the trusted
keys (keys.py), MACs on replies to a paired computer (so a rogue device
cannot pose as the unit), the count of refused writes (summarised at most
hourly in the noise log), and that no request, however hostile, raises out
of a step: anything that fails becomes an error reply.  The methods
themselves are methods.py's.  Loaded on the first serial traffic.
"""

import gc

from pumpwatch import methods, protocol, unload
from pumpwatch.keys import Keys
from pumpwatch.replywriter import ReplyWriter

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

NONCE_LIFETIME_MS = const(60000)
REFUSALS_SUMMARY_EVERY_MS = const(3600 * 1000)
MAX_FRAMES_PER_STEP = const(16)
FRAME_SAFETY_MS = const(10)  # kept clear of a sounding note's next change beyond a frame's measured cost (a frame
# costs more when its bytes arrive in pieces or the heap collects inside it: 5 ms let one run 4 ms over)
MAX_FRAME_MARGIN_MS = const(250)
MAX_CHALLENGE = const(64)
# Loaded for one request and dropped after the frames of a step (RAM).
TRANSIENT_MODULES = ("pumpwatch.writes", "pumpwatch.readback", "pumpwatch.clock", "pumpwatch.factory",
                     "pumpwatch.status", "pumpwatch.readout")
# Sent when even an error reply cannot be built (memory): a constant, no allocation.
_NO_MEMORY = protocol.encode(protocol.error(None, protocol.FAILED, "out of memory"))


class Service:
    def __init__(self, unit):
        self.unit = unit
        self.hal = unit.hal
        self.lines = protocol.LineSplitter()
        self.writer = ReplyWriter(self.hal.serial_write)
        self.nonce = None  # (hex text, issued at ticks)
        self.keys = Keys(unit.data_dir)
        self.upload = None  # settings_put arriving in pieces (writes.py)
        self.pending_key = None  # type: tuple | None  # (name, key) waiting for the press of unit.request "pair"
        self.paired_name = None  # the name the last confirmed pairing stored
        self.refused = 0  # refusals not yet summarised
        self.refused_why = None
        self.summary_at = None  # ticks of the last summary; None: none yet this boot
        self.key = None  # the key the reply being built is MAC'd with, and the nonce/challenge it names
        self.echo = None
        self.unit_id = methods.load_unit_id(self)
        self.mem_free_min = None  # the least free heap at the end of a request since boot (status)
        self.frame_ms = 0  # how long a frame takes: the longest lately, decaying (frame_margin_ms)
        self.collect_ms = 0  # how long the collection after a feed's frames takes, the same way
        self.held = False  # the last feed stopped for the sound's next change, frames still queued
        self._collect()  # timed: the first feed then knows what its own collection will take

    # ------------------------------------------------------------------ frames
    def pending(self):
        return self.lines.pending()

    def frame_margin_ms(self):
        """How far off the sound's next change must be for another frame; nothing where frames cost
        no ticks (0: an emulator's virtual time, frozen between a test's steps, where holding would wait forever)."""
        if not self.frame_ms and not self.collect_ms:
            return 0
        # the feed's closing collection runs after the last frame it lets in: both must fit
        return min(self.frame_ms + self.collect_ms + FRAME_SAFETY_MS, MAX_FRAME_MARGIN_MS)

    def feed(self, data):
        """Handle up to MAX_FRAMES_PER_STEP lines, none that could end after the sounding
        note's next change (self.held); True when more are queued."""
        self.held = False
        handled = 0
        try:
            if data:
                self.lines.push(data)
            for _ in range(MAX_FRAMES_PER_STEP):
                left = self.unit.ms_to_sound_change()
                if left is not None and left < self.frame_margin_ms() and self.lines.pending():
                    self.held = True  # a flood must not stretch a note of EMPTY: after the change
                    return True
                started = self.hal.ticks_ms()
                line = self.lines.next_line()
                if line is False:
                    return False
                handled += 1
                self.hal.watchdog_feed()
                if line is None:
                    self._send(protocol.error(None, protocol.BAD_FRAME, "frame too long"), None)
                elif line.startswith(protocol.MAGIC):  # anything else is terminal noise, a stray Ctrl-C
                    reply, key = self._handle(line)
                    self._send(reply, key)
                    if self.unit.reset_requested is not None:
                        return False  # the unit restarts after this step (new settings): nothing more now
                took = self.hal.ticks_diff(self.hal.ticks_ms(), started)
                self.frame_ms = max(self.frame_ms * 15 // 16, took)  # slow to forget a costly one
            return self.lines.pending()
        except MemoryError:  # the bytes queued did not fit: drop them, say so, carry on
            handled += 1  # what they held is garbage now
            self.lines = protocol.LineSplitter()
            self.hal.serial_write(b"\n" + _NO_MEMORY if self.writer.midway else _NO_MEMORY)
            return False
        finally:
            self._note_heap()
            if handled:
                self._collect()

    def _collect(self):
        """Drop the modules the frames loaded and collect their garbage, timed: a feed that
        only held its frames made none, and a collection there could run over the note."""
        started = self.hal.ticks_ms()
        unload(TRANSIENT_MODULES)
        took = self.hal.ticks_diff(self.hal.ticks_ms(), started)
        self.collect_ms = max(self.collect_ms * 15 // 16, took)

    def _note_heap(self):
        """Free heap before this feed's garbage is collected (each feed starts collected:
        unload below), so the least the heap was free while requests ran, their garbage
        included (a collection inside a request, on a full heap, hides what it freed)."""
        free = getattr(gc, "mem_free", None)
        if free is not None:
            now = free()
            if self.mem_free_min is None or now < self.mem_free_min:
                self.mem_free_min = now

    def _send(self, message, key):
        try:
            self.writer.send(message, key)
            return
        except Exception:  # noqa: BLE001 - MemoryError: a reply too big for the heap
            pass
        if self.writer.midway:
            self.hal.serial_write(b"\n")  # end the torn frame: its CRC fails on the host
        try:
            self.writer.send(protocol.error(message.get("id"), protocol.FAILED, "reply too large for the unit"))
        except Exception:  # noqa: BLE001
            self.hal.serial_write(_NO_MEMORY)

    def _handle(self, line):
        """(reply message, key to MAC it with or None); never raises.  A reply
        MAC'd for a paired computer names the nonce or challenge it answers."""
        self.key, self.echo = None, None
        reply = self._answer(line)
        if self.key is not None:
            reply["n"] = self.echo
        return reply, self.key

    def _answer(self, line):
        request_id = None
        try:
            message, mac, body = protocol.decode(line)
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
            if method in methods.WRITES:
                refusal = self._authorise(message, mac, body)
                if refusal is not None:
                    return protocol.error(request_id, protocol.UNAUTHORISED, refusal)
                from pumpwatch import writes
                handler = getattr(writes, method)
            elif method in methods.READS:
                self._challenge(message)
                handler = methods.READS[method]
            else:
                return protocol.error(request_id, protocol.UNKNOWN_METHOD, "no method %s" % _text(method))
            result = handler(self, args)
        except protocol.FrameError as exc:
            return protocol.error(None, protocol.BAD_FRAME, str(exc))
        except ValueError as exc:
            return protocol.error(request_id, protocol.BAD_REQUEST, str(exc))
        except Exception as exc:  # noqa: BLE001 - MemoryError, a bug: a bad request never stops the loop
            return protocol.error(request_id, protocol.FAILED, "%s: %s" % (type(exc).__name__, exc))
        if isinstance(result, dict) and "_error" in result:
            code, msg, fields = result["_error"]
            return protocol.error(request_id, code, msg, fields)
        return protocol.reply(request_id, result)

    # ------------------------------------------------------------------ authentication
    def _authorise(self, message, mac, body):
        """None when the write may go ahead (self.key, self.echo set), else why not; the nonce is spent."""
        nonce, self.nonce = self.nonce, None  # single use, whatever happens
        if not self.keys.paired():
            refusal = "the unit is not paired"
        elif nonce is None or message.get("nonce") != nonce[0]:
            refusal = "stale or replayed nonce: ask for a new one"
        elif self.hal.ticks_age(nonce[1]) > NONCE_LIFETIME_MS:
            refusal = "nonce expired: ask for a new one"
        else:
            key = self._key_for(message, body, mac)
            refusal = None if key is not None else "wrong key"
        if refusal is not None:
            self._count_refusal(refusal, message.get("m"))
        else:
            self.key, self.echo = key, message.get("nonce")
        return refusal

    def _key_for(self, message, body, mac):
        name = message.get("kid")
        if name is not None:
            key = self.keys.key_named(name)
            return key if protocol.mac_valid(key, body, mac) else None
        for _, key in self.keys.entries:
            if protocol.mac_valid(key, body, mac):
                return key
        return None

    def _challenge(self, message):
        """A read from a computer that names its key and a challenge gets a MAC'd reply."""
        challenge = message.get("challenge")
        name = message.get("kid")
        if isinstance(challenge, str) and 16 <= len(challenge) <= MAX_CHALLENGE and name is not None:
            self.key, self.echo = self.keys.key_named(name), challenge

    def _count_refusal(self, why, method):
        self.refused += 1
        self.refused_why = why
        first = self.summary_at is None
        if first:
            self.unit.log_event({"e": "auth_rejected", "why": why, "m": _text(method)})  # once per boot
            self.summary_at = self.hal.ticks_ms()
            self.refused = 0
        elif self.hal.ticks_age(self.summary_at) >= REFUSALS_SUMMARY_EVERY_MS:
            self._summarise()

    def _summarise(self):
        self.unit.log_noise({"e": "auth_rejected", "n": self.refused, "why": self.refused_why})
        self.refused = 0
        self.summary_at = self.hal.ticks_ms()

    def next_deadline_ms(self):
        """ms until refusals not yet written must be summarised (None: nothing pending)."""
        if not self.refused:
            return None
        left = REFUSALS_SUMMARY_EVERY_MS - self.hal.ticks_age(self.summary_at)
        if left <= 0:
            self._summarise()
            return None
        return left

    # ------------------------------------------------------------------ pairing (the unit's press)
    def confirm_pairing(self):
        """The long press that proves someone is holding the unit."""
        if self.pending_key is None:
            return
        name, key = self.pending_key
        self.pending_key = None
        self.keys.add(name, key)
        self.paired_name = name
        self.unit.log_event({"e": "paired", "name": name, "keys": len(self.keys.entries)})


def _text(value):
    return value if isinstance(value, str) else "(not text)"
