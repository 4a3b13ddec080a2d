"""Refilled somewhere else: the patient's way out of alarms the unit can no longer know are true.

Owns the refilled-elsewhere period (docs/alarms.md).  A patient refilled at an
emergency department or another clinic, whose unit was not synced, tells the
unit with three short presses and then, after its "refilled elsewhere?"
chirp, a hold of 5 s (longer than the 2 s status readout, so the patient's
habit cannot confirm it; a shorter press cancels the question).  For at most 7 days the refill
conditions (reminders, low reservoir, overdue, empty) are replaced by one
technical reminder, "get the unit synced", sounded once a day inside the day
window from the next morning on; it is logged.  Then the alarms come back.  New settings from a sync
end it (bootsettings.apply).  One period per set of settings: it cannot be renewed
(the kept period, over or not, refuses a second).  The period is kept in the
state record (Unit.save_state) and never outlasts 7 days from "now", however
the clock moves.
"""

from pumpwatch.conditions import REFILL_CONDITIONS, SYNC_NEEDED, kind_of

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

LASTS_S = const(7 * 86400)
PRESSES = const(3)  # short presses in a row that ask "refilled elsewhere?"
PRESSES_WITHIN_MS = const(4000)
CONFIRM_WINDOW_MS = const(30000)
CONFIRM_HOLD_MS = const(5000)  # the confirming press: held this long (the readout is a 2 s press)


def count_short(unit, pressed_at):
    """Three short presses in a row ask "refilled elsewhere?" (a chirp, then a long press confirms)."""
    hal = unit.hal
    began = unit.uptime - hal.ticks_diff(hal.ticks_ms(), pressed_at)
    count, first = unit.shorts if unit.shorts is not None else (0, began)
    if began - first > PRESSES_WITHIN_MS:
        count, first = 0, began
    count += 1
    unit.shorts = (count, first)
    if count < PRESSES:
        return
    unit.shorts = None
    if unit.plan is None or unit.now_s() is None or unit.request is not None:
        return  # nothing to stand in for, or something else waits for a press
    if unit.elsewhere is not None:
        unit.log_noise({"e": "elsewhere_refused"})  # once per set of settings: a sync is due
        return
    from pumpwatch import button, sounds
    unit.request = button.Request(unit, sounds.ELSEWHERE_CHIRP.length_ms, CONFIRM_WINDOW_MS, "elsewhere")
    unit.play_once(sounds.ELSEWHERE_CHIRP)
    unit.log_noise({"e": "elsewhere_asked"})


def in_force(unit, now):
    period = unit.elsewhere
    return period is not None and now is not None and period[0] <= now < period[1]


def replace(unit, found, now):
    """The active conditions with the refill ones replaced by "get the unit synced"."""
    if not in_force(unit, now):
        return found
    kept = [(cid, since) for cid, since in found if kind_of(cid) not in REFILL_CONDITIONS]
    kept.append((SYNC_NEEDED, unit.elsewhere[0]))
    return kept


def start(unit, now):
    """The patient confirmed a refill elsewhere at `now` (wall seconds)."""
    unit.elsewhere = (now, now + LASTS_S)
    # the patient is holding the unit and knows: the first "get the unit synced" is tomorrow morning
    unit.acks[SYNC_NEEDED] = unit.policy.paused_until(SYNC_NEEDED, now)
    unit.save_state()
    unit.log_event({"e": "refilled_elsewhere", "until": now + LASTS_S})


def cap(period, now):
    """A kept period never reaching further than 7 days from `now`; one that is over is
    kept too (it refuses a second for the same settings)."""
    if period is None or now is None:
        return period
    since, until = period
    if until <= now:
        return (since, until)
    return (min(since, now), min(until, now + LASTS_S))
