"""The unit's clock, as a nurse checks and sets it.

Owns `time show`, `time set` and the clock check every sync does first: a
clock more than a minute off is said and set; one more than 3 h off, or
lost, is set only with the nurse's consent (asked at a terminal, or
`--confirm clock-jump`), because a wrong computer clock would move every
alarm.  The message names the unit's clock as the thing to fix, never the
settings file.  The unit enforces the same 3 h rule itself (clock.py).
"""

from __future__ import annotations

import sys
import time

from pumpwatch import timecalc

from pumpsync.session import CommandFailed, Session, ask, print_json

MAX_CLOCK_JUMP_S = 3 * 3600  # the unit refuses a bigger jump unless the nurse confirms it (clock.py)
DRIFT_WARNING_S = 60
CONFIRM_CLOCK_JUMP = "clock-jump"


def describe_offset(seconds: float) -> str:
    """'3.0 days', '2 h 5 min', '4 min 10 s', '12 s'."""
    seconds = abs(seconds)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{seconds:.0f} s"


def drift_words(drift_s: float) -> str:
    return f"{describe_offset(drift_s)} {'ahead of' if drift_s > 0 else 'behind'} this computer's"


def check_before_writing(session: Session, host_now: int, confirmed, assume_yes: bool, kind: str,
                         refill_at: int | None = None) -> bool:
    """The clock check before anything is written: True when the nurse allowed a jump
    (the unit needs `jump_ok` then).  Refuses (CommandFailed, recorded) without consent."""
    if CONFIRM_CLOCK_JUMP in (confirmed or ()):
        return True
    unit_time = session.hello.get("time")
    problem = None
    if isinstance(unit_time, (int, float)) and abs(host_now - unit_time) > MAX_CLOCK_JUMP_S:
        zone = session.zone()
        problem = (f"the unit's clock is {drift_words(unit_time - host_now)} (unit {zone.local(unit_time)}, "
                   f"this computer {zone.local(host_now)})")
    elif refill_at is not None and host_now < refill_at:
        zone = session.zone()
        problem = (f"this computer's clock ({zone.local(host_now)}) is before the refill the unit has on record "
                   f"({zone.local(refill_at)})")
    if problem is None:
        return False
    if not assume_yes and sys.stdin.isatty():
        print(problem)
        if ask("Is this computer's clock right, and may the unit's clock be set to it now?", False):
            return True
    session.history.record(kind, session.unit_id, "refused", reason="unit clock off", unit_time=unit_time,
                           host_time=host_now)
    hint = (f"if this computer's clock is right, set the unit's: pumpsync time set --confirm {CONFIRM_CLOCK_JUMP}"
            + (" (or sync with --confirm clock-jump)" if kind == "sync" else ""))
    raise CommandFailed(f"{problem}: nothing was written; {hint}", bad_input=True)


def set_clock(session: Session, host_now: int, jump_ok: bool) -> dict:
    return session.client.write("time_set", {"epoch": host_now, "jump_ok": jump_ok})


def cmd_time_set(args) -> int:
    session = Session(args, need_key=True)
    try:
        _, settings, _ = session.unit_settings()
        host_now = int(time.time())
        jump_ok = check_before_writing(session, host_now, getattr(args, "confirm", None), False, "time_set",
                                       settings.refill_at if settings is not None else None)
        result = set_clock(session, host_now, jump_ok)
        session.history.record("time_set", session.unit_id, "ok", was=result["was"], time=result["time"],
                               jump_ok=jump_ok)
        zone = session.zone()
    finally:
        session.close()
    was = "unknown: it had lost the time" if result["was"] is None else drift_words(result["was"] - result["time"])
    print(f"unit {session.unit_id} clock set to {zone.local_seconds(result['time'])} (it was {was})")
    return 0


def cmd_time_show(args) -> int:
    session = Session(args)
    try:
        unit_time = session.client.call("hello").get("time")
        host_now = time.time()
        zone = session.zone()
    finally:
        session.close()
    drift = None if not isinstance(unit_time, (int, float)) else round(unit_time - host_now, 1)
    if args.json:
        print_json({"unit_id": session.unit_id, "unit": timecalc.format_iso_or_none(unit_time),
                    "host": timecalc.format_iso(int(host_now)), "drift_s": drift})
        return 0
    print(f"unit {session.unit_id}  {zone.local_seconds(unit_time, 'unknown (the clock was lost)')}")
    print(f"this computer  {zone.local_seconds(host_now)}")
    if drift is None:
        print("the unit has lost the time: run pumpsync time set")
    elif abs(drift) > DRIFT_WARNING_S:
        print(f"WARNING the unit's clock is {drift_words(drift)}: run pumpsync time set")
    else:
        print(f"they agree to {describe_offset(drift)}")
    return 0
