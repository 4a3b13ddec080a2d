"""What each authenticated write of the sync protocol does on the unit.

Owns settings, clock, acknowledge, maintenance, factory reset, alarm test,
the refill record and the key list (docs/protocol.md).  Loaded only when an
authenticated write arrives and dropped after it (service.py).  Each is a
function (service, args) -> result dict; ValueError names the bad argument.
The clock rules are clock.py's.
"""

from pumpwatch import keys, protocol, sounds
from pumpwatch.methods import start_pairing, whole

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

MAINTENANCE_MS = const(5 * 60 * 1000)
MAX_SETTINGS_CHARS = const(16384)


def settings_put(service, args):
    """New settings, in pieces of at most a few KB (so no frame, and no copy of the whole
    text, needs a long free stretch of RAM): each piece is appended to a staged file;
    after the last one (its CRC checked) the unit restarts and checks them on a fresh
    heap, as at power-on.  The host asks settings_result once the unit answers again.
    args: text (this piece), offset (characters before it), total (characters in all),
    crc (of the whole text); a single piece may leave out offset, total and crc."""
    text = args.get("text")
    if not isinstance(text, str):
        raise ValueError("text: a piece of the settings file's JSON text")
    offset, total, crc = args.get("offset", 0), args.get("total", len(text)), args.get("crc")
    if not whole(offset) or not whole(total) or not 0 < total <= MAX_SETTINGS_CHARS:
        raise ValueError("offset, total: characters before this piece, and in all (at most %d)"
                         % MAX_SETTINGS_CHARS)
    from pumpwatch import records
    unit = service.unit
    upload = service.upload
    if offset == 0:
        records.remove(unit.staged_text_path)
        upload = service.upload = [0, 0, total]  # [characters so far, running CRC, total]
    elif upload is None or upload[0] != offset or upload[2] != total:
        service.upload = None
        raise ValueError("offset: the pieces must come in order, from offset 0 (start again)")
    if offset + len(text) > total:
        service.upload = None
        raise ValueError("text: more than total characters")
    piece = text.encode()
    with open(unit.staged_text_path, "ab") as f:
        f.write(piece)
    upload[0] += len(text)
    upload[1] = records.crc_continue(piece, upload[1])
    if upload[0] < total:
        return {"received": upload[0], "total": total}
    service.upload = None
    whole_crc = records.crc_text_of(upload[1])
    if crc is not None and crc != whole_crc:
        records.remove(unit.staged_text_path)
        raise ValueError("crc: the settings arrived damaged (CRC %s, not %s): sync again" % (whole_crc, crc))
    records.write_record(unit.staged_path, {"crc": whole_crc, "chars": total})
    unit.reset_requested = "settings"
    return {"crc": whole_crc, "staged": True, "restart": True}


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
    if not whole(minutes) or not 1 <= minutes <= 30:
        raise ValueError("minutes: 1 to 30")
    service.unit.log_event({"e": "maintenance", "minutes": minutes})
    service.unit.maintenance_ms = minutes * 60000
    return {"minutes": minutes}


def factory_reset(service, args):
    from pumpwatch import factory
    factory.erase(service.unit, "host")
    return {}


def alarm_test(service, args):
    """One burst of an alarm pattern, so the patient learns what it sounds like.
    args: pattern (a name of sounds.ALARMS: high, strong, medium, technical,
    low), or the older priority (low, medium, high); default high.
    Replies the pattern and the burst's length in ms (when it has ended)."""
    if "pattern" in args:
        field, allowed = "pattern", sounds.ALARMS
    else:
        field, allowed = "priority", (sounds.HIGH_ALARM, sounds.MEDIUM_ALARM, sounds.LOW_ALARM)
    name = args.get(field, "high")
    for p in allowed:
        if p.name == name:
            service.unit.play_once(sounds.Pattern(p.name, p.segments, None, p.led, loud=p.loud))
            service.unit.log_event({"e": "alarm_test", "pattern": name})
            return {"pattern": name, "ms": p.length_ms}
    raise ValueError("%s: one of %s" % (field, ", ".join(['"%s"' % p.name for p in allowed])))


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
    return start_pairing(service, args)


def key_remove(service, args):
    name = args.get("name")
    if not service.keys.remove(name):
        raise ValueError("name: the unit has no key called %s" % (name if isinstance(name, str) else "that"))
    service.unit.log_event({"e": "key_removed", "name": name, "keys": len(service.keys.entries)})
    return {"names": service.keys.names()}
