"""The patient's calendar (`reminders.ics`): what the unit will sound, and when.

Owns turning a core Forecast into RFC 5545 events (the icalendar package):
every reminder the unit sounds (`Forecast.reminders`, `appointment_reminder_at`,
`implant_reminders`, the very instants `forecast --json` gives: clinical.py
decides them once), the clinical due date and the booked appointment.  Each
event starts in the patient's local time: a VTIMEZONE of the IANA zone
(clock.tz), else one made of the UTC offsets the settings carry.  Nothing
here computes a date.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pumpwatch import timecalc

from pumpsync import alarm_words
from pumpsync.times import Zone

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Entry:
    """One calendar event: what, when (UTC epoch seconds), and the words for it."""
    kind: str  # reminder, appointment_reminder, implant_reminder, due, appointment
    utc: int
    summary: str
    description: str
    uid: str


def entries(forecast, zone: Zone, clinic_name: str | None = None, clinic_phone: str | None = None) -> list[Entry]:
    """The events, in time order, from the forecast's own instants."""
    p = forecast.prescription
    due = zone.local(forecast.clinical_due_at)
    call = _call(clinic_name, clinic_phone)
    sound = alarm_words.WORDS["low"]
    heard = f"Your PumpWatch unit plays its {sound.title}: {sound.sound}. {sound.pause}"
    found = []
    for at, days in forecast.reminders:
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        found.append(Entry("reminder", at, f"PumpWatch reminder: pump refill due {when}",
                           f"{heard} The refill of your baclofen pump is due by {due}. {call}",
                           f"reminder-{days}"))
    if forecast.appointment_reminder_at is not None:
        found.append(Entry("appointment_reminder", forecast.appointment_reminder_at,
                           "PumpWatch reminder: refill appointment tomorrow",
                           f"{heard} Your refill appointment is {zone.local(p.next_appointment)}. {call}",
                           "appointment-reminder"))
    for at, days in forecast.implant_reminders:
        found.append(Entry("implant_reminder", at,
                           f"PumpWatch reminder: pump battery replacement in {days} days",
                           f"{heard} Your implanted pump's battery reaches its replacement indicator in "
                           f"{days} days: tell your clinic. {call}", f"implant-{days}"))
    found.append(Entry("due", forecast.clinical_due_at, "Baclofen pump refill due",
                       f"The refill is due by {due} ({p.clinic_margin_days} days before the pump's own "
                       f"low-reservoir alarm, or the drug's time limit). If no refill is booked before then, "
                       f"{call[0].lower() + call[1:]}", "due"))
    if p.next_appointment is not None:
        found.append(Entry("appointment", p.next_appointment, "Baclofen pump refill appointment",
                           f"Refill appointment {zone.local(p.next_appointment)}. Bring your PumpWatch unit. "
                           f"{call}", "appointment"))
    found.sort(key=lambda e: (e.utc, e.kind))
    return found


def _call(name: str | None, phone: str | None) -> str:
    who = name or "your clinic"
    return f"Call {who}, phone {phone}." if phone else f"Call {who}."


class SettingsZone(tzinfo):
    """The patient's clock as the settings carry it (utc_offset_min and transitions), for a
    file with no IANA clock.tz: the same offsets the unit and the forecast use."""

    def __init__(self, clock, name: str):
        self.clock, self.name = clock, name

    def _offset_of_local(self, dt: datetime) -> int:
        local_s = int((dt.replace(tzinfo=None) - _EPOCH).total_seconds())
        return self.clock.offset_at(self.clock.to_utc(local_s))

    def utcoffset(self, dt):
        return None if dt is None else timedelta(seconds=self._offset_of_local(dt))

    def dst(self, dt):
        return timedelta(0)  # the settings say the offset, not whether it is summer time

    def tzname(self, dt):
        seconds = self.clock.offset_s if dt is None else self._offset_of_local(dt)
        sign = "+" if seconds >= 0 else "-"
        return f"UTC{sign}{abs(seconds) // 3600:02d}:{abs(seconds) // 60 % 60:02d}"

    def fromutc(self, dt):
        utc = int((dt.replace(tzinfo=None) - _EPOCH).total_seconds())
        return (dt.replace(tzinfo=None) + timedelta(seconds=self.clock.offset_at(utc))).replace(tzinfo=self)


def patient_tzinfo(forecast, zone_name: str | None) -> tuple[tzinfo, str]:
    """(tzinfo, TZID): the IANA zone of clock.tz, else the settings' own offsets."""
    if zone_name:
        try:
            return ZoneInfo(zone_name), zone_name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    clock = forecast.clock
    tzid = "PumpWatch settings " + SettingsZone(clock, "").tzname(None) + (
        f" with {len(clock.transitions)} changes" if clock.transitions else "")
    return SettingsZone(clock, tzid), tzid


def _local(utc: int, tz: tzinfo) -> datetime | None:
    """The local time of `utc` in `tz`, or None where it would not read back as the same instant
    (the repeated hour when clocks go back): such an event is written in UTC."""
    local = datetime.fromtimestamp(utc, timezone.utc).astimezone(tz)
    naive = local.replace(tzinfo=None, fold=0).replace(tzinfo=tz)
    return local if int(naive.timestamp()) == utc else None


def calendar_bytes(forecast, zone: Zone, zone_name: str | None, clinic_name=None, clinic_phone=None) -> bytes:
    """The .ics file's bytes."""
    from icalendar import Calendar, Event, Timezone

    p = forecast.prescription
    tz, tzid = patient_tzinfo(forecast, zone_name)
    cal = Calendar()
    cal.add("prodid", "-//PumpWatch//pumpsync handout//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "PumpWatch reminders")
    events = entries(forecast, zone, clinic_name, clinic_phone)
    stamp = datetime.fromtimestamp(forecast.as_of, timezone.utc)
    first = min([p.refill_at] + [e.utc for e in events]) - 86400
    last = max([p.refill_at] + [e.utc for e in events]) + 86400
    vtimezone = Timezone.from_tzinfo(tz, tzid=tzid, first_date=_date(first - 366 * 86400),
                                     last_date=_date(last + 366 * 86400))
    cal.add_component(vtimezone)
    # One UID per event of this patient's refill cycle: a corrected hand-out (a later SEQUENCE)
    # replaces its events, and two patients in one family calendar never share one.
    patient = hashlib.sha256((getattr(p, "label", None) or "").encode("utf-8")).hexdigest()[:12]
    sequence = max(0, int(time.time()) - p.refill_at)  # when it was made: a later hand-out is a later version
    for e in events:
        event = Event()
        event.add("uid", f"{e.uid}-{timecalc.format_iso(p.refill_at)}-{patient}@pumpwatch")
        event.add("sequence", sequence)
        event.add("dtstamp", stamp)
        local = _local(e.utc, tz)
        if local is None:
            event.add("dtstart", datetime.fromtimestamp(e.utc, timezone.utc))
        else:
            event.add("dtstart", local.replace(tzinfo=None), parameters={"TZID": tzid})
        event.add("summary", e.summary)
        event.add("description", e.description)
        event.add("categories", ["PumpWatch", e.kind])
        event.add("duration", timedelta(minutes=15))
        event.add("transp", "OPAQUE" if e.kind == "appointment" else "TRANSPARENT")
        event.add_component(_alarm(e, _ring_at(e, p.day_window, zone) - e.utc))
        cal.add_component(event)
    return cal.to_ical()


def _ring_at(entry: Entry, day_window, zone: Zone) -> int:
    """When the phone notifies (a calendar without an alarm shows the event but never rings): two
    hours before the appointment; the due date within the patient's day window (alarms.day_start/end,
    as the unit's own forecast sounds), at its instant or else the last daytime before it; the
    reminders at their instants (the unit's, already in the day window)."""
    if entry.kind == "appointment":
        return entry.utc - 2 * 3600
    if entry.kind != "due":
        return entry.utc
    offset = zone.offset_at(entry.utc)
    local = entry.utc + offset
    day, seconds = local - local % 86400, local % 86400
    start, end = day_window
    if start <= seconds <= end:
        return entry.utc
    evening = day + end if seconds > end else day - 86400 + end  # that evening, else the one before
    return evening - offset


def _alarm(entry: Entry, trigger_s: int):
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", entry.summary)
    alarm.add("trigger", timedelta(seconds=trigger_s))
    return alarm


def _date(utc: int) -> date:
    return datetime.fromtimestamp(utc, timezone.utc).date()
