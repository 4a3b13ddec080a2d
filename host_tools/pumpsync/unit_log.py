"""`pumpsync log` and `pumpsync log clear`: the unit's event log on this computer.

Owns downloading both logs page by page (always ending, however the device
pages), their text (the patient's local time, never epoch seconds), CSV and
JSON, `--since` (a date or a time), and clearing: the log is downloaded and
kept in the history first, and the nurse types the unit's id, so clearing
never loses evidence.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from pumpwatch import readback, timecalc

from pumpsync import times
from pumpsync.client import UnitClient, printable
from pumpsync.session import CommandFailed, Session, print_json, typed_unit_id
from pumpsync.terminal import progress

MAX_LOG_PAGES = 2000  # a unit that never says "done" cannot keep us paging
_TIME_FIELDS = ("until", "at", "was", "refill_at", "due", "from", "to")


def download_log(client: UnitClient, which: str = "events") -> list[dict]:
    """Every entry of one of the unit's logs, page by page; always ends (a unit
    that never says it is done, or does not move on, is cut off).  The unit
    does not say how long its log is, so the progress (a terminal only) is a
    spinner with the pages and entries so far, never a bar against the cap."""
    entries, cursor = [], None
    with progress(f"downloading the {which} log") as shown:
        for page in range(1, MAX_LOG_PAGES + 1):
            reply = client.call("log", {"log": which, "cursor": cursor}, verified=True)  # signed when paired
            lines: list = reply["lines"] if isinstance(reply.get("lines"), list) else []
            for line in lines:
                entry = readback.parse_line(line.encode()) if isinstance(line, str) else None
                if isinstance(entry, dict):
                    entries.append(entry)
            if reply.get("done") is True or (not lines and reply.get("cursor") == cursor):
                break
            cursor = reply.get("cursor")
            shown.update(page, count=f"{page} page{'' if page == 1 else 's'}, {len(entries)} entries")
    return entries


def download_logs(client: UnitClient) -> list[dict]:
    """The evidence log in the unit's own record order (a clock that was wrong for a while must not
    reorder the evidence), with the noise log merged in by time (in its own order too)."""
    return merge_in_record_order(download_log(client, "events"), download_log(client, "noise"))


def merge_in_record_order(events: list[dict], noise: list[dict]) -> list[dict]:
    """Both lists keep their order; a noise entry goes before the next event when it is known to be earlier."""
    merged, i = [], 0
    for entry in events:
        t = entry.get("t")
        while i < len(noise) and _known(t) and _known(noise[i].get("t")) and noise[i]["t"] < t:
            merged.append(noise[i])
            i += 1
        merged.append(entry)
    return merged + noise[i:]


def _known(t) -> bool:
    return isinstance(t, (int, float)) and not isinstance(t, bool)


FAULT_EVENTS = ("fault", "crash")
_MAX_FAULTS_KEPT = 20


def faults_of(entries: list[dict]) -> list[dict]:
    """The unit's faults and crashes in a downloaded log (the last 20), kept with the download's record for
    the clinic's refill board."""
    found = [{k: e.get(k) for k in ("t", "e", "c", "what") if e.get(k) is not None}
             for e in entries if isinstance(e, dict) and e.get("e") in FAULT_EVENTS]
    return found[-_MAX_FAULTS_KEPT:]


def parse_since(text: str, zone: times.Zone) -> int:
    """An ISO time with Z or an offset, or a date (its midnight in `zone`)."""
    epoch = timecalc.parse_iso(text)
    if epoch is not None:
        return epoch
    days = timecalc.parse_date(text)
    if days is None:
        raise CommandFailed(f'--since: "{text}" is not a date (2027-01-01) or an ISO 8601 time with Z or an '
                            'offset (2027-01-01T08:00:00Z)', bad_input=True)
    midnight = days * 86400
    return midnight - zone.offset_at(midnight - zone.offset_at(midnight))


def _detail_text(entry: dict, zone: times.Zone) -> str:
    parts = []
    for key, value in entry.items():
        if key in ("t", "e"):
            continue
        if key in _TIME_FIELDS and times.is_instant(value) and value > 10**8:
            value = zone.local(value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "none"
        parts.append(f"{key}={value}")
    return printable(" ".join(parts))


def cmd_log(args) -> int:
    if getattr(args, "action", "download") == "clear":
        return cmd_log_clear(args)
    if args.csv and Path(args.csv).exists() and not args.force:
        raise CommandFailed(f"--csv: {args.csv} already exists: nothing was written (add --force to overwrite)",
                            bad_input=True)
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise CommandFailed(f"--csv: the folder of {args.csv} does not exist", bad_input=True)
    if args.csv and Path(args.csv).is_dir():
        raise CommandFailed(f"--csv: {args.csv} is a folder: give the CSV file's name in it", bad_input=True)
    session = Session(args)
    try:
        zone = session.zone()
        since = parse_since(args.since, zone) if args.since else None
        entries = download_logs(session.client)
        session.history.record("log_download", session.unit_id, "ok", events=len(entries), faults=faults_of(entries))
    finally:
        session.close()
    if since is not None:
        entries = [e for e in entries if isinstance(e.get("t"), (int, float)) and e["t"] >= since]
    if args.csv:
        try:
            _write_csv(args.csv, entries, zone)
        except OSError as exc:
            raise CommandFailed(f"--csv: {args.csv} could not be written ({exc.strerror or exc}); the log was "
                                "downloaded: try another file") from None
        print(f"{len(entries)} events written to {args.csv}")
    elif args.json:
        print_json(for_json(entries))
    else:
        for e in entries:
            stamp = zone.local_seconds(e.get("t"), "(time unknown)")
            print(f"{stamp}  {printable(e.get('e')):<14} {_detail_text(e, zone)}")
    return 0


def _write_csv(path: str, entries: list[dict], zone: times.Zone):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["time_utc", "time_local", "event", "details"])
        for e in entries:
            details = {k: v for k, v in e.items() if k not in ("t", "e")}
            writer.writerow([times_iso(e.get("t")), zone.local_seconds(e.get("t"), ""), printable(e.get("e")),
                             json.dumps(details)])


def for_json(entries: list[dict]) -> list[dict]:
    """Each event as the unit keeps it (`t`: epoch seconds), with `at` beside it: UTC ISO 8601 with Z
    (None where the unit did not know the time)."""
    return [dict(t=e.get("t"), at=times_iso(e.get("t")) or None, **{k: v for k, v in e.items() if k != "t"})
            for e in entries]


def times_iso(epoch) -> str:
    return timecalc.format_iso(int(epoch)) if times.is_instant(epoch) else ""


def cmd_log_clear(args) -> int:
    """Clear the unit's logs (a unit going to the next patient): downloaded into the history first."""
    session = Session(args, need_key=True)
    try:
        print(f"This erases the event log of the unit on {session.port} (a copy is kept in this computer's history).",
              flush=True)
        typed_unit_id(session, args.yes_i_typed, "log clear erases the unit's event log", "nothing was cleared")
        entries = download_logs(session.client)
        if not session.history.record("log_download", session.unit_id, "ok", events=len(entries), entries=entries,
                                      faults=faults_of(entries), reason="kept before log clear"):
            raise CommandFailed("the log could not be kept in the history, so it was not cleared", bad_input=False)
        session.client.write("log_clear", {})
        session.history.record("log_clear", session.unit_id, "ok", events=len(entries))
    finally:
        session.close()
    print(f"unit {session.unit_id}: {len(entries)} log entries kept in the history, then cleared on the unit")
    return 0
