"""`pumpsync board`: the clinic's refill board, a small read-only web page.

Owns what the board shows of each unit the clinic has synced (`board_rows`,
from the history's newest records: `History.latest`) and the page (Flask,
HTML made on the server, no script; served by waitress, which logs no
requests).  The due date and days left are the core `Forecast` of the
settings last synced to the unit, as `pumpsync forecast` gives them; the
unit's page draws the hand-out's reservoir plot (`handout_plot`).  Every time
is the patient's local time with its zone name (`times.Zone`).  Addresses
carry unit ids only, never a patient's label; nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pumpwatch import timecalc
from pumpwatch.forecast import Forecast

from pumpsync import times
from pumpsync.history import History, HistoryUnavailable
from pumpsync.session import CommandFailed, open_history, settings_of_text

DEFAULT_LISTEN = "127.0.0.1:8080"
DAY = 86400
DRIFT_FLAG_S = 60  # as pumpsync status: a unit clock more than a minute off
OVERRIDES = ("programmer-mismatch", "no-printout")
SORTS = {  # ?sort= on the board: a column, never a patient's data
    "days": "days left", "label": "patient", "unit": "unit id", "appointment": "next appointment",
    "sync": "last sync",
}


@dataclass
class BoardRow:
    unit_id: str
    label: str | None
    zone: times.Zone
    refill_at: int | None = None
    due_at: int | None = None
    due_reason: str | None = None
    days_left: float | None = None
    appointment_at: int | None = None
    appointment_after_due: bool = False
    last_sync_at: int | None = None
    last_log_at: int | None = None
    flags: list[str] = field(default_factory=list)
    forecast: Forecast | None = None

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    def local(self, utc) -> str:
        return self.zone.local(utc, "—")

    @property
    def days_text(self) -> str:
        if self.days_left is None:
            return "—"
        if self.days_left < 0:
            return f"overdue {-self.days_left:.1f} d"
        return f"{self.days_left:.1f} d"


def _epoch(iso) -> int | None:
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
    """Every unit with a successful sync on record, the soonest clinical due date first (units whose
    settings this pumpsync cannot forecast last).  HistoryUnavailable when the history cannot be read.
    One query (History.latest); forecasts from `cache` when given (the board app keeps one)."""
    cache = cache if cache is not None else ForecastCache()
    newest: dict[str, dict[tuple[str, str], dict]] = {}
    for entry in history.latest():
        newest.setdefault(entry["unit_id"], {})[(entry["kind"], entry["result"])] = entry
    rows = [row for unit_id, records in newest.items() if (row := _row(unit_id, records, now, cache)) is not None]
    return sort_rows(rows, "days")


def _row(unit_id: str, records: dict, now: int, cache: ForecastCache) -> BoardRow | None:
    sync = records.get(("sync", "ok"))
    if sync is None:
        return None
    prescription, zone, forecast = cache.get(sync["after"], now)
    labels = [e for e in records.values() if e.get("patient_label")]
    label = sync.get("patient_label") or (max(labels, key=lambda e: e["at"])["patient_label"] if labels else None)
    row = BoardRow(unit_id, label, zone, last_sync_at=_epoch(sync["at"]))
    if prescription is not None and forecast is not None:
        row.forecast = forecast
        row.refill_at = prescription.refill_at
        row.due_at = forecast.clinical_due_at
        row.due_reason = forecast.refill_due_reason
        row.days_left = round((forecast.clinical_due_at - now) / DAY, 1)
        row.appointment_at = prescription.next_appointment
        row.appointment_after_due = bool(forecast.appointment_after_due) if prescription.next_appointment else False
    else:
        row.flags.append("settings not readable by this pumpsync: no forecast")
    log = records.get(("log_download", "ok"))
    row.last_log_at = _epoch(log["at"]) if log else None
    detail = sync["detail"] if isinstance(sync["detail"], dict) else {}
    overridden = [c for c in detail.get("confirmed") or () if c in OVERRIDES]
    if overridden:
        row.flags.append("programmer cross-check overridden (" + ", ".join(overridden) + ")")
    refills = [e for key, e in records.items() if key[0] == "refill" and key[1] in ("ok", "flagged")]
    if refills and max(refills, key=lambda e: e["at"])["result"] == "flagged":
        row.flags.append("refill reconciliation flagged")
    if log:
        faults = _faults(log["detail"])
        if faults:
            row.flags.append(f"unit faults in last log ({len(faults)}: "
                             + ", ".join(sorted({str(f.get('c') or f.get('what') or f.get('e')) for f in faults}))
                             + ")")
    clock = records.get(("time_set", "ok"))
    if clock is not None and isinstance(clock["detail"], dict):
        # Against the instant the clock was set to; older records only have the record's own time.
        set_to = clock["detail"].get("time")
        was = clock["detail"].get("was")
        at = set_to if isinstance(set_to, (int, float)) and times.is_instant(set_to) else _epoch(clock["at"])
        if was is None and "was" in clock["detail"]:
            row.flags.append("unit clock had lost the time")
        elif isinstance(was, (int, float)) and times.is_instant(was) and at is not None \
                and abs(was - at) > DRIFT_FLAG_S:
            row.flags.append(f"unit clock drift {_drift_words(was - at)}")
    return row


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
        "days": lambda r: (r.days_left if r.days_left is not None else far, r.unit_id),
        "label": lambda r: ((r.label or "").casefold(), r.unit_id),
        "unit": lambda r: r.unit_id,
        "appointment": lambda r: (r.appointment_at if r.appointment_at is not None else far, r.unit_id),
        "sync": lambda r: (-(r.last_sync_at or 0), r.unit_id),
    }
    return sorted(rows, key=keys.get(sort, keys["days"]))


# --- the page ---------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; } .meta { color: #555; font-size: .9em; margin-bottom: .8em; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border-bottom: 1px solid #ddd; padding: .35em .5em; text-align: left; vertical-align: top; }
th a { color: inherit; } th.sorted { background: #e8eef7; }
tr.overdue td { background: #fde2e1; } tr.overdue td.days { color: #b00020; font-weight: bold; }
tr.late td { background: #fff3cd; } td.appt-late { color: #8a5300; font-weight: bold; }
tr.overdue.late td { background: #fde2e1; }
.flag { display: inline-block; background: #b00020; color: #fff; border-radius: 3px; padding: 0 .35em;
        margin: 0 .2em .2em 0; font-size: .85em; }
a.unit { font-family: ui-monospace, monospace; }
.legend span { padding: 0 .4em; margin-right: .6em; } img { max-width: 100%; border: 1px solid #ddd; }
"""

_BOARD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refill board</title>
<style>{{ style }}</style></head><body>
<h1>Refill board</h1>
<div class="meta">{{ rows|length }} unit{{ '' if rows|length == 1 else 's' }} synced · as of {{ now_text }} ·
sorted by {{ sorts[sort] }} · <span class="legend"><span style="background:#fde2e1">overdue</span>
<span style="background:#fff3cd">appointment after the due date</span></span></div>
{% if problem %}<p class="flag">The history cannot be read: {{ problem }}</p>{% endif %}
<table id="board"><thead><tr>
{% for key, title in columns %}<th{% if key == sort %} class="sorted"{% endif %}>{% if key in sorts %}<a href="/?sort={{ key }}" id="sort-{{ key }}">{{ title }}</a>{% else %}{{ title }}{% endif %}</th>{% endfor %}
</tr></thead><tbody>
{% for r in rows %}<tr class="{{ 'overdue' if r.overdue }} {{ 'late' if r.appointment_after_due }}" data-unit="{{ r.unit_id }}">
<td class="label"><a href="/unit/{{ r.unit_id }}">{{ r.label or '(no label)' }}</a></td>
<td><a class="unit" href="/unit/{{ r.unit_id }}">{{ r.unit_id }}</a></td>
<td>{{ r.local(r.refill_at) }}</td>
<td>{{ r.local(r.due_at) }}</td>
<td class="days">{{ r.days_text }}</td>
<td class="{{ 'appt-late' if r.appointment_after_due }}">{{ r.local(r.appointment_at) }}{% if r.appointment_after_due %}<br>AFTER the due date{% endif %}</td>
<td>{{ r.local(r.last_sync_at) }}</td>
<td>{{ r.local(r.last_log_at) if r.last_log_at else 'never' }}</td>
<td>{% for f in r.flags %}<span class="flag">{{ f }}</span>{% endfor %}</td>
</tr>{% else %}<tr><td colspan="9">No unit has been synced into this history yet.</td></tr>{% endfor %}
</tbody></table></body></html>"""

_UNIT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unit {{ row.unit_id }}</title>
<style>{{ style }}</style></head><body>
<p><a href="/">← refill board</a></p>
<h1>{{ row.label or '(no label)' }} · unit <span class="unit">{{ row.unit_id }}</span></h1>
<div class="meta">as of {{ now_text }}</div>
<table id="summary"><tbody>
<tr><th>refilled</th><td>{{ row.local(row.refill_at) }}</td></tr>
<tr><th>clinical due date</th><td>{{ row.local(row.due_at) }}{% if row.due_reason %} ({{ row.due_reason.replace('_', ' ') }}){% endif %}</td></tr>
<tr class="{{ 'overdue' if row.overdue }}"><th>days left</th><td class="days">{{ row.days_text }}</td></tr>
<tr class="{{ 'late' if row.appointment_after_due }}"><th>next appointment</th><td>{{ row.local(row.appointment_at) }}{% if row.appointment_after_due %} — AFTER the due date{% endif %}</td></tr>
<tr><th>last sync</th><td>{{ row.local(row.last_sync_at) }}</td></tr>
<tr><th>last log download</th><td>{{ row.local(row.last_log_at) if row.last_log_at else 'never' }}</td></tr>
<tr><th>flags</th><td>{% for f in row.flags %}<span class="flag">{{ f }}</span>{% else %}none{% endfor %}</td></tr>
</tbody></table>
{% if row.forecast %}<h2>Forecast</h2><img id="plot" alt="drug left in the pump over the refill cycle" src="/unit/{{ row.unit_id }}/reservoir.png">{% endif %}
<h2>History</h2>
<table id="history"><thead><tr><th>when</th><th>what</th><th>result</th><th>details</th></tr></thead><tbody>
{% for e in entries %}<tr><td>{{ e.when }}</td><td>{{ e.kind }}</td><td>{{ e.result }}</td><td>{{ e.words }}</td></tr>{% endfor %}
</tbody></table></body></html>"""

_COLUMNS = [("label", "patient"), ("unit", "unit id"), ("refill", "refilled"), ("due", "clinical due date"),
            ("days", "days left"), ("appointment", "next appointment"), ("sync", "last sync"),
            ("log", "last log download"), ("flags", "flags")]


def create_app(db=None, clock=time.time):
    """The board's Flask app on the history `db` (a path, a URL, or None: PUMPSYNC_DB / the default)."""
    from flask import Flask, Response, abort, render_template_string, request

    from pumpsync import records_view

    app = Flask("pumpsync.board")
    history = open_history(db)
    plot_lock = threading.Lock()  # matplotlib draws one figure at a time
    forecasts = ForecastCache()

    def page(template, **values):
        return render_template_string(template, style=_STYLE, sorts=SORTS, columns=_COLUMNS, **values)

    def now() -> int:
        return int(clock())

    @app.after_request
    def _headers(response):
        response.headers["Cache-Control"] = "no-store"  # patient data: not kept by the browser
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def rows_or_problem():
        try:
            return board_rows(history, now(), forecasts), None
        except HistoryUnavailable as exc:
            return [], str(exc)

    @app.get("/")
    def board():
        sort = request.args.get("sort", "days")
        sort = sort if sort in SORTS else "days"
        rows, problem = rows_or_problem()
        computer = times.Zone.of_computer()
        return page(_BOARD, rows=sort_rows(rows, sort), sort=sort, problem=problem, now_text=computer.local(now()))

    def unit_row(unit_id: str) -> BoardRow:
        rows, _ = rows_or_problem()
        for row in rows:
            if row.unit_id == unit_id:
                return row
        abort(404)

    @app.get("/unit/<unit_id>")
    def unit(unit_id):
        row = unit_row(unit_id)
        try:
            entries = history.entries(unit_id)
        except HistoryUnavailable:
            entries = []
        shown = [{"when": row.zone.local_seconds(_epoch(e["at"]), e["at"]), "kind": e["kind"], "result": e["result"],
                  "words": records_view._detail_words(e["detail"], row.zone)} for e in reversed(entries)]
        return page(_UNIT, row=row, entries=shown, now_text=row.local(now()))

    @app.get("/unit/<unit_id>/reservoir.png")
    def plot(unit_id):
        from pumpsync import handout_plot

        row = unit_row(unit_id)
        if row.forecast is None:
            abort(404)
        with plot_lock, tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "reservoir.png"
            handout_plot.write_png(current(row.forecast, now()), row.zone, target)
            data = target.read_bytes()
        return Response(data, mimetype="image/png")

    @app.errorhandler(404)
    def _missing(_):
        return page("<!doctype html><title>Not found</title><style>{{ style }}</style><p>No such page. "
                    "<a href=\"/\">The refill board</a></p>"), 404

    @app.errorhandler(Exception)
    def _failed(exc):
        from werkzeug.exceptions import HTTPException
        if isinstance(exc, HTTPException):
            return exc
        # never a traceback in a log, never the page's data in one: the type only
        print(f"pumpsync board: a page failed ({type(exc).__name__})", flush=True, file=_stderr())
        return page("<!doctype html><title>Error</title><style>{{ style }}</style><p>This page could not be "
                    "made. <a href=\"/\">The refill board</a></p>"), 500

    app.history = history  # type: ignore[attr-defined]
    return app


def _stderr():
    import sys
    return sys.stderr


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise CommandFailed(f"--listen: must be HOST:PORT such as 127.0.0.1:8080 (a port from 1 to 65535), not "
                            f"{text!r}", bad_input=True)
    return host, int(port)


def add_parser(commands, unit_options) -> None:
    p = commands.add_parser(
        "board", parents=[unit_options],
        help="serve the clinic's refill board: every synced unit, the soonest due first (read-only web page)",
        description="Serve a read-only web page of every unit in the history (--db, or PUMPSYNC_DB: the "
                    "clinic's shared PostgreSQL shows every computer's syncs): patient label, unit id, refill, "
                    "clinical due date and days left (the forecast of the settings last synced), next "
                    "appointment, last sync and log download, and flags; a unit's page has its history and "
                    "reservoir plot.  Only this computer can open it unless --listen says otherwise; it logs "
                    "no requests.  Ctrl-C stops it.")
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"address to serve on (default {DEFAULT_LISTEN}: this computer only; 0.0.0.0:8080 "
                        "shows it to the clinic's network, which has no login)")
    p.set_defaults(handler=cmd_board)


def cmd_board(args) -> int:
    import logging

    from waitress.server import create_server

    host, port = parse_listen(args.listen)
    app = create_app(args.db)
    history: History = app.history  # type: ignore[attr-defined]
    if history.problem:
        print(f"pumpsync board: WARNING {history.problem}", flush=True, file=_stderr())
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no request or address chatter
    try:
        server = create_server(app, host=host, port=port, threads=4, ident="pumpsync")
    except (OSError, ValueError) as exc:  # taken, not this computer's, or a name that does not resolve
        history.close()
        why = getattr(exc, "strerror", None) or str(exc)
        raise CommandFailed(f"--listen {host}:{port}: cannot serve there ({why}); is another board running, or "
                            "is the address not this computer's? Choose another with --listen") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"refill board on http://{shown}:{port}/ (history: {history.path}); Ctrl-C stops it", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print("\nrefill board stopped", flush=True)
    finally:
        server.close()
        history.close()
    return 0

