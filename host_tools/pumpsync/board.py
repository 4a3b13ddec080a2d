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

import tempfile
import threading
import time
from pathlib import Path

from pumpsync import times
from pumpsync.due_list import BoardRow, ForecastCache, board_rows, current, epoch_of, sort_rows
from pumpsync.history import History, HistoryUnavailable
from pumpsync.session import CommandFailed, open_history

DEFAULT_LISTEN = "127.0.0.1:8080"
SORTS = {  # ?sort= on the board: a column, never a patient's data
    "days": "days left", "label": "patient", "unit": "unit id", "appointment": "next appointment",
    "sync": "last sync",
}


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
tr.empty td, tr.overdue.empty td, tr.overdue.late.empty td { background: #f8b4b0; }
tr.overdue.late.empty td.days, tr.empty td.days { color: #7a0010; }
.flag { display: inline-block; background: #b00020; color: #fff; border-radius: 3px; padding: 0 .35em;
        margin: 0 .2em .2em 0; font-size: .85em; }
a.unit { font-family: ui-monospace, monospace; }
.legend span { padding: 0 .4em; margin-right: .6em; } img { max-width: 100%; border: 1px solid #ddd; }
"""

_BOARD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refill board</title>
<style>{{ style }}</style></head><body>
<h1>Refill board</h1>
<div class="meta">{% if problem %}history unreadable{% else %}{{ rows|length }} unit{{ '' if rows|length == 1 else 's' }} synced{% endif %} · as of {{ now_text }} ·
sorted by {{ sorts[sort] }} · <span class="legend"><span style="background:#fde2e1">overdue</span>
<span style="background:#f8b4b0">reservoir forecast empty</span>
<span style="background:#fff3cd">appointment after the due date</span></span></div>
{% if problem %}<p class="flag">The history cannot be read: {{ problem }}</p>{% endif %}
<table id="board"><thead><tr>
{% for key, title in columns %}<th{% if key == sort %} class="sorted"{% endif %}>{% if key in sorts %}<a href="/?sort={{ key }}" id="sort-{{ key }}">{{ title }}</a>{% else %}{{ title }}{% endif %}</th>{% endfor %}
</tr></thead><tbody>
{% for r in rows %}<tr class="{{ 'overdue' if r.overdue }} {{ 'late' if r.appointment_after_due }}{{ ' empty' if r.empty }}" data-unit="{{ r.unit_id }}">
<td class="label"><a href="/unit/{{ r.unit_id }}">{{ r.label or '(no label)' }}</a></td>
<td><a class="unit" href="/unit/{{ r.unit_id }}">{{ r.unit_id }}</a></td>
<td>{{ r.local(r.refill_at) }}</td>
<td>{{ r.local(r.due_at) }}</td>
<td class="days">{{ r.days_text }}</td>
<td class="{{ 'appt-late' if r.appointment_after_due }}">{{ r.local(r.appointment_at) }}{% if r.appointment_after_due %}<br>AFTER the due date{% endif %}</td>
<td>{{ r.local(r.last_sync_at) }}</td>
<td>{{ r.local(r.last_log_at) if r.last_log_at else 'never' }}</td>
<td>{% for f in r.flags %}<span class="flag">{{ f }}</span>{% endfor %}</td>
</tr>{% else %}{% if not problem %}<tr><td colspan="9">No unit has been synced into this history yet.</td></tr>{% endif %}{% endfor %}
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

_UNREADABLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>History unreadable</title>
<style>{{ style }}</style></head><body><p><a href="/">← refill board</a></p>
<p class="flag">The history cannot be read: {{ problem }}</p><p>This page shows again once it can be read.</p>
</body></html>"""

_OTHER_NAME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not this board's name</title>
<style>{{ style }}</style></head><body><p>This board answers to this computer's addresses and names only.
If the clinic opens it by another name, start it with <code>pumpsync board --hostname NAME</code>.</p>
</body></html>"""

_COLUMNS = [("label", "patient"), ("unit", "unit id"), ("refill", "refilled"), ("due", "clinical due date"),
            ("days", "days left"), ("appointment", "next appointment"), ("sync", "last sync"),
            ("log", "last log download"), ("flags", "flags")]


def create_app(db=None, clock=time.time, hostnames=()):
    """The board's Flask app on the history `db` (a path, a URL, or None: PUMPSYNC_DB / the default).
    It answers to addresses, this computer's names and `hostnames` only (see `answers_to`)."""
    from flask import Flask, Response, abort, render_template_string, request

    from pumpsync import records_view

    app = Flask("pumpsync.board")
    history = open_history(db, read_only=True)
    if history.problem:  # unusable from the start: say so where it was started, not on an empty board
        history.close()
        raise CommandFailed(f"the history cannot be read: {history.problem}")
    plot_lock = threading.Lock()  # matplotlib draws one figure at a time
    forecasts = ForecastCache()

    def page(template, **values):
        return render_template_string(template, style=_STYLE, sorts=SORTS, columns=_COLUMNS, **values)

    def now() -> int:
        return int(clock())

    names = known_names(hostnames)

    @app.before_request
    def _only_its_own_names():
        if not answers_to(request.host, names):
            return page(_OTHER_NAME), 421

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
        rows, problem = rows_or_problem()
        if problem is not None:  # not "no such unit": the history could not say
            abort(Response(page(_UNREADABLE, problem=problem), status=503, mimetype="text/html"))
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
        shown = [{"when": row.zone.local_seconds(epoch_of(e["at"]), e["at"]), "kind": e["kind"], "result": e["result"],
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
    # every unit's forecast, computed at start-up: the first nurse to open the page does not wait for it
    app.warm = rows_or_problem  # type: ignore[attr-defined]
    return app


def _stderr():
    import sys
    return sys.stderr


def known_names(extra=()) -> frozenset[str]:
    """The names the board answers to besides addresses: localhost, this computer's, and --hostname."""
    import socket
    names = {"localhost", socket.gethostname(), socket.getfqdn(), *extra}
    return frozenset(n.lower().rstrip(".") for n in names if n)


def answers_to(host_header: str, names: frozenset[str]) -> bool:
    """Whether a request's Host is the board's: an IP address (a rebinding site can only bring its own
    name, never an address) or one of `names`."""
    import ipaddress
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host.rstrip(".") in names


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
    p.add_argument("--hostname", action="append", default=[], metavar="NAME",
                   help="a name the clinic's network gives this computer, to open the board by "
                        "(http://NAME:8080/); it answers to addresses and this computer's own names anyway, and "
                        "refuses any other name (a web page cannot borrow it). Repeat for several (default: none)")
    p.set_defaults(handler=cmd_board)


def cmd_board(args) -> int:
    import logging

    from waitress.server import create_server

    host, port = parse_listen(args.listen)
    app = create_app(args.db, hostnames=tuple(args.hostname))
    history: History = app.history  # type: ignore[attr-defined]
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no request or address chatter
    try:
        server = create_server(app, host=host, port=port, threads=4, ident="pumpsync")
    except (OSError, ValueError) as exc:  # taken, not this computer's, or a name that does not resolve
        history.close()
        why = getattr(exc, "strerror", None) or str(exc)
        raise CommandFailed(f"--listen {host}:{port}: cannot serve there ({why}); is another board running, or "
                            "is the address not this computer's? Choose another with --listen") from None
    app.warm()  # type: ignore[attr-defined]
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

