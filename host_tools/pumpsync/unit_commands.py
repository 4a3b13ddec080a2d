"""The pumpsync commands that talk to a unit: pair, status, sync, refill, log,
time set, alarm test, maintenance, ports, history.

Owns what each command does and prints; the wire format is client.py's, the
checks are the core's and sync_checks.py's, the records history.py's.
Every failure is one sentence on stderr and a non-zero exit code.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from pumpwatch import readback, timecalc
from pumpwatch.forecast import Forecast
from pumpwatch.settings import check as check_settings

from pumpsync import ports as port_lookup
from pumpsync import settings_file, sync_checks
from pumpsync.client import UnitClient, UnitError
from pumpsync.history import History
from pumpsync.keystore import Keystore
from pumpsync.progress import Progress

PAIR_WAIT_S = 30


class CommandFailed(Exception):
    """One sentence for the nurse; exit code 1 (2 when `bad_input`)."""

    def __init__(self, message: str, bad_input: bool = False):
        super().__init__(message)
        self.bad_input = bad_input


class Session:
    """An open connection to the unit named by --port, with its key if paired."""

    def __init__(self, args, need_key: bool = False):
        try:
            self.port = port_lookup.resolve(args.port)
        except port_lookup.PortError as exc:
            raise CommandFailed(str(exc)) from None
        self.keystore = Keystore(args.keystore)
        self.history = History(args.db)
        self.client = UnitClient(self.port, timeout=args.timeout)
        self.hello = self.client.call("hello")
        self.unit_id = self.hello["unit_id"]
        self.client.key = self.keystore.key_for(self.unit_id)
        if need_key and self.client.key is None:
            self.close()
            raise CommandFailed(f"unit {self.unit_id} is not paired with this computer: run pumpsync pair first")

    def close(self):
        self.client.close()
        self.history.close()


def _print_json(value):
    json.dump(value, sys.stdout, indent=2)
    print()


def _iso(epoch):
    return None if epoch is None else timecalc.format_iso(epoch)


# ---------------------------------------------------------------------- ports
def cmd_ports(args) -> int:
    found = port_lookup.describe()
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print("no serial ports found")
    for p in found:
        guess = p["board"] or "not a known PumpWatch board"
        print(f"{p['port']:<22} {p['vid_pid'] or '-':<10} serial {p['serial_number'] or '-':<18} {guess}")
    return 0


# ---------------------------------------------------------------------- pair
def cmd_pair(args) -> int:
    session = Session(args)
    try:
        return pair_unit(session)
    finally:
        session.close()


def pair_unit(session: Session, while_waiting=None) -> int:
    """Pair: a new key, kept by the unit only after a long press there.
    `while_waiting()` is called once the unit waits (a simulation presses then)."""
    key = Keystore.new_key()
    session.client.call("pair", {"key": key.hex()})
    print(f"Unit {session.unit_id}: press and HOLD the unit's button for 2 seconds now "
          f"(within {PAIR_WAIT_S} s)...", flush=True)
    if while_waiting is not None:
        while_waiting()
    progress = Progress(PAIR_WAIT_S, "waiting for the long press")
    started = time.monotonic()
    while True:
        state = session.client.call("pair_status")["state"]
        if state == "paired":
            break
        if state in ("expired", "none") or time.monotonic() - started > PAIR_WAIT_S + 2:
            session.history.record("pair", session.unit_id, "failed", reason="no long press")
            raise CommandFailed("no long press on the unit within 30 s: pairing cancelled, nothing changed")
        progress.update(time.monotonic() - started)
        time.sleep(0.2)
    progress.done()
    session.keystore.store(session.unit_id, key)
    session.client.key = key
    session.history.record("pair", session.unit_id, "ok", port=session.port)
    print(f"Paired: this computer may now change unit {session.unit_id} (key in {session.keystore.path})")
    return 0


# ---------------------------------------------------------------------- status
def unit_status(session: Session) -> dict:
    status = session.client.call("status")
    host_now = time.time()
    unit_now = status.get("time")
    return {
        "unit_id": session.unit_id, "firmware": session.hello["firmware"], "board": session.hello["board"],
        "paired_here": session.client.key is not None,
        "clock": {"unit": _iso(unit_now), "host": _iso(int(host_now)),
                  "drift_s": None if unit_now is None else round(unit_now - host_now, 1)},
        "active": status["active"], "sounding": status["sounding"], "battery_mv": status["battery_mv"],
        "refill_due_at": _iso(status["refill_due_at"]), "forecast": status["forecast"],
    }


def cmd_status(args) -> int:
    session = Session(args)
    try:
        result = unit_status(session)
    finally:
        session.close()
    if args.json:
        _print_json(result)
        return 0
    clock = result["clock"]
    drift = "unknown (clock lost: run pumpsync time set)" if clock["drift_s"] is None else f"{clock['drift_s']:+.0f} s"
    print(f"unit {result['unit_id']}  firmware {result['firmware']}  board {result['board']}  "
          f"{'paired with this computer' if result['paired_here'] else 'NOT paired with this computer'}")
    print(f"  clock      {clock['unit'] or 'unknown'} (drift vs this computer {drift})")
    print(f"  battery    {result['battery_mv'] or '?'} mV")
    print(f"  sounding   {', '.join(f'{c} ({p})' for c, p in result['sounding']) or 'nothing'}")
    print(f"  active     {', '.join(result['active']) or 'nothing'}")
    if result["forecast"]:
        f = result["forecast"]
        print(f"  remaining  {f['volume_ml']:.3f} mL (nominal {f['volume_ml_nominal']:.3f} mL)")
        print(f"  refill due {f['refill_due_at']} ({f['refill_due_reason']})")
    return 0


# ---------------------------------------------------------------------- sync
def _unit_settings(session: Session):
    text = session.client.call("settings_get")["text"]
    if text is None:
        return None, None
    prescription, _, _ = check_settings(json.loads(text), None)
    return text, prescription


def _ask(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise CommandFailed("not at a terminal, so nobody can answer 'proceed?': add --yes to proceed",
                            bad_input=True)
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _reconcile(session: Session, returned_ml: float, flag_pct: float, before) -> dict:
    status = session.client.call("status")
    forecast = status.get("forecast")
    if forecast is None or before is None:
        raise CommandFailed("the unit has no settings or no clock, so there is no expected volume to compare with")
    result = sync_checks.reconcile(returned_ml, before.refill_volume_ul / 1000, forecast["volume_ml_nominal"],
                                   flag_pct)
    session.client.write("refill", {k: result[k] for k in ("returned_ml", "expected_ml", "discrepancy_pct",
                                                           "flagged")})
    session.history.record("refill", session.unit_id, "flagged" if result["flagged"] else "ok", **result)
    return result


def _print_reconciliation(result: dict):
    marker = "!!! " if result["flagged"] else ""
    print(f"{marker}refill check: returned {result['returned_ml']:.3f} mL, expected {result['expected_ml']:.3f} mL "
          f"(delivered {result['discrepancy_pct']:+.1f} % vs programmed, limit {result['flag_pct']:g} %): "
          f"{result['meaning']}")


def cmd_sync(args) -> int:
    session = None
    try:
        loaded, text = checked_settings(args, int(time.time()))
        session = Session(args, need_key=True)
        return sync_unit(session, args, loaded, text, time.time)
    finally:
        if session is not None:
            session.close()


def checked_settings(args, now: int):
    loaded = settings_file.load(args.settings, now, tuple(args.confirm or ()))
    if loaded.errors:
        for line in loaded.errors:
            print(line, file=sys.stderr)
        raise CommandFailed(f"{args.settings}: {len(loaded.errors)} problem(s); nothing was sent", bad_input=True)
    text = Path(args.settings).read_text(encoding="utf-8")
    assert loaded.document is not None  # no errors: the file parsed
    if "tz" in loaded.document.get("clock", {}):
        # the unit has no tz database: it gets the document with the offsets resolved here
        text = json.dumps(loaded.document, indent=1)
    if "dose-range" in (args.confirm or ()) and "dose-range" not in loaded.document.get("confirmed", []):
        # the unit re-checks the file; the confirmation travels with it
        document = dict(json.loads(text), confirmed=["dose-range"])
        text = json.dumps(document, indent=1)
    return loaded, text


def sync_unit(session: Session, args, loaded, text: str, clock) -> int:
    """Compare, confirm, write, verify, set the clock (from `clock()`), report."""
    before_text, before = _unit_settings(session)
    checks = sync_checks.required_confirmations(before, loaded.prescription)
    missing = [c for c in checks if c.name not in (args.confirm or ())]
    forecast = Forecast(loaded.prescription, int(clock()))
    before_due = None
    if before is not None:
        before_due = Forecast(before, before.refill_at).refill_due_at
    print(f"Unit {session.unit_id}: settings now and after this sync")
    print(sync_checks.comparison_table(before, loaded.prescription, forecast, before_due))
    for warning in loaded.warnings:
        print(f"WARNING {warning}")
    if missing:
        for c in missing:
            print(f"needs confirmation: {c.message} (add --confirm {c.name})", file=sys.stderr)
        session.history.record("sync", session.unit_id, "refused", before_text, text,
                               reason=[c.name for c in missing])
        raise CommandFailed("nothing was written: confirm the changes above or fix the file", bad_input=True)
    reconciliation = None
    if args.returned_ml is not None:
        reconciliation = _reconcile(session, args.returned_ml, args.flag_pct, before)
        _print_reconciliation(reconciliation)
    if not _ask("Write these settings to the unit?", args.yes):
        session.history.record("sync", session.unit_id, "refused", before_text, text, reason="nurse declined")
        print("nothing was written")
        return 1
    try:
        session.client.write("settings_put", {"text": text})
    except UnitError as exc:
        fields = "; ".join(exc.fields) if exc.fields else ""
        session.history.record("sync", session.unit_id, "failed", before_text, text, reason=str(exc),
                               fields=exc.fields)
        raise CommandFailed(f"the unit refused the settings: {exc} {fields}".strip()) from None
    readback_text = session.client.call("settings_get")["text"]
    if readback_text != text:
        session.history.record("sync", session.unit_id, "failed", before_text, text, reason="read-back differs")
        raise CommandFailed("the settings read back from the unit differ from what was sent: sync again")
    session.client.write("time_set", {"epoch": int(clock())})
    status = session.client.call("status")
    due = _iso(status["refill_due_at"])
    session.history.record("sync", session.unit_id, "ok", before_text, text, refill_due_at=due,
                           confirmed=list(args.confirm or ()), reconciliation=reconciliation)
    print(f"Written and verified; clock set. New refill due: {due} "
          f"({forecast.refill_due_reason.replace('_', ' ')})")
    return 0


def cmd_refill(args) -> int:
    session = Session(args, need_key=True)
    try:
        _, before = _unit_settings(session)
        result = _reconcile(session, args.returned_ml, args.flag_pct, before)
    finally:
        session.close()
    if args.json:
        _print_json(result)
    else:
        _print_reconciliation(result)
    return 0


# ---------------------------------------------------------------------- log
def download_log(client: UnitClient, page: int = 400) -> list[dict]:
    entries, start, total = [], 0, None
    progress = None
    while total is None or start < total:
        reply = client.call("log", {"from": start, "limit": page})
        total = reply["total"]
        if progress is None and total > page:
            progress = Progress(total, "downloading the event log")
        for line in reply["lines"]:
            entry = readback.parse_line(line.encode())
            if entry is not None:
                entries.append(entry)
        start = reply["next"]
        if progress:
            progress.update(start)
        if not reply["lines"]:
            break
    if progress:
        progress.done()
    return entries


def cmd_log(args) -> int:
    since = None
    if args.since:
        since = timecalc.parse_iso(args.since)
        if since is None:
            raise CommandFailed(f'--since: "{args.since}" is not an ISO 8601 time with Z or an offset', True)
    session = Session(args)
    try:
        entries = download_log(session.client)
        session.history.record("log_download", session.unit_id, "ok", events=len(entries))
    finally:
        session.close()
    if since is not None:
        entries = [e for e in entries if e.get("t") is not None and e["t"] >= since]
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["time_utc", "event", "details"])
            for e in entries:
                details = {k: v for k, v in e.items() if k not in ("t", "e")}
                writer.writerow([_iso(e.get("t")) or "", e.get("e"), json.dumps(details)])
        print(f"{len(entries)} events written to {args.csv}")
    elif args.json:
        _print_json(entries)
    else:
        for e in entries:
            details = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "e"))
            print(f"{_iso(e.get('t')) or '(time unknown)      '}  {e.get('e'):<14} {details}")
    return 0


# ---------------------------------------------------------------------- small writes
def _write_and_record(args, method: str, params: dict, **detail) -> tuple[str, dict]:
    """One authenticated write, recorded in the history; (unit id, result)."""
    session = Session(args, need_key=True)
    try:
        result = session.client.write(method, params)
        session.history.record(method, session.unit_id, "ok", **detail)
        return session.unit_id, result
    finally:
        session.close()


def cmd_time_set(args) -> int:
    _, result = _write_and_record(args, "time_set", {"epoch": int(time.time())})
    was = "unknown" if result["was"] is None else f"{result['was'] - result['time']:+d} s off"
    print(f"unit clock set to {_iso(result['time'])} (it was {was})")
    return 0


def cmd_alarm_test(args) -> int:
    _write_and_record(args, "alarm_test", {"priority": args.priority}, priority=args.priority)
    print(f"the unit plays one {args.priority}-priority alarm now")
    return 0


def cmd_maintenance(args) -> int:
    unit_id, _ = _write_and_record(args, "maintenance", {"minutes": args.minutes}, minutes=args.minutes)
    print(f"unit {unit_id} is in maintenance for {args.minutes} min: NOT MONITORING. mpremote can connect "
          f"now; the unit returns to monitoring by itself afterwards (or reset it)")
    return 0


def cmd_history(args) -> int:
    history = History(args.db)
    try:
        entries = history.entries(args.unit)
    finally:
        history.close()
    if args.json:
        _print_json(entries)
        return 0
    if not entries:
        print("no records yet")
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e["detail"].items() if v not in (None, [], {}))
        print(f"{e['at']}  {e['unit_id'] or '-':<14} {e['kind']:<13} {e['result']:<8} {detail}")
    return 0



# ---------------------------------------------------------------------- deploy
def cmd_deploy(args) -> int:
    from pumpsync import deploy

    try:
        port = port_lookup.resolve(args.port)
        keystore = Keystore(args.keystore)
        summary = deploy.deploy(port, args.board, keystore.key_for, Path(args.source) if args.source else
                                deploy.FIRMWARE_DIR)
    except (deploy.DeployError, port_lookup.PortError) as exc:
        raise CommandFailed(str(exc)) from None
    history = History(args.db)
    try:
        history.record("deploy", summary["unit_id"], "ok", version=summary["version"], board=args.board,
                       copied=summary["copied"], removed=summary["removed"])
    finally:
        history.close()
    return 0
