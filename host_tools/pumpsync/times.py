"""The one way pumpsync shows a time to a nurse or a patient.

Owns `Zone` (a name and the UTC offset in force at each instant) and its
`local()` text: '2027-01-29 10:00 Europe/Berlin (UTC+01:00)'.  The zone is
the patient's (clock.tz of the settings, else the offsets the settings
carry), else this computer's.  Every command's text output uses it; `--json`
stays UTC ISO 8601 with Z (timecalc.format_iso).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pumpwatch import timecalc

_LATEST = 2**33  # an instant beyond this is not a time any unit could mean


def _utc_name(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    hours, minutes = divmod(abs(offset_s) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def is_instant(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < _LATEST


class Zone:
    """A time zone as pumpsync shows it: `name` (or None) and `offset_at(utc)` in seconds."""

    def __init__(self, name: str | None, offset_at):
        self.name = name
        self.offset_at = offset_at

    @classmethod
    def of_clock(cls, clock, name: str | None = None) -> "Zone":
        """The patient's zone: the offsets the settings carry (`clock.offset_at`, what the unit
        and the forecast use), labelled with its IANA `name` when the settings give one."""
        return cls(name, clock.offset_at)

    @classmethod
    def of_iana(cls, name: str) -> "Zone":
        zone = ZoneInfo(name)
        return cls(name, lambda utc: _offset_s(zone, utc))

    @classmethod
    def of_computer(cls) -> "Zone":
        """This computer's zone, by its IANA name where the system says it (TZ, /etc/localtime)."""
        name = _computer_zone_name()
        if name:
            try:
                return cls.of_iana(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return cls(None, _computer_offset_s)

    def local(self, utc, unknown: str = "unknown") -> str:
        """'2027-01-29 10:00 Europe/Berlin (UTC+01:00)', or `unknown` for no (or no possible) time."""
        if not is_instant(utc):
            return unknown
        utc = int(utc)
        offset = self.offset_at(utc)
        zone = f"{self.name} ({_utc_name(offset)})" if self.name else _utc_name(offset)
        return f"{timecalc.format_local(utc, offset)} {zone}"

    def local_seconds(self, utc, unknown: str = "unknown") -> str:
        """As local(), with seconds (a clock, a log entry)."""
        if not is_instant(utc):
            return unknown
        utc = int(utc)
        offset = self.offset_at(utc)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(utc + offset))
        zone = f"{self.name} ({_utc_name(offset)})" if self.name else _utc_name(offset)
        return f"{stamp} {zone}"


def _computer_offset_s(utc: int) -> int:
    offset = datetime.fromtimestamp(utc).astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _offset_s(zone: ZoneInfo, utc: int) -> int:
    offset = datetime.fromtimestamp(utc, tz=timezone.utc).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _computer_zone_name() -> str | None:
    name = os.environ.get("TZ", "").lstrip(":")
    if name and "/" in name and not name.startswith("/"):
        return name
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "/zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def zone_of_settings(prescription, document) -> Zone:
    """The patient's zone from a checked settings file (None: this computer's)."""
    if prescription is None:
        return Zone.of_computer()
    from pumpwatch.localclock import LocalClock
    clock_doc = document.get("clock") if isinstance(document, dict) else None
    name = clock_doc.get("tz") if isinstance(clock_doc, dict) else None
    clock = LocalClock(prescription.utc_offset_s, prescription.transitions)
    name = name if isinstance(name, str) else None
    try:
        named = ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        named = None
    if named is None:
        return Zone.of_clock(clock, name)
    # The settings carry offsets from the refill on (what the unit and the forecast use); an earlier
    # record (last summer's fault) takes the offset the named zone had then.
    refill_at = prescription.refill_at
    return Zone(name, lambda utc: clock.offset_at(utc) if utc >= refill_at else _offset_s(named, utc))
