"""What sounds, given the active conditions and the patient's acknowledgements.

Owns the rules (docs/alarms.md):
* a condition sounds from its start until acknowledged or resolved (latched);
* a short press acknowledges what is sounding: a reminder is done, a medium
  condition pauses for hours, a high one for minutes; when the pause ends it
  sounds again.  A pause belongs to the conditions it silenced, so a *new* or
  higher condition sounds at once;
* a medium condition sounding unacknowledged for too long escalates to the
  high-priority sound;
* a high withdrawal risk shortens the medium pause and the escalation time;
* a pause never lasts longer than its nominal length from "now": after the
  clock moves (set by a host, or a stored pause read back at boot), `cap`
  shortens every pause that would, so a clock set ahead and back cannot
  buy a silence.
Acknowledgements are {condition id: paused until (s), or DONE}.
"""

from pumpwatch.conditions import HIGH, LOW, MEDIUM, PRIORITY, kind_of

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


class AlarmPolicy:
    def __init__(self, high_risk=False):
        self.medium_pause = MEDIUM_PAUSE_HIGH_RISK_S if high_risk else MEDIUM_PAUSE_S
        self.escalate_after = ESCALATE_AFTER_HIGH_RISK_S if high_risk else ESCALATE_AFTER_S

    def sounding(self, active, acks, now):
        """(highest priority sounding or 0, [(id, priority)], next time this
        answer changes by itself or None).  `active` is [(id, since)]."""
        found = []
        top = 0
        next_change = None
        for cid, since in active:
            base = PRIORITY[kind_of(cid)]
            until = acks.get(cid)
            if until == DONE:
                continue
            if until is not None and until > now:
                next_change = until if next_change is None else min(next_change, until)
                continue
            resumed = since if until is None or until < since else until
            priority = base
            if base == MEDIUM:
                escalate_at = resumed + self.escalate_after
                if now >= escalate_at:
                    priority = HIGH
                elif next_change is None or escalate_at < next_change:
                    next_change = escalate_at
            found.append((cid, priority))
            if priority > top:
                top = priority
        return top, found, next_change

    def pause_s(self, cid):
        """How long a press pauses condition `cid` (0: a reminder is done, not paused)."""
        base = PRIORITY[kind_of(cid)]
        if base == LOW:
            return 0
        return self.medium_pause if base == MEDIUM else HIGH_PAUSE_S

    def acknowledge(self, sounding, acks, now):
        """New acknowledgements after a short press silences `sounding`."""
        result = dict(acks)
        for cid, _ in sounding:
            pause = self.pause_s(cid)
            result[cid] = now + pause if pause else DONE
        return result

    def cap(self, acks, now):
        """The acknowledgements with no pause ending later than its length from `now`."""
        result = {}
        for cid in acks:
            until = acks[cid]
            if until != DONE and kind_of(cid) in PRIORITY:
                until = min(until, now + self.pause_s(cid))
            result[cid] = until
        return result
