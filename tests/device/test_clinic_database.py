"""Issue 14, done when: two pumpsync processes syncing different emulated units into one PostgreSQL at
the same time: both visits recorded, the board shows both.

Two nurses' computers (each its own keystore and PUMPSYNC_RUNTIME_DIR, as clinic.Clinic gives them),
each with its own emulated unit, share one clinic database (--db postgresql://…, a real server the
suite starts: tests/conftest.py's postgres_url).  Both `pumpsync sync` run at once; afterwards the
history holds both syncs with their settings and labels, and the refill board lists both units."""

from __future__ import annotations

import subprocess
import sys
import time

from clinic import Clinic, settings_for_now

from pumpsync import board, due_list
from pumpsync.emulator import Emulator
from pumpsync.history import History

LABELS = {"a": "Bed 7 - K. Nowak", "b": "Paeds 0412"}
EXAMPLE = {"a": "simple-continuous.json", "b": "flex-night-boost.json"}


def _computer(tmp_path, name: str, db: str) -> Clinic:
    folder = tmp_path / name
    folder.mkdir()
    emu = Emulator(state_dir=folder / "unit", start_time=time.time(), speed=1)
    emu.start()
    emu.advance(2)
    clinic = Clinic(folder, emu)
    clinic.db = db  # the clinic's shared database, not this computer's own file
    clinic.pair()
    return clinic


def test_two_computers_sync_two_units_into_one_postgresql_at_once_and_the_board_shows_both(tmp_path, postgres_url):
    computers = {}
    try:
        for name in LABELS:
            computers[name] = _computer(tmp_path, name, postgres_url)
        assert computers["a"].env["PUMPSYNC_RUNTIME_DIR"] != computers["b"].env["PUMPSYNC_RUNTIME_DIR"]
        history = History(postgres_url)
        paired = [e["unit_id"] for e in history.entries() if e["kind"] == "pair" and e["result"] == "ok"]
        assert len(paired) == 2 and len(set(paired)) == 2, paired
        unit_of = dict(zip(LABELS, paired))  # paired one after the other: a, then b

        procs = {}
        for name, clinic in computers.items():
            settings = settings_for_now(clinic.tmp, example=EXAMPLE[name],
                                        change=lambda d, label=LABELS[name]: d.setdefault("patient", {})
                                        .update(label=label))
            command = [sys.executable, "-m", "pumpsync", "sync", str(settings), "--yes", "--port", clinic.emu.port,
                       "--keystore", str(clinic.keystore), "--db", postgres_url]
            procs[name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                           stdin=subprocess.DEVNULL, env=clinic.env)
        assert procs["a"].poll() is None, "the first sync was still running when the second started"
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, f"computer {name}: {out}\n{err}"
            assert "NOT recorded" not in err, err

        entries = history.entries()
        syncs = {e["unit_id"]: e for e in entries if e["kind"] == "sync" and e["result"] == "ok"}
        assert set(syncs) == set(unit_of.values()), "both visits recorded"
        for name, unit_id in unit_of.items():
            assert syncs[unit_id]["patient_label"] == LABELS[name]
            assert LABELS[name] in syncs[unit_id]["after"]
        history.close()

        app = board.create_app(postgres_url)
        try:
            page = app.test_client().get("/")
            assert page.status_code == 200
            html = page.get_data(as_text=True)
            rows = {row.unit_id: row for row in due_list.board_rows(app.history, int(time.time()))}
        finally:
            app.history.close()
        for name, unit_id in unit_of.items():
            assert f'data-unit="{unit_id}"' in html and LABELS[name] in html, f"the board shows unit {name}"
            assert rows[unit_id].label == LABELS[name] and rows[unit_id].due_at is not None
        assert "2 units synced" in html
    finally:
        for clinic in computers.values():
            clinic.emu.close()
