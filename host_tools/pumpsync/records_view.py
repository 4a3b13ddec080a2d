"""Commands that need no unit: `pumpsync ports` and `pumpsync history`.

Owns their text and JSON.  History times are this computer's local time
with its zone name (`--json`: UTC ISO); settings in `--json` are nested
objects, not strings of JSON.
"""

from __future__ import annotations

import json

from pumpwatch import timecalc

from pumpsync import ports as port_lookup
from pumpsync import times
from pumpsync.history import HistoryUnavailable
from pumpsync.session import CommandFailed, open_history, print_json


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
        print_json([dict(e, before=_settings_object(e["before"]), after=_settings_object(e["after"]))
                    for e in entries])
        return 0
    if not entries:
        print(f"no records yet in {history.path}")
    zone = times.Zone.of_computer()
    for e in entries:
        detail = e["detail"] if isinstance(e["detail"], dict) else {"detail": e["detail"]}
        shown = ", ".join(f"{k}={v}" for k, v in detail.items() if k != "entries" and v not in (None, [], {}))
        at = zone.local_seconds(timecalc.parse_iso(e["at"]), e["at"])
        print(f"{at}  {e['unit_id'] or '-':<14} {e['kind']:<13} {e['result']:<10} {shown}")
    return 0
