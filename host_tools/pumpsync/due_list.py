"""Who is due when: the refill board's rows, from the history's newest records (`History.latest`).

Owns what the board shows of each unit the clinic has synced: the patient label, the refill, the
clinical due date and days left (the core `Forecast` of the settings the unit most likely runs, as
`pumpsync forecast` gives them), the next appointment, and the flags a nurse acts on.  One unit's
odd records never take another unit's row away: that row says its records cannot be read.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

from pumpsync import times
from pumpsync.history import History
from pumpsync.session import settings_of_text

DAY = 86400
DRIFT_FLAG_S = 60  # as pumpsync status: a unit clock more than a minute off
OVERRIDES = ("programmer-mismatch", "no-printout")
# Sync results whose settings may be on the unit (the newest of them is the row), and those that wrote nothing.
MAY_BE_ON_UNIT = ("ok", "unverified", "unknown")
WROTE_NOTHING = ("failed", "refused")
_UNSURE_WORDS = {"unverified": "written, not read back as sent", "unknown": "interrupted part way"}


@dataclass
class BoardRow:
    unit_id: str
    label: str | None
    zone: times.Zone
    refill_at: int | None = None
    due_at: int | None = None
    due_reason: str | None = None
    days_left: float | None = None
    overdue: bool = False  # past the clinical due date, to the second (days_left is rounded)
    empty: bool = False    # the reservoir is forecast empty (the conservative end of the tolerance)
    appointment_at: int | None = None
    appointment_after_due: bool = False
    last_sync_at: int | None = None
    last_log_at: int | None = None
    flags: list[str] = field(default_factory=list)
    forecast: Forecast | None = None

    def local(self, utc) -> str:
        return self.zone.local(utc, "—")

    @property
    def days_text(self) -> str:
        if self.days_left is None:
            return "—"
        if self.overdue:
            return f"overdue {max(0.0, -self.days_left):.1f} d"
        return f"{self.days_left:.1f} d"


def epoch_of(iso) -> int | None:
    try:
        return timecalc.parse_iso(iso) if isinstance(iso, str) else None
    except (TypeError, ValueError):
        return None


class ForecastCache:
    """The checked settings, zone and core Forecast of each settings text the board has shown, keyed by
    the text's SHA-256: a board of a thousand units checks and forecasts only settings it has not seen
    (a new sync), not every unit on every load.  The cached forecast's due date, reason and "appointment
    after due" do not depend on its `as_of`; what does (volume now, the plot's "today") is `Forecast`
    again, of the same prescription, by `current()`.  Thread-safe; forgets everything past LIMIT texts."""

    LIMIT = 20000

    def __init__(self):
        self._found: dict[bytes, tuple] = {}
        self._lock = threading.Lock()

    def get(self, text: str | None, now: int) -> tuple:
        """(prescription or None, zone, forecast or None) of a stored settings text."""
        if not text:
            return None, times.zone_of_settings(None, None), None
        key = hashlib.sha256(text.encode("utf-8")).digest()
        with self._lock:
            found = self._found.get(key)
        if found is None:
            prescription, document = settings_of_text(text)
            zone = times.zone_of_settings(prescription, document)
            forecast = None if prescription is None else Forecast(prescription, max(now, prescription.refill_at))
            found = (prescription, zone, forecast)
            with self._lock:
                if len(self._found) >= self.LIMIT:
                    self._found.clear()
                self._found[key] = found
        return found


def current(forecast: Forecast, now: int) -> Forecast:
    """The core forecast of the same prescription as of `now` (the plot's "today")."""
    as_of = max(now, forecast.prescription.refill_at)
    return forecast if forecast.as_of == as_of else Forecast(forecast.prescription, as_of)


def board_rows(history: History, now: int, cache: ForecastCache | None = None) -> list[BoardRow]:
    """Every unit with a sync whose settings may be on it, the soonest clinical due date first (units
    whose settings this pumpsync cannot forecast before them all).  HistoryUnavailable when the history cannot be
    read.  One query (History.latest); forecasts from `cache` when given (the board app keeps one)."""
    cache = cache if cache is not None else ForecastCache()
    newest: dict[str, dict[tuple[str, str], dict]] = {}
    for entry in history.latest():
        newest.setdefault(entry["unit_id"], {})[(entry["kind"], entry["result"])] = entry
    rows = []
    for unit_id, records in newest.items():
        try:
            row = _row(unit_id, records, now, cache)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            row = BoardRow(unit_id, None, times.zone_of_settings(None, None), flags=[
                f"this unit's history records cannot be read by this pumpsync ({type(exc).__name__}): no "
                f"forecast; see pumpsync history --unit {unit_id}"])
        if row is not None:
            rows.append(row)
    return sort_rows(rows, "days")


def _newest(records: dict, kind: str, results) -> dict | None:
    found = [records[(kind, r)] for r in results if (kind, r) in records]
    return max(found, key=lambda e: e["id"]) if found else None


def _row(unit_id: str, records: dict, now: int, cache: ForecastCache) -> BoardRow | None:
    sync = _newest(records, "sync", MAY_BE_ON_UNIT)
    if sync is None:
        return None
    prescription, zone, forecast = cache.get(sync["after"], now)
    labels = [e for e in records.values() if e.get("patient_label")]
    label = sync.get("patient_label") or (max(labels, key=lambda e: e["id"])["patient_label"] if labels else None)
    row = BoardRow(unit_id, label, zone, last_sync_at=epoch_of(sync["at"]))
    if prescription is not None and forecast is not None:
        _forecast_into(row, prescription, forecast, now)
    else:
        row.flags.append("settings not readable by this pumpsync: no forecast")
    _sync_flags(row, records, sync)
    log = records.get(("log_download", "ok"))
    row.last_log_at = epoch_of(log["at"]) if log else None
    if log:
        faults = _faults(log["detail"])
        if faults:
            row.flags.append(f"unit faults in last log {_on(row, log)} ({len(faults)}: "
                             + ", ".join(sorted({str(f.get('c') or f.get('what') or f.get('e')) for f in faults}))
                             + ")")
    _clock_flag(row, records.get(("time_set", "ok")))
    return row


def _forecast_into(row: BoardRow, prescription, forecast: Forecast, now: int):
    row.forecast = forecast
    row.refill_at = prescription.refill_at
    row.due_at = forecast.clinical_due_at
    row.due_reason = forecast.refill_due_reason
    row.days_left = round((forecast.clinical_due_at - now) / DAY, 1)
    row.overdue = now > forecast.clinical_due_at
    row.appointment_at = prescription.next_appointment
    row.appointment_after_due = bool(forecast.appointment_after_due) if prescription.next_appointment else False
    if forecast.empty_at is not None and now >= forecast.empty_at:
        row.empty = True
        row.flags.append(f"reservoir forecast EMPTY since {row.local(forecast.empty_at)}: withdrawal risk, "
                         "contact the patient today")
    elif forecast.low_reservoir_at is not None and now >= forecast.low_reservoir_at:
        row.flags.append(f"past the pump's low-reservoir alarm since {row.local(forecast.low_reservoir_at)}")


def _sync_flags(row: BoardRow, records: dict, sync: dict):
    if sync["result"] != "ok":
        row.flags.append(f"last sync {sync['result']} ({_UNSURE_WORDS[sync['result']]}, "
                         f"{row.local(row.last_sync_at)}): the unit may run other settings; check with "
                         "pumpsync status")
    attempt = _newest(records, "sync", WROTE_NOTHING)
    if attempt is not None and attempt["id"] > sync["id"]:
        sure = "; the unit runs the settings shown" if sync["result"] == "ok" else ""
        row.flags.append(f"last sync attempt {attempt['result']} ({row.local(epoch_of(attempt['at']))}): "
                         f"it wrote nothing{sure}")
    detail = sync["detail"] if isinstance(sync["detail"], dict) else {}
    confirmed = detail.get("confirmed")
    confirmed = [confirmed] if isinstance(confirmed, str) else confirmed if isinstance(confirmed, list) else []
    overridden = [c for c in confirmed if isinstance(c, str) and c in OVERRIDES]
    if overridden:
        row.flags.append("programmer cross-check overridden (" + ", ".join(overridden) + ")")
    refill = _newest(records, "refill", ("ok", "flagged"))
    if refill is not None and refill["result"] == "flagged":
        row.flags.append(f"refill reconciliation flagged {_on(row, refill)}")


def _clock_flag(row: BoardRow, clock: dict | None):
    if clock is None or not isinstance(clock["detail"], dict):
        return
    # Against the instant the clock was set to; older records only have the record's own time.
    set_to, was = clock["detail"].get("time"), clock["detail"].get("was")
    at = set_to if isinstance(set_to, (int, float)) and times.is_instant(set_to) else epoch_of(clock["at"])
    if was is None and "was" in clock["detail"]:
        row.flags.append(f"unit clock had lost the time (set {_on(row, clock)})")
    elif isinstance(was, (int, float)) and times.is_instant(was) and at is not None and abs(was - at) > DRIFT_FLAG_S:
        row.flags.append(f"unit clock drift {_drift_words(was - at)} (set {_on(row, clock)})")


def _on(row: BoardRow, record: dict) -> str:
    """The local date a record was made: a flag from an earlier visit must not read as today's."""
    return "on " + row.local(epoch_of(record["at"])).split(" ")[0]


def _faults(detail) -> list[dict]:
    if not isinstance(detail, dict):
        return []
    if isinstance(detail.get("faults"), list):
        return [f for f in detail["faults"] if isinstance(f, dict)]
    entries = detail.get("entries")
    return [e for e in entries if isinstance(e, dict) and e.get("e") in ("fault", "crash")] \
        if isinstance(entries, list) else []


def _drift_words(seconds: float) -> str:
    ahead = "ahead" if seconds > 0 else "behind"
    seconds = abs(int(seconds))
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h {ahead}"
    return f"{seconds // 60} min {ahead}" if seconds >= 60 else f"{seconds} s {ahead}"


def sort_rows(rows: list[BoardRow], sort: str) -> list[BoardRow]:
    far = float("inf")
    keys = {
        # a unit nobody can forecast first (nobody knows when it is due), then by the due instant
        "days": lambda r: (r.due_at if r.due_at is not None else -far, r.unit_id),
        "label": lambda r: ((r.label or "").casefold(), r.unit_id),
        "unit": lambda r: r.unit_id,
        "appointment": lambda r: (r.appointment_at if r.appointment_at is not None else far, r.unit_id),
        "sync": lambda r: (-(r.last_sync_at or 0), r.unit_id),
    }
    return sorted(rows, key=keys.get(sort, keys["days"]))
