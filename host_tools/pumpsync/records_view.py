"""Commands that need no unit: `pumpsync ports` and `pumpsync history`.

Owns their text and JSON.  History times are the patient's local time (the
zone of the settings last synced to that unit, else this computer's) with
its zone name (`--json`: UTC ISO); settings in `--json` are nested
objects, not strings of JSON.
"""

from __future__ import annotations

import json

from pumpwatch import timecalc

from pumpsync import ports as port_lookup
from pumpsync import times
from pumpsync.history import HistoryUnavailable
from pumpsync.session import CommandFailed, open_history, print_json, settings_of_text


def cmd_ports(args) -> int:
    found = port_lookup.describe()
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no serial ports found")
    for p in found:
        guess = p["board"] or "not a known PumpWatch board"
        print(f"{p['port']:<22} {p['vid_pid'] or '-':<10} serial {p['serial_number'] or '-':<18} {guess}")
    return 0


def _utc_z(at):
    """The history's UTC time ('...+00:00') as every --json gives it: ISO 8601 with Z."""
    return at[:-6] + "Z" if isinstance(at, str) and at.endswith("+00:00") else at


def _settings_object(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_history(args) -> int:
    history = open_history(args.db)
    try:
        try:
            entries = history.entries(args.unit)
        except HistoryUnavailable as exc:
            raise CommandFailed(f"the history cannot be read: {exc}") from None
        if args.unit and not entries:
            known = history.units()
            raise CommandFailed(f"no records of unit {args.unit} in {history.path}; units on record: "
                                f"{', '.join(known) or 'none'}", bad_input=True)
    finally:
        history.close()
    if args.json:
        print_json([dict(e, at=_utc_z(e["at"]), before=_settings_object(e["before"]),
                         after=_settings_object(e["after"])) for e in entries])
        return 0
    if not entries:
        print(f"no records yet in {history.path}")
    computer = times.Zone.of_computer()
    zones: dict = {}  # unit -> the patient's zone of the last settings synced to it (else this computer's)
    for e in entries:
        if e["kind"] == "sync" and e["result"] == "ok" and e["after"]:
            prescription, document = settings_of_text(e["after"])
            if prescription is not None:
                zones[e["unit_id"]] = times.zone_of_settings(prescription, document)
        zone = zones.get(e["unit_id"], computer)
        print(f"{zone.local_seconds(_epoch(e['at']), e['at'])}  {e['unit_id'] or '-':<14} {e['kind']:<13} "
              f"{e['result']:<10} {_detail_words(e['detail'], zone)}")
    return 0


def _epoch(iso):
    try:
        return timecalc.parse_iso(iso)
    except (TypeError, ValueError):
        return None


_EPOCH_FIELDS = ("unit_time", "host_time", "was", "time", "from", "to")  # seconds in a record's detail


def _detail_words(detail, zone: times.Zone) -> str:
    """key=value, an instant (a key ending in _at) as local time in the same zone as the line."""
    detail = detail if isinstance(detail, dict) else {"detail": detail}
    words = []
    for key, value in detail.items():
        if key == "entries" or value in (None, [], {}):
            continue
        if key.endswith("_at") and isinstance(value, str) and _epoch(value) is not None:
            value = zone.local(_epoch(value), value)
        elif key in _EPOCH_FIELDS and _is_epoch(value):
            value = zone.local_seconds(value)
        elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            value = "; ".join(_event_words(v, zone) for v in value)
        words.append(f"{key}={value}")
    return ", ".join(words)


def _event_words(event: dict, zone: times.Zone) -> str:
    """One of the unit's log records kept in a history record (a fault, a crash) in words:
    'storage_corrupt at 2027-01-05 13:00 ...', its other fields in brackets."""
    name = str(event.get("c") or event.get("e") or "event")
    rest = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("t", "e", "c"))
    when = event.get("t")
    at = f" at {zone.local_seconds(when)}" if _is_epoch(when) else ""
    return f"{name}{f' ({rest})' if rest else ''}{at}"


def _is_epoch(value) -> bool:
    """Seconds since 1970 of a real instant (not a count, not an uptime in seconds)."""
    return isinstance(value, (int, float)) and times.is_instant(value) and value > 10**8
