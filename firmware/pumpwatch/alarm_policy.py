"""What sounds, given the active conditions and the patient's acknowledgements.

Owns the rules (docs/alarms.md):
* a condition sounds from its start until acknowledged or resolved (latched);
* each sound keeps one meaning (sounds.py): high only for "reservoir empty",
  the technical sound for the unit's own conditions, medium for a refill
  needed now, low for reminders;
* a short press acknowledges what is sounding: a reminder is done, a medium
  condition pauses for hours, a high one for minutes; when the pause ends it
  sounds again.  A pause belongs to the conditions it silenced, so a *new* or
  higher condition sounds at once;
* a refill alarm (low reservoir, overdue) sounding unacknowledged for too
  long becomes the *strong* medium sound (louder, faster): never the high
  sound, which means "no drug".  Technical conditions never escalate;
* a high withdrawal risk shortens the medium pause and the escalation time;
* forecasts still 24 h or more from "empty" start, and sound again after a
  pause, only inside the patient's day window (daywindow.py); "empty" and
  anything within 24 h of it sound at once, day or night;
* "get the unit synced" (after a refill elsewhere) is paused until the next
  day start: once a day;
* a pause never lasts longer than its nominal length from "now" (moved into
  the day window as above): after the clock moves (set by a host, or a stored
  pause read back at boot), `cap` shortens every pause that would, so a clock
  set ahead and back cannot buy a silence.
Acknowledgements are {condition id: paused until (s), or DONE}.
"""

from pumpwatch.conditions import DAYTIME, HIGH, LOW, MEDIUM, PRIORITY, SYNC_NEEDED, TECHNICAL, kind_of
from pumpwatch.sounds import SOUND_HIGH, SOUND_LOW, SOUND_MEDIUM, SOUND_STRONG, SOUND_TECHNICAL

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

DONE = const(-1)
MEDIUM_PAUSE_S = const(4 * 3600)
MEDIUM_PAUSE_HIGH_RISK_S = const(2 * 3600)
HIGH_PAUSE_S = const(15 * 60)
ESCALATE_AFTER_S = const(30 * 60)
ESCALATE_AFTER_HIGH_RISK_S = const(10 * 60)


def sound_of(cid, escalated=False):
    """The sound (sounds.SOUND_*) condition `cid` plays."""
    kind = kind_of(cid)
    base = PRIORITY[kind]
    if base == HIGH:
        return SOUND_HIGH
    if base == LOW:
        return SOUND_LOW
    if kind in TECHNICAL:
        return SOUND_TECHNICAL
    return SOUND_STRONG if escalated else SOUND_MEDIUM


class AlarmPolicy:
    """days: the plan's daywindow.DayWindow (None: no settings, so no forecasts)."""

    def __init__(self, high_risk=False, days=None):
        self.medium_pause = MEDIUM_PAUSE_HIGH_RISK_S if high_risk else MEDIUM_PAUSE_S
        self.escalate_after = ESCALATE_AFTER_HIGH_RISK_S if high_risk else ESCALATE_AFTER_S
        self.days = days

    def sounding(self, active, acks, now, clock_known=True):
        """(sound to play or 0, [(id, priority)], next time this answer changes by
        itself or None).  `active` is [(id, since)]; `now` wall seconds, or uptime
        seconds while the clock is lost (then the day window cannot apply)."""
        found = []
        top = 0
        next_change = None
        days = self.days if clock_known else None
        for cid, since in active:
            kind = kind_of(cid)
            until = acks.get(cid)
            if until == DONE:
                continue
            if until is not None and until > now:
                next_change = sooner(next_change, until)
                continue
            resumed = since if until is None or until < since else until
            if days is not None and kind in DAYTIME:
                if days.waits(now, kind == SYNC_NEEDED):
                    next_change = sooner(next_change, days.sounds_at(now, kind == SYNC_NEEDED))
                    continue
                if not days.is_urgent(now):
                    next_change = sooner(next_change, _window_end(days, now))
                    opened = days.opened_at(now)
                    if opened is not None and opened > resumed:
                        resumed = opened  # it waited for the morning: escalation counts from then
            escalated = False
            if PRIORITY[kind] == MEDIUM and kind not in TECHNICAL:
                escalate_at = resumed + self.escalate_after
                if now >= escalate_at:
                    escalated = True
                else:
                    next_change = sooner(next_change, escalate_at)
            found.append((cid, PRIORITY[kind]))
            sound = sound_of(cid, escalated)
            if sound > top:
                top = sound
        return top, found, next_change

    def pause_s(self, cid):
        """The nominal pause of a press on condition `cid` (0: a reminder is done, not paused)."""
        base = PRIORITY[kind_of(cid)]
        if base == LOW:
            return 0
        return self.medium_pause if base == MEDIUM else HIGH_PAUSE_S

    def paused_until(self, cid, now):
        """Until when a press at `now` pauses `cid` (DONE for a reminder)."""
        kind = kind_of(cid)
        days = self.days
        if kind == SYNC_NEEDED and days is not None:
            return days.next_opening(now)
        pause = self.pause_s(cid)
        if not pause:
            return DONE
        until = now + pause
        if days is not None and kind in DAYTIME:
            until = days.sounds_at(until)
        return until

    def acknowledge(self, sounding, acks, now):
        """New acknowledgements after a short press silences `sounding`."""
        result = dict(acks)
        for cid, _ in sounding:
            result[cid] = self.paused_until(cid, now)
        return result

    def cap(self, acks, now):
        """The acknowledgements with no pause ending later than a press at `now` would give."""
        result = {}
        for cid in acks:
            until = acks[cid]
            if until != DONE and kind_of(cid) in PRIORITY:
                longest = self.paused_until(cid, now)
                if longest != DONE:
                    until = min(until, longest)
            result[cid] = until
        return result


def _window_end(days, now):
    """When today's day window closes (a waiting forecast goes quiet then)."""
    opened = days.opened_at(now)
    return None if opened is None else opened + (days.end - days.start)


def sooner(a, b):
    """The earlier of two deadlines, either of which may be None (none)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a < b else b
