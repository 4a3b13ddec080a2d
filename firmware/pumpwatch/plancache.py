"""The plan of the stored settings, kept on the flash so that a boot needs no checker.

Owns `data/plan.rec`: the plan (conditions.Plan: plain integers) made when
the settings were accepted, with what it was made from: the settings' CRC
and a CRC of the code that makes plans (the plan modules' files, so a
firmware update that changes a rule makes the plan again, version number or
not).  A boot that finds a matching plan uses it; otherwise it checks the
stored settings again (bootsettings.py) and keeps the new plan.  Why: the
check of a weekly program needs most of a small heap, and a unit that
restarts at 3 a.m. (watchdog, battery) must come back monitoring, not depend
on finding that RAM again.
"""

from pumpwatch import records
from pumpwatch.conditions import Plan

FORMAT = 2  # 2: day window, clock, urgent_from, implant ERI, hearing impairment
# Files whose code decides a plan (bootsettings.PLAN_MODULES and the rules they share).
_CODE = ("settings", "settings_therapy", "checker", "prescription", "forecast", "therapy", "clinical",
         "schedule", "localclock", "daywindow", "timecalc", "plan", "conditions", "plancache")


def code_crc():
    """CRC-32 (hex) of the plan-making code as installed (.mpy or .py beside this file)."""
    import pumpwatch
    directory = pumpwatch.__file__.rsplit("/", 1)[0] + "/" if "/" in pumpwatch.__file__ else ""
    buffer = bytearray(256)
    crc = 0
    for name in _CODE:
        for suffix in (".mpy", ".py"):
            try:
                f = open(directory + name + suffix, "rb")
            except OSError:
                continue
            with f:
                while True:
                    n = f.readinto(buffer)
                    if not n:
                        break
                    crc = records.crc_continue(memoryview(buffer)[:n], crc)
            break
        crc = records.crc_continue(name.encode(), crc)
    return records.crc_text_of(crc)


def save(path, plan, settings_crc):
    records.write_record(path, {"v": FORMAT, "code": code_crc(), "settings_crc": settings_crc,
                                "starts": plan.starts, "refill_at": plan.refill_at,
                                "refill_due_at": plan.refill_due_at, "high_risk": plan.high_risk,
                                "confirmed": plan.confirmed, "day_window": list(plan.day_window),
                                "utc_offset_s": plan.utc_offset_s, "transitions": plan.transitions,
                                "urgent_from": plan.urgent_from, "implant_eri_at": plan.implant_eri_at,
                                "hearing_impaired": plan.hearing_impaired,
                                "clinical_due_at": plan.clinical_due_at})


def load(path, settings_crc):
    """The kept plan if it was made from these settings by this code, else None."""
    from pumpwatch import readback
    try:
        kept = readback.read_record(path)
    except readback.CorruptRecord:
        return None
    if (kept is None or kept.get("v") != FORMAT or kept.get("settings_crc") != settings_crc
            or kept.get("code") != code_crc()):
        return None
    try:
        starts = [(int(at), str(cid)) for at, cid in kept["starts"]]
        due = kept["refill_due_at"]
        plan = Plan(starts, int(kept["refill_at"]), None if due is None else int(due), _flag(kept["high_risk"]))
        plan.confirmed = [str(name) for name in kept.get("confirmed", [])]
        start, end = kept["day_window"]
        plan.day_window = (int(start), int(end))
        plan.utc_offset_s = int(kept["utc_offset_s"])
        plan.transitions = [(int(at), int(offset)) for at, offset in kept["transitions"]]
        plan.urgent_from = _int_or_none(kept["urgent_from"])
        plan.implant_eri_at = _int_or_none(kept["implant_eri_at"])
        plan.hearing_impaired = _flag(kept["hearing_impaired"])
        plan.clinical_due_at = _int_or_none(kept["clinical_due_at"])
        _check(plan)
    except (KeyError, TypeError, ValueError):
        return None
    return plan


def _flag(value):
    if value is not True and value is not False:
        raise ValueError("not a flag")
    return value


def _check(plan):
    """What settings.check made sure of, again: a record with the right CRCs may still
    have been written by something else (the CRC is not a MAC)."""
    from pumpwatch.conditions import PRIORITY, kind_of
    start, end = plan.day_window
    if not 0 <= start < end <= 86400 or end - start < 6 * 3600:
        raise ValueError("day window")
    for _, cid in plan.starts:
        if kind_of(cid) not in PRIORITY:
            raise ValueError("condition")


def _int_or_none(value):
    return None if value is None else int(value)
