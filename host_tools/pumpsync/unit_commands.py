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

from pumpwatch import protocol, readback, records, timecalc
from pumpwatch import settings as core_settings
from pumpwatch.forecast import Forecast
from pumpwatch.settings import check as check_settings

from pumpsync import ports as port_lookup
from pumpsync import alarm_words, report, settings_file, sync_checks
from pumpsync.client import UnitClient, UnitError, printable
from pumpsync.history import History
from pumpsync.keystore import Keystore
from pumpsync.progress import Progress

PAIR_WAIT_S = 30
MAX_CLOCK_JUMP_S = 3 * 3600  # the unit refuses a bigger jump unless the nurse confirms it (clock.py)
CONFIRM_CLOCK_JUMP = "clock-jump"
MAX_LOG_PAGES = 2000  # a unit that never says "done" cannot keep us paging
MAX_BURST_MS = 30_000  # an alarm test burst longer than this is not one of ours: no waiting on it


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
        self.client.key_name = self.keystore.name_for(self.unit_id)
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
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch < 2**33:
        return None
    return timecalc.format_iso(epoch)


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
        return pair_unit(session, name=args.name)
    finally:
        session.close()


def pair_unit(session: Session, while_waiting=None, name: str | None = None) -> int:
    """Pair: a new key, kept by the unit only after a long press there that starts
    after its pairing chirp.  A paired unit takes a new key only from a computer it
    already trusts (this one re-pairing), never from a stranger.
    `while_waiting()` is called once the unit waits (a simulation presses then)."""
    key = Keystore.new_key()
    name = name or session.client.key_name or Keystore.default_name()
    if session.hello.get("paired"):
        if session.client.key is None:
            session.history.record("pair", session.unit_id, "refused", reason="already paired elsewhere")
            raise CommandFailed(f"unit {session.unit_id} is already paired with another computer: add this one "
                                "from there (pumpsync keys add NAME --to THIS-COMPUTERS-KEYSTORE), or "
                                "factory-reset the unit on the unit itself (hold the button 10 s, then 10 s again "
                                "after the two low tones)")
        started = session.client.write("key_add", {"key": key.hex(), "name": name})
    else:
        started = session.client.call("pair", {"key": key.hex(), "name": name})
    print(f"Unit {session.unit_id}: after the trill, press and HOLD the unit's button for 2 seconds "
          f"(within {PAIR_WAIT_S} s)...", flush=True)
    if while_waiting is not None:
        while_waiting()
    progress = Progress(PAIR_WAIT_S, "waiting for the long press")
    began = time.monotonic()
    while True:
        state = session.client.call("pair_status")["state"]
        if state == "paired":
            break
        if state in ("expired", "none") or time.monotonic() - began > PAIR_WAIT_S + 2:
            session.history.record("pair", session.unit_id, "failed", reason="no long press")
            raise CommandFailed("no long press on the unit within 30 s: pairing cancelled, nothing changed")
        progress.update(time.monotonic() - began)
        time.sleep(0.2)
    progress.done()
    session.client.key, session.client.key_name = key, name
    session.client.call("keys", verified=True)  # proves the unit stored *our* key
    session.keystore.store(session.unit_id, key, name)
    session.history.record("pair", session.unit_id, "ok", port=session.port, name=name)
    print(f"Paired: this computer ({printable(name)}) may now change unit {session.unit_id} "
          f"(key in {session.keystore.path})")
    return 0


# ---------------------------------------------------------------------- status
def unit_status(session: Session) -> dict:
    status = session.client.call("status", verified=True)
    host_now = time.time()
    unit_now = status.get("time")
    return {
        "unit_id": session.unit_id, "firmware": session.hello["firmware"], "board": session.hello["board"],
        "paired_here": session.client.key is not None,
        "clock": {"unit": _iso(unit_now), "host": _iso(int(host_now)),
                  "drift_s": None if unit_now is None else round(unit_now - host_now, 1)},
        "active": status["active"], "sounding": status["sounding"], "battery_mv": status["battery_mv"],
        "refill_due_at": _iso(status["refill_due_at"]), "forecast": status["forecast"],
        "forecast_by": "unit" if status["forecast"] is not None else None,
        **_host_forecast(session, status),
    }


def _host_forecast(session: Session, status: dict) -> dict:
    """When the unit's own forecast did not fit in its memory, the same core forecast of the
    settings it holds, computed here (and said so)."""
    if status.get("forecast") is not None or not status.get("forecast_error") or status.get("time") is None:
        return {"forecast_error": status.get("forecast_error")} if status.get("forecast_error") else {}
    _, stored = _unit_settings(session)
    if stored is None:
        return {"forecast_error": status["forecast_error"]}
    return {"forecast": Forecast(stored, int(status["time"])).as_dict(), "forecast_by": "pumpsync",
            "forecast_error": status["forecast_error"]}


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
    print(f"unit {result['unit_id']}  firmware {printable(result['firmware'])}  board {printable(result['board'])}  "
          f"{'paired with this computer' if result['paired_here'] else 'NOT paired with this computer'}")
    print(f"  clock      {clock['unit'] or 'unknown'} (drift vs this computer {drift})")
    print(f"  battery    {printable(result['battery_mv'] or '?')} mV")
    print(f"  sounding   {printable(', '.join(f'{c} ({p})' for c, p in result['sounding'])) or 'nothing'}")
    print(f"  active     {printable(', '.join(result['active'])) or 'nothing'}")
    if result.get("vibration") is not None:
        print(f"  vibration  {'motor fitted' if result['vibration'] else 'no motor'}")
    until = result.get("refilled_elsewhere_until")
    if isinstance(until, int) and not isinstance(until, bool):
        print(f"  REFILLED ELSEWHERE (the patient pressed it): refill alarms stand down until "
              f"{timecalc.format_iso(until)}; a settings sync ends it")
    if result["forecast"]:
        f = result["forecast"]
        if result.get("forecast_by") == "pumpsync":
            print("  forecast   the unit's own did not fit in its memory: computed by this computer from the "
                  "settings the unit holds")
        print(f"  remaining  {float(f['volume_ml']):.3f} mL (nominal {float(f['volume_ml_nominal']):.3f} mL)")
        print(f"  refill due {printable(f['refill_due_at'])} ({printable(f['refill_due_reason'])})")
    elif result.get("forecast_error"):
        print(f"  forecast   none: {printable(result['forecast_error'])} on the unit")
    return 0


# ---------------------------------------------------------------------- sync
def _unit_settings(session: Session):
    text = session.client.call("settings_get", verified=True)["text"]
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
    status = session.client.call("status", {"forecast": False}, verified=True)
    if before is None:
        raise CommandFailed("the unit has no settings, so there is no expected volume to compare with")
    if status.get("time") is None:
        raise CommandFailed("the unit's clock is lost, so there is no expected volume to compare with: run "
                            "pumpsync time set first")
    # the core forecast of the settings the unit holds, at the unit's time: the unit's own figure, computed
    # here so that the check never depends on the unit having the memory for it
    expected = Forecast(before, int(status["time"])).volume_ul_nominal / 1000
    result = sync_checks.reconcile(returned_ml, before.refill_volume_ul / 1000, expected, flag_pct)
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
    check_reconciliation_input(args.returned_ml, args.flag_pct)
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
    travelling = [c for c in (args.confirm or ()) if c in core_settings.CONFIRMATIONS
                  and c not in loaded.document.get("confirmed", [])]
    if travelling:
        # the unit re-checks the file (and logs what was overridden): the confirmations travel with it
        document = json.loads(text)
        document["confirmed"] = list(document.get("confirmed", [])) + travelling
        text = json.dumps(document, indent=1)
    return loaded, text


def check_clock_jump(session: Session, host_now: int, confirmed, refill_at: int | None = None,
                     kind: str = "time_set"):
    """Refuse to move the unit's clock by more than a few hours, or to before its
    stored refill, unless the nurse confirmed it (the unit refuses it too)."""
    if CONFIRM_CLOCK_JUMP in (confirmed or ()):
        return True
    unit_time = session.hello.get("time")
    if unit_time is not None and abs(host_now - unit_time) > MAX_CLOCK_JUMP_S:
        session.history.record(kind, session.unit_id, "refused", reason="clock jump",
                               unit_time=unit_time, host_time=host_now)
        raise CommandFailed(f"this computer's clock ({_iso(host_now)}) and the unit's ({_iso(unit_time)}) are "
                            f"{abs(host_now - unit_time) / 3600:.1f} h apart: check this computer's clock; if it "
                            f"is right, add --confirm {CONFIRM_CLOCK_JUMP}", bad_input=True)
    if refill_at is not None and host_now < refill_at:
        session.history.record(kind, session.unit_id, "refused", reason="before the refill")
        raise CommandFailed(f"this computer's clock ({_iso(host_now)}) is before the refill the unit has on "
                            f"record ({_iso(refill_at)}): check this computer's clock; if it is right, add "
                            f"--confirm {CONFIRM_CLOCK_JUMP}", bad_input=True)
    return False


def sync_unit(session: Session, args, loaded, text: str, clock) -> int:
    """Compare, confirm, write, verify, set the clock (from `clock()`), report."""
    jump_ok = check_clock_jump(session, int(clock()), args.confirm, kind="sync")
    confirmed = tuple(args.confirm or ()) + tuple(loaded.prescription.confirmed)
    printed = loaded.prescription.programmer or {}
    if "low_reservoir_alarm_at" not in printed and core_settings.CONFIRM_NO_PRINTOUT not in confirmed:
        if printed:
            session.history.record("sync", session.unit_id, "refused", None, text, reason="printout without alarm date")
            raise CommandFailed("the \"programmer\" block has no low_reservoir_alarm_at: without the printed alarm "
                                "date a concentration or volume typo goes unnoticed (the daily dose is the same); "
                                "copy it from the printout, or sync with --confirm no-printout (it is logged)",
                                bad_input=True)
        session.history.record("sync", session.unit_id, "refused", None, text, reason="no programmer printout")
        raise CommandFailed("the file has no \"programmer\" block: copy the low-reservoir alarm date and the "
                            "daily dose from the clinician programmer's printout into it (the cross-check that "
                            "catches a unit mix-up), or sync with --confirm no-printout (it is logged)",
                            bad_input=True)
    for override in (core_settings.CONFIRM_NO_PRINTOUT, core_settings.CONFIRM_PROGRAMMER_MISMATCH):
        if override in confirmed:
            print(report.red(f"CONFIRMED OVERRIDE: {override} (recorded on the unit and in this computer's "
                             "history)"))
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
    # The clock first: the unit checks refill.at against its own clock, and a few minutes of
    # drift must not make a just-done refill look like the future.
    session.client.write("time_set", {"epoch": int(clock()), "jump_ok": jump_ok})
    try:
        session.client.put_settings(text)
    except UnitError as exc:
        fields = "; ".join(exc.fields) if exc.fields else ""
        session.history.record("sync", session.unit_id, "failed", before_text, text, reason=str(exc),
                               fields=exc.fields)
        if exc.code == protocol.INVALID_SETTINGS:
            raise CommandFailed(f"the unit refused the settings: {exc} {fields}; the old settings stay in "
                                "force".strip()) from None
        raise CommandFailed(f"the unit stopped answering while it checked the new settings ({exc}): they may or "
                            "may not be in force; run pumpsync status, then sync again") from None
    try:
        # the unit restarted to apply the settings: a board without a battery-backed clock lost it
        session.client.write("time_set", {"epoch": int(clock()), "jump_ok": jump_ok})
        # read back: the CRC of the text the unit runs, and its stored record checked on flash
        readback_state = session.client.call("settings_get", {"text": False}, verified=True)
        status = session.client.call("status", {"forecast": False}, verified=True)
    except UnitError as exc:
        session.history.record("sync", session.unit_id, "unverified", before_text, text, reason=str(exc))
        raise CommandFailed(f"the unit took the new settings, but reading them back failed ({exc}): run pumpsync "
                            "status to check them") from None
    if readback_state.get("crc") != records.crc_of(text) or readback_state.get("intact") is not True:
        session.history.record("sync", session.unit_id, "failed", before_text, text, reason="read-back differs")
        raise CommandFailed("the settings read back from the unit differ from what was sent: sync again")
    due = _iso(status["refill_due_at"])
    session.history.record("sync", session.unit_id, "ok", before_text, text, refill_due_at=due,
                           confirmed=sorted(set(args.confirm or ()) | set(loaded.prescription.confirmed)),
                           reconciliation=reconciliation)
    print(f"Written and verified; clock set. New refill due: {due} "
          f"({forecast.refill_due_reason.replace('_', ' ')}); clinical due date "
          f"{report.when(forecast, forecast.clinical_due_at, settings_file.zone_name(loaded))}")
    return 0


def check_reconciliation_input(returned_ml, flag_pct):
    """Volumes and percentages a nurse typed: finite, and in range, or one clear sentence."""
    import math
    if returned_ml is not None and (not math.isfinite(returned_ml) or not 0 <= returned_ml <= 100):
        raise CommandFailed(f"--returned-ml: {returned_ml} is not a volume between 0 and 100 mL", bad_input=True)
    if not math.isfinite(flag_pct) or not 0 <= flag_pct <= 100:
        raise CommandFailed(f"--flag-pct: {flag_pct} is not a percentage between 0 and 100", bad_input=True)


def cmd_refill(args) -> int:
    check_reconciliation_input(args.returned_ml, args.flag_pct)
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
def download_log(client: UnitClient, which: str = "events") -> list[dict]:
    """Every entry of one of the unit's logs, page by page; always ends (a unit
    that never says it is done, or does not move on, is cut off)."""
    entries, cursor = [], None
    progress = Progress(MAX_LOG_PAGES, f"downloading the {which} log")
    for page in range(MAX_LOG_PAGES):
        reply = client.call("log", {"log": which, "cursor": cursor}, verified=True)  # signed when paired
        lines: list = reply["lines"] if isinstance(reply.get("lines"), list) else []
        for line in lines:
            entry = readback.parse_line(line.encode()) if isinstance(line, str) else None
            if isinstance(entry, dict):
                entries.append(entry)
        if reply.get("done") is True or (not lines and reply.get("cursor") == cursor):
            break
        cursor = reply.get("cursor")
        if page > 3:
            progress.update(page)
    progress.done()
    return entries


def download_logs(client: UnitClient) -> list[dict]:
    """The evidence log and the noise log, merged in time order (entries whose
    time was unknown stay after the entry before them)."""
    merged = []
    for which in ("events", "noise"):
        last = 0
        for order, entry in enumerate(download_log(client, which)):
            t = entry.get("t")
            last = t if isinstance(t, (int, float)) else last
            merged.append((last, which != "events", order, entry))
    merged.sort(key=lambda item: item[:3])
    return [entry for *_, entry in merged]


def cmd_log(args) -> int:
    since = None
    if args.since:
        since = timecalc.parse_iso(args.since)
        if since is None:
            raise CommandFailed(f'--since: "{args.since}" is not an ISO 8601 time with Z or an offset', True)
    session = Session(args)
    try:
        entries = download_logs(session.client)
        session.history.record("log_download", session.unit_id, "ok", events=len(entries))
    finally:
        session.close()
    if since is not None:
        entries = [e for e in entries if isinstance(e.get("t"), (int, float)) and e["t"] >= since]
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["time_utc", "event", "details"])
            for e in entries:
                details = {k: v for k, v in e.items() if k not in ("t", "e")}
                writer.writerow([_iso(e.get("t")) or "", printable(e.get("e")), json.dumps(details)])
        print(f"{len(entries)} events written to {args.csv}")
    elif args.json:
        _print_json(entries)
    else:
        for e in entries:
            details = printable(" ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "e")))
            stamp = _iso(e["t"]) if isinstance(e.get("t"), int) else "(time unknown)      "
            print(f"{stamp}  {printable(e.get('e')):<14} {details}")
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
    session = Session(args, need_key=True)
    try:
        _, settings = _unit_settings(session)
        host_now = int(time.time())
        jump_ok = check_clock_jump(session, host_now, getattr(args, "confirm", None),
                                   settings.refill_at if settings is not None else None)
        result = session.client.write("time_set", {"epoch": host_now, "jump_ok": jump_ok})
        session.history.record("time_set", session.unit_id, "ok", was=result["was"], jump_ok=jump_ok)
    finally:
        session.close()
    was = "unknown" if result["was"] is None else f"{result['was'] - result['time']:+d} s off"
    print(f"unit clock set to {_iso(result['time'])} (it was {was})")
    return 0


def cmd_alarm_test(args) -> int:
    """Teach the sounds: for each pattern, the words to read out, then one burst on
    the unit; the next one after it has ended, a second and --pause more."""
    if args.pause < 0 or args.pause > 600:
        raise CommandFailed(f"--pause: {args.pause} is not between 0 and 600 seconds", bad_input=True)
    names = alarm_words.names() if args.pattern == "all" else [args.pattern]
    session = Session(args, need_key=True)
    try:
        for number, name in enumerate(names, 1):
            if number > 1:
                time.sleep(args.pause)
            print(f"[{number}/{len(names)}] {name}: {alarm_words.WORDS[name].title}")
            print(f"  {alarm_words.spoken(name)}", flush=True)
            result = session.client.write("alarm_test", {"pattern": name})
            ms = result.get("ms")
            if result.get("pattern") != name or not isinstance(ms, int) or not 0 < ms <= MAX_BURST_MS:
                session.history.record("alarm_test", session.unit_id, "failed", pattern=name,
                                       reason="older firmware")
                raise CommandFailed(f"the unit did not play the {name} pattern (its firmware is older than this "
                                    "pumpsync): update it with pumpsync deploy, then test again")
            session.history.record("alarm_test", session.unit_id, "ok", pattern=name)
            print(f"  (the unit plays it now: {ms / 1000:.1f} s)", flush=True)
            time.sleep(ms / 1000 + 1)
    finally:
        session.close()
    print(f"unit {session.unit_id}: {len(names)} alarm sound{'s' if len(names) > 1 else ''} played")
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



# ---------------------------------------------------------------------- keys
def cmd_keys_list(args) -> int:
    session = Session(args)
    try:
        names = session.client.call("keys", verified=True)["names"]
    finally:
        session.close()
    mine = session.client.key_name
    for name in names:
        print(f"{printable(name)}{'   (this computer)' if name == mine else ''}")
    return 0


def cmd_keys_add(args) -> int:
    """Another computer of the clinic: a new key the unit keeps after a press on it,
    written into that computer's keystore file (carry it over, then delete it here)."""
    session = Session(args, need_key=True)
    try:
        key = Keystore.new_key()
        started = session.client.write("key_add", {"key": key.hex(), "name": args.name})
        print(f"Unit {session.unit_id}: after the trill, press and HOLD the unit's button for 2 seconds "
              f"(within {PAIR_WAIT_S} s)...", flush=True)
        began = time.monotonic()
        while session.client.call("pair_status")["state"] != "paired":
            if time.monotonic() - began > PAIR_WAIT_S + 2 + started.get("press_after_ms", 0) / 1000:
                raise CommandFailed("no long press on the unit within 30 s: nothing changed")
            time.sleep(0.2)
        with UnitClient(session.port, key=key, key_name=args.name, timeout=args.timeout) as other:
            other.call("keys", verified=True)  # the unit holds the new key
        Keystore(args.to).store(session.unit_id, key, args.name)
        session.history.record("key_add", session.unit_id, "ok", name=args.name)
    finally:
        session.close()
    print(f"unit {session.unit_id} now trusts {printable(args.name)}; its key is in {args.to}: use that file as "
          "that computer's --keystore (or merge it there), then delete this copy")
    return 0


def cmd_keys_remove(args) -> int:
    unit_id, result = _write_and_record(args, "key_remove", {"name": args.name}, name=args.name)
    if args.name == Keystore(args.keystore).name_for(unit_id):
        Keystore(args.keystore).forget(unit_id)
    print(f"unit {unit_id} no longer trusts {printable(args.name)}; it trusts: "
          f"{printable(', '.join(result['names'])) or 'no computer (it can be paired again)'}")
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
