"""Setting the unit's clock without opening a way to silence it.

Owns the rules for `time_set` (docs/security.md): without the nurse's
confirmation (`jump_ok`) a change is refused when it moves a known clock by
more than MAX_JUMP_S, or by more than that in total since boot (small steps
add up), or to before the stored refill, or back past the start of an alarm
that sounds now (it would end EMPTY or low reservoir); every change is
logged with the time before and after; afterwards no pause lasts longer than its nominal
length from the new "now" (a clock set a year ahead, a press, and the right
time again cannot buy a year of silence), and faults raised while the time
was unknown keep their age.
"""

from pumpwatch import elsewhere
from pumpwatch.conditions import TIME_UNKNOWN

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

MAX_JUMP_S = const(3 * 3600)
EARLIEST = const(1600000000)


def set_time(unit, epoch, jump_ok):
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < EARLIEST or epoch > 4102444800:
        raise ValueError("epoch: UTC seconds since 1970 (2020 to 2100)")
    if not isinstance(jump_ok, bool):
        raise ValueError("jump_ok: true or false")
    before = unit.now_s()
    if not jump_ok and before is not None:
        _refuse_unconfirmed(unit, before, epoch)
    if not jump_ok and unit.plan is not None and epoch < unit.plan.refill_at:
        raise ValueError("epoch: before the refill the unit's settings record: confirm the jump")
    uptime_s = unit.uptime // 1000
    unit.hal.set_wall_time(epoch)
    if before is None:
        unit.faults.pop(TIME_UNKNOWN, None)
        for fault in unit.faults:  # their start was uptime seconds: now wall seconds of the same instant
            unit.faults[fault] = epoch - (uptime_s - unit.faults[fault])
        unit.volatile_acks = {}
    capped = unit.policy.cap(unit.acks, epoch)
    period = elsewhere.cap(unit.elsewhere, epoch)
    if capped != unit.acks or period != unit.elsewhere:
        unit.acks = capped
        unit.elsewhere = period
        unit.save_state()
    unit.log_event({"e": "time_set", "from": before, "to": epoch, "jump_ok": jump_ok})
    unit.clock_shift_s = 0 if jump_ok else unit.clock_shift_s + abs(epoch - before if before is not None else 0)
    return {"time": epoch, "was": before}


def _refuse_unconfirmed(unit, before, epoch):
    if abs(epoch - before) > MAX_JUMP_S:
        raise ValueError("epoch: %+d s from the unit's clock (more than %d h): confirm the jump"
                         % (epoch - before, MAX_JUMP_S // 3600))
    if unit.clock_shift_s + abs(epoch - before) > MAX_JUMP_S:
        raise ValueError("epoch: the clock has already been moved %d s since it was last confirmed: "
                         "confirm the jump" % unit.clock_shift_s)
    if epoch < before and unit.plan is not None:
        for cid, since in unit.plan.schedule.active(before):
            if since > epoch and unit.policy.pause_s(cid):  # an alarm, not a reminder
                raise ValueError("epoch: moving the clock back would end the %s alarm that sounds now: "
                                 "confirm the jump" % cid)
