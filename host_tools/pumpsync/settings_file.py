"""Reading a settings file on the host, ready for the core to check.

Owns what only the host can do before the core sees a settings file:
parsing JSON with line/column errors, and resolving an IANA `clock.tz`
(zoneinfo) into the fixed offset plus the offset changes of the next 400
days that the device understands.  Validation itself is the core's
(`pumpwatch.settings.check`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pumpwatch.writes import MAX_SETTINGS_CHARS  # what a unit takes
from pumpwatch import settings as core_settings
from pumpwatch import timecalc
from pumpwatch import clinical
from pumpwatch.forecast import Forecast

TRANSITION_HORIZON_DAYS = 400


MAX_FILE_BYTES = 64 * 1024  # whitespace and a time-zone name resolved here leave room above it


@dataclass
class LoadedSettings:
    document: dict | None
    prescription: core_settings.Prescription | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load(path: str | Path, as_of: int | None, confirmed=()) -> LoadedSettings:
    """Read, resolve and check a settings file; never raises on bad content."""
    try:
        text = read_text(path)
    except OSError as exc:
        return LoadedSettings(None, None, [f"{path}: cannot read: {exc.strerror or exc}"])
    except UnicodeDecodeError:
        return LoadedSettings(None, None, [f"{path}: not UTF-8 text"])
    except ValueError as exc:
        return LoadedSettings(None, None, [f"{path}: {exc}"])
    return parse(text, as_of, confirmed, source=str(path))


def read_text(path: str | Path) -> str:
    """The file's text, never more than MAX_FILE_BYTES read (/dev/zero, a FIFO, a disk image by mistake)."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"too large to be a settings file (more than {MAX_FILE_BYTES // 1024} KiB; the unit takes "
                         f"at most {MAX_SETTINGS_CHARS} characters)")
    return data.decode("utf-8")


def parse(text: str, as_of: int | None, confirmed=(), source: str = "settings") -> LoadedSettings:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return LoadedSettings(None, None, [f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} "
                                           f"column {exc.colno}"])
    except RecursionError:
        return LoadedSettings(None, None, [f"{source}: not valid JSON (nested too deeply to be settings)"])
    errors = resolve_timezone(document)
    if errors:
        return LoadedSettings(document, None, errors)
    try:
        prescription, errors, warnings = core_settings.check(document, as_of, confirmed)
        if prescription is not None:
            # the unit makes the same cross-check (plan.make_plan): one function decides both
            errors = clinical.programmer_errors(Forecast(prescription, prescription.refill_at))
            if errors:
                prescription = None
        elif errors and all(e.startswith("therapy: average daily dose") for e in errors):
            # a dose out of range: show the printout's verdict too (it names what was mistyped)
            checked, _, _ = core_settings.check(document, as_of, tuple(confirmed) + (core_settings.CONFIRM_DOSE_RANGE,))
            if checked is not None:
                errors = errors + clinical.programmer_errors(Forecast(checked, checked.refill_at))
    except Exception as exc:  # noqa: BLE001 - the unit rejects such a file too (bootsettings.use)
        return LoadedSettings(document, None, [f"{source}: could not be checked ({type(exc).__name__}); "
                                               "nothing was accepted"])
    return LoadedSettings(document, prescription, errors, warnings)


def zone_name(loaded: "LoadedSettings") -> str | None:
    """The patient's IANA zone name from the file (clock.tz), if it gives one."""
    clock = loaded.document.get("clock") if isinstance(loaded.document, dict) else None
    name = clock.get("tz") if isinstance(clock, dict) else None
    return name if isinstance(name, str) else None


def resolve_timezone(document) -> list[str]:
    """Fill clock.utc_offset_min and clock.transitions from clock.tz, in place."""
    clock = document.get("clock") if isinstance(document, dict) else None
    if not isinstance(clock, dict) or "tz" not in clock:
        return []
    name = clock["tz"]
    if not isinstance(name, str):
        return [f"clock.tz: must be an IANA time zone name such as \"Europe/Berlin\", not {name!r}"]
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"clock.tz: \"{name}\" is not a known IANA time zone (e.g. \"Europe/Berlin\")"]
    refill = document.get("refill")
    start = timecalc.parse_iso(refill.get("at")) if isinstance(refill, dict) else None
    if start is None:
        return []  # the core reports the bad refill.at
    if "utc_offset_min" in clock or "transitions" in clock:
        return ["clock: give either tz or utc_offset_min/transitions, not both"]
    offset, transitions = offsets_for(zone, start, TRANSITION_HORIZON_DAYS)
    clock["utc_offset_min"] = offset
    clock["transitions"] = [{"at": timecalc.format_iso(at), "utc_offset_min": minutes}
                            for at, minutes in transitions]
    return []


def _offset_min(zone: ZoneInfo, epoch: int) -> int:
    offset = datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset // timedelta(minutes=1))


def offsets_for(zone: ZoneInfo, start: int, days: int) -> tuple[int, list[tuple[int, int]]]:
    """Offset (minutes) at `start` and [(utc, minutes)] changes within `days` days."""
    first = _offset_min(zone, start)
    changes: list[tuple[int, int]] = []
    current = first
    hour = 3600
    t = start
    end = start + days * 86400
    while t < end:
        nxt = min(t + hour, end)
        after = _offset_min(zone, nxt)
        if after != current:
            lo, hi = t, nxt  # offset(lo) == current, offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_min(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, after))
            current = after
        t = nxt
    return first, changes
