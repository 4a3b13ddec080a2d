"""Setting the unit's clock without opening a way to silence it.

Owns the rules for `time_set` (docs/security.md): a jump of more than
MAX_JUMP_S from a known clock, or to before the stored refill, is refused
unless the host says the nurse confirmed it; every change is logged with the
time before and after; afterwards no pause lasts longer than its nominal
length from the new "now" (a clock set a year ahead, a press, and the right
time again cannot buy a year of silence), and faults raised while the time
was unknown keep their age.
"""

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
    if not jump_ok:
        if before is not None and abs(epoch - before) > MAX_JUMP_S:
            raise ValueError("epoch: %+d s from the unit's clock (more than %d h): confirm the jump"
                             % (epoch - before, MAX_JUMP_S // 3600))
        if unit.plan is not None and epoch < unit.plan.refill_at:
            raise ValueError("epoch: before the refill the unit's settings record: confirm the jump")
    uptime_s = unit.uptime // 1000
    unit.hal.set_wall_time(epoch)
    if before is None:
        unit.faults.pop(TIME_UNKNOWN, None)
        for fault in unit.faults:  # their start was uptime seconds: now wall seconds of the same instant
            unit.faults[fault] = epoch - (uptime_s - unit.faults[fault])
        unit.volatile_acks = {}
    capped = unit.policy.cap(unit.acks, epoch)
    if capped != unit.acks:
        unit.acks = capped
        unit.save_state()
    unit.log_event({"e": "time_set", "from": before, "to": epoch, "jump_ok": jump_ok})
    return {"time": epoch, "was": before}
