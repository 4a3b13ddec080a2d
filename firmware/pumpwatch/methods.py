"""What each request of the sync protocol does on the unit (docs/protocol.md).

Owns the open reads (hello, status, nonce, pairing, settings, the logs, the
key names) and the authenticated writes (settings, clock, acknowledge,
maintenance, factory reset, alarm test, refill record, keys).  Each is a
function (service, args) -> result dict; ValueError names the bad argument.
Who may call which is service.py's; the clock rules are clock.py's.
"""

from pumpwatch import VERSION, button, keys, protocol, records, sounds

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

PAIRING_WINDOW_MS = const(30000)
MAINTENANCE_MS = const(5 * 60 * 1000)
LOG_PAGE_BYTES = const(4096)


def load_unit_id(service):
    from pumpwatch import readback
    path = service.unit.data_dir + "/unit.rec"
    try:
        ident = readback.read_record(path)
    except readback.CorruptRecord:
        ident = None
    if ident is None:
        ident = {"unit_id": _hex(service.hal.random_bytes(6))}
        records.write_record(path, ident)
    return ident["unit_id"]


# ---------------------------------------------------------------------- open reads
def hello(service, args):
    request = service.unit.request
    return {"firmware": VERSION, "protocol": protocol.VERSION, "board": service.hal.board,
            "unit_id": service.unit_id, "paired": service.keys.paired(), "time": service.unit.now_s(),
            "pairing": request is not None and request.what == "pair" and request.open()}


def status(service, args):
    from pumpwatch import status as status_module
    return status_module.of(service.unit, service.unit_id)


def nonce(service, args):
    value = _hex(service.hal.random_bytes(16))
    service.nonce = (value, service.hal.ticks_ms())
    return {"nonce": value, "lifetime_s": 60}


def pair(service, args):
    """An unpaired unit takes a first key from the port, confirmed by a press."""
    if service.keys.paired():
        return {"_error": (protocol.UNAUTHORISED, "the unit is already paired: add a computer with key_add "
                           "from a paired one, or factory-reset the unit on the unit itself", None)}
    return _start_pairing(service, args)


def pair_status(service, args):
    request = service.unit.request
    if service.paired_name is not None and service.pending_key is None:
        return {"state": "paired", "name": service.paired_name, "unit_id": service.unit_id}
    if request is not None and request.what == "pair" and request.open():
        return {"state": "waiting"}
    if service.pending_key is not None:
        service.pending_key = None  # an abandoned request can never be confirmed later
        return {"state": "expired"}
    return {"state": "none"}


def key_names(service, args):
    return {"names": service.keys.names(), "max": keys.MAX_KEYS}


def settings_get(service, args):
    from pumpwatch import readback
    try:
        stored = readback.read_record(service.unit.settings_path)
    except readback.CorruptRecord:
        stored = None
    if stored is None:
        return {"text": None, "crc": None}
    return {"text": stored["text"], "crc": stored["crc"]}


def log(service, args):
    """One page of a log, streamed from flash; `cursor` from the last page (null: the start)."""
    from pumpwatch import readback
    which = args.get("log", "events")
    if which not in ("events", "noise"):
        raise ValueError('log: "events" or "noise"')
    cursor = args.get("cursor")
    if cursor is not None and not (isinstance(cursor, list) and len(cursor) == 2 and _whole(cursor[0])
                                   and _whole(cursor[1])):
        raise ValueError("cursor: null or the cursor of the previous page")
    source = service.unit.log if which == "events" else service.unit.noise
    lines, cursor, done = readback.log_page(source, cursor, LOG_PAGE_BYTES)
    return {"lines": lines, "cursor": cursor, "done": done}


# ---------------------------------------------------------------------- authenticated writes
def settings_put(service, args):
    text = args.get("text")
    if not isinstance(text, str):
        raise ValueError("text: the settings file's JSON text")
    from pumpwatch import startup
    try:
        errors = startup.apply(service.unit, text, service.unit.now_s())
    finally:
        startup.unload(startup.BOOT_ONLY_MODULES)
    if errors:
        return {"_error": (protocol.INVALID_SETTINGS, "settings refused", errors)}
    return {"crc": service.unit.settings_crc, "refill_due_at": service.unit.plan.refill_due_at}


def time_set(service, args):
    from pumpwatch import clock
    return clock.set_time(service.unit, args.get("epoch"), args.get("jump_ok", False))


def ack(service, args):
    return {"acknowledged": service.unit.acknowledge()}


def log_clear(service, args):
    service.unit.log.clear()
    service.unit.noise.clear()
    service.unit.log_event({"e": "log_cleared"})
    return {}


def maintenance(service, args):
    minutes = args.get("minutes", MAINTENANCE_MS // 60000)
    if not _whole(minutes) or not 1 <= minutes <= 30:
        raise ValueError("minutes: 1 to 30")
    service.unit.log_event({"e": "maintenance", "minutes": minutes})
    service.unit.maintenance_ms = minutes * 60000
    return {"minutes": minutes}


def factory_reset(service, args):
    from pumpwatch import factory
    factory.erase(service.unit, "host")
    return {}


def alarm_test(service, args):
    """One burst of an alarm pattern, so the patient learns what it sounds like."""
    priority = args.get("priority", "high")
    for level in sounds.BY_PRIORITY:
        pattern = sounds.BY_PRIORITY[level]
        if pattern.name == priority:
            service.unit.play_once(sounds.Pattern(pattern.name, pattern.segments, None, pattern.led))
            service.unit.log_event({"e": "alarm_test", "priority": priority})
            return {"priority": priority}
    raise ValueError('priority: "low", "medium" or "high"')


def refill(service, args):
    entry = {}
    entry["e"] = "refill"
    for name in ("returned_ml", "expected_ml", "discrepancy_pct", "flagged"):
        if name not in args:
            raise ValueError("%s: missing" % name)
        value = args[name]
        if not isinstance(value, (int, float, bool)):
            raise ValueError("%s: a number" % name)
        entry[name] = value
    service.unit.log_event(entry)
    return {}


def key_add(service, args):
    """A paired computer vouches for another; the unit still wants a press."""
    if len(service.keys.entries) >= keys.MAX_KEYS and service.keys.key_named(args.get("name")) is None:
        raise ValueError("name: the unit already trusts %d computers; remove one first" % keys.MAX_KEYS)
    return _start_pairing(service, args)


def key_remove(service, args):
    name = args.get("name")
    if not service.keys.remove(name):
        raise ValueError("name: the unit has no key called %s" % (name if isinstance(name, str) else "that"))
    service.unit.log_event({"e": "key_removed", "name": name, "keys": len(service.keys.entries)})
    return {"names": service.keys.names()}


def _start_pairing(service, args):
    key = keys.parse_key(args.get("key"))
    name = args.get("name", "first computer")
    problem = keys.check_name(name)
    if problem is not None:
        raise ValueError(problem)
    unit = service.unit
    if unit.request is not None and unit.request.open():
        return {"_error": (protocol.BUSY, "another request is waiting for a press on the unit: try again "
                           "in %d s" % (unit.request.ms_left() // 1000 + 1), None)}
    unit.request = button.Request(service.hal, sounds.PAIRING_CHIRP.length_ms, PAIRING_WINDOW_MS, "pair")
    unit.play_once(sounds.PAIRING_CHIRP)
    service.pending_key = (name, key)
    service.paired_name = None
    return {"state": "waiting", "press_within_s": PAIRING_WINDOW_MS // 1000,
            "press_after_ms": sounds.PAIRING_CHIRP.length_ms}


READS = {"hello": hello, "status": status, "nonce": nonce, "pair": pair, "pair_status": pair_status,
         "keys": key_names, "settings_get": settings_get, "log": log}
WRITES = {"settings_put": settings_put, "time_set": time_set, "ack": ack, "log_clear": log_clear,
          "maintenance": maintenance, "factory_reset": factory_reset, "alarm_test": alarm_test,
          "refill": refill, "key_add": key_add, "key_remove": key_remove}


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _hex(data):
    return "".join("%02x" % b for b in data)
