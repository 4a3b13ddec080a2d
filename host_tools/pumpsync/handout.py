"""`pumpsync handout`: what the patient takes home after a refill visit.

Owns the command's options, where the settings come from (a file, or the
unit on --port through session.Session.unit_settings), and writing the
folder: reminders.ics (handout_ics), reservoir.png (handout_plot),
summary.pdf (handout_pdf), and the alarm sounds as WAV files with their
README.txt (wav_preview, alarm_words).  One core Forecast feeds them all, as
`forecast --json` computes it.  Existing files are never overwritten without
--force; every file is written under a temporary name first.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pumpwatch.forecast import Forecast
from pumpwatch.settings import CONFIRM_DOSE_RANGE, CONFIRM_PROGRAMMER_MISMATCH

from pumpsync import settings_file, times
from pumpsync.session import CommandFailed

FILES = ("reminders.ics", "reservoir.png", "summary.pdf")


@dataclass
class Source:
    forecast: Forecast
    zone: times.Zone
    zone_name: str | None
    origin: str  # the file's path, or "unit ID on PORT"


def add_parser(commands, unit_options) -> None:
    """The `handout` sub-command (unit options as the unit commands take them)."""
    p = commands.add_parser(
        "handout", parents=[unit_options],
        help="write the patient's take-home folder: calendar, reservoir plot, one-page summary, alarm sounds",
        description="Write, into --out: reminders.ics (every reminder the unit will sound, the refill due date "
                    "and the appointment, in the patient's time zone), reservoir.png (drug left over the refill "
                    "cycle), summary.pdf (one page for the patient's file and the emergency department) and "
                    "each alarm sound as a WAV file with README.txt.  From SETTINGS.json, or, without it, from "
                    "the settings the unit on --port holds.")
    p.add_argument("settings", nargs="?", metavar="SETTINGS.json",
                   help="the prescription settings file (default: read the settings from the unit on --port)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write to (made if missing; required)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files already in --out (default: refuse, naming them)")
    p.add_argument("--at", metavar="ISO",
                   help="'today' of the hand-outs (default: now; from the unit, the unit's clock)")
    p.add_argument("--confirm", action="append", metavar="CHECK",
                   choices=[CONFIRM_DOSE_RANGE, CONFIRM_PROGRAMMER_MISMATCH],
                   help=f"accept a check that would refuse the file, as forecast does ({CONFIRM_DOSE_RANGE}, "
                        f"{CONFIRM_PROGRAMMER_MISMATCH}; repeatable; default: none)")
    p.set_defaults(handler=cmd_handout)


def _as_of(args) -> int | None:
    if not args.at:
        return None
    from pumpwatch import timecalc
    epoch = timecalc.parse_iso(args.at)
    if epoch is None:
        raise CommandFailed(f"--at: \"{args.at}\" is not an ISO 8601 time with Z or an offset "
                            "(e.g. 2026-11-22T09:00:00Z)", bad_input=True)
    return epoch


def from_file(path: str, as_of: int | None, confirmed=()) -> Source:
    as_of = int(time.time()) if as_of is None else as_of
    loaded = settings_file.load(path, as_of, tuple(confirmed))
    if loaded.errors:
        raise CommandFailed("\n".join(loaded.errors) + f"\n{path}: {len(loaded.errors)} problem(s); nothing was "
                            "written", bad_input=True)
    zone = times.zone_of_settings(loaded.prescription, loaded.document)
    return Source(Forecast(loaded.prescription, as_of), zone, settings_file.zone_name(loaded), path)


def from_unit(args, as_of: int | None) -> Source:
    from pumpsync.session import Session

    session = Session(args)
    try:
        text, prescription, document = session.unit_settings()
        if text is None:
            raise CommandFailed(f"unit {session.unit_id} holds no settings: sync them first (or give "
                                "SETTINGS.json)")
        if prescription is None:
            raise CommandFailed(f"the settings on unit {session.unit_id} cannot be checked by this pumpsync "
                                "(other firmware?): give SETTINGS.json")
        if as_of is None:
            unit_time = session.client.call("status", verified=True).get("time")
            as_of = int(unit_time) if isinstance(unit_time, (int, float)) and times.is_instant(unit_time) \
                else int(time.time())
        clock = document.get("clock") if isinstance(document, dict) else None
        name = clock.get("tz") if isinstance(clock, dict) and isinstance(clock.get("tz"), str) else None
        return Source(Forecast(prescription, max(as_of, prescription.refill_at)), session.zone(), name,
                      f"unit {session.unit_id} on {session.port}")
    finally:
        session.close()


def _targets(folder: Path) -> list[Path]:
    from pumpwatch import sounds

    from pumpsync import wav_preview
    return [folder / name for name in FILES] + [folder / wav_preview.file_name(p) for p in sounds.ALARMS] + \
        [folder / "README.txt"]


def _refuse_existing(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise CommandFailed(f"--out: {folder} is a file, not a folder", bad_input=True)
    existing = [str(t) for t in _targets(folder) if t.exists()]
    if existing and not force:
        raise CommandFailed(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: nothing was "
                            "written (add --force to overwrite)", bad_input=True)


def _write(target: Path, write) -> None:
    """write(temporary path), then rename it into place: no half-written hand-out is left."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        write(partial)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CommandFailed(f"{target}: cannot write: {exc.strerror or exc}") from None


def write_handouts(source: Source, folder: Path) -> list[tuple[Path, str]]:
    """Write every hand-out into `folder`; [(path, what it is)]."""
    import matplotlib
    matplotlib.use("Agg")  # no display, ever
    matplotlib.rcParams["pdf.fonttype"] = 42  # TrueType: the PDF's text can be searched and copied

    from pumpwatch import sounds

    from pumpsync import alarm_words, handout_ics, handout_pdf, handout_plot, wav_preview

    f, zone, p = source.forecast, source.zone, source.forecast.prescription
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandFailed(f"--out: cannot make {folder}: {exc.strerror or exc}") from None
    written = []
    ics = handout_ics.calendar_bytes(f, zone, source.zone_name, p.clinic_name, p.clinic_phone)
    _write(folder / "reminders.ics", lambda path: path.write_bytes(ics))
    events = handout_ics.entries(f, zone)
    written.append((folder / "reminders.ics", f"{len(events)} calendar events (reminders, due date, appointment)"))
    _write(folder / "reservoir.png", lambda path: handout_plot.write_png(f, zone, path))
    written.append((folder / "reservoir.png", "drug left in the pump over the refill cycle"))
    drawn = []
    _write(folder / "summary.pdf", lambda path: drawn.extend(handout_pdf.write_pdf(f, zone, path)))
    missing = handout_pdf.unprintable(drawn)
    written.append((folder / "summary.pdf", "one page for the patient's file and the emergency department" + (
        f" (WARNING its font has no letters for {missing}: they print as empty boxes; write them on it by hand)"
        if missing else "")))
    for pattern in sounds.ALARMS:
        target = folder / wav_preview.file_name(pattern)
        _write(target, lambda path, pattern=pattern: wav_preview.write_wav(pattern, path))
        written.append((target, f"the {alarm_words.WORDS[pattern.name].title}"))
    _write(folder / "README.txt", lambda path: path.write_text(alarm_words.readme_text(), encoding="utf-8"))
    written.append((folder / "README.txt", "what each sound means"))
    return written


def cmd_handout(args) -> int:
    as_of = _as_of(args)
    folder = Path(args.out)
    _refuse_existing(folder, args.force)  # before the unit is asked anything
    source = from_file(args.settings, as_of, args.confirm or ()) if args.settings else from_unit(args, as_of)
    written = write_handouts(source, folder)
    f = source.forecast
    print(f"Hand-outs from {source.origin}, refill due {source.zone.local(f.clinical_due_at)}:")
    for path, what in written:
        print(f"  {path}  {what}")
    if f.prescription.clinic_phone is None:
        print("  note: the settings give no clinic.phone, so the summary names no number to call")
    return 0
