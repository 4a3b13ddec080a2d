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


def settings_put(service, args):
    """Take new settings for checking once this step's reply is out (unit.py), with the
    sync machinery out of RAM: the checker needs the room.  `settings_result` says how
    it went."""
    text = args.get("text")
    if not isinstance(text, str):
        raise ValueError("text: the settings file's JSON text")
    from pumpwatch import records
    service.unit.staged_settings = text
    return {"crc": records.crc_of(text), "staged": True}


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
    return start_pairing(service, args)


def key_remove(service, args):
    name = args.get("name")
    if not service.keys.remove(name):
        raise ValueError("name: the unit has no key called %s" % (name if isinstance(name, str) else "that"))
    service.unit.log_event({"e": "key_removed", "name": name, "keys": len(service.keys.entries)})
    return {"names": service.keys.names()}
