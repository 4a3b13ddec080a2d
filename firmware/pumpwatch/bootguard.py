"""Crash-loop guard: decides at boot between the normal unit and safe mode.

Owns data/boot.rec: {"crashes": n, "expect": why or null}.  A boot after an
unexpected watchdog reset, or after the unit reset itself because a step
raised, counts one crash; a power-on boot or ten healthy minutes clear the
count.  Three in a row and main.py starts safe mode instead of the unit, so
a firmware fault can never leave the patient with a silent unit.

Resets the unit means to do (the end of a maintenance window, a factory
reset, `machine.reset()` after a deploy) are written down *before* they
happen and never count: the RP2040 reports machine.reset() as a watchdog
reset (micropython#19409), and a maintenance window ends by the watchdog.
"""

from pumpwatch import records

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

SAFE_MODE_AFTER = const(3)
HEALTHY_AFTER_MS = const(10 * 60 * 1000)

def _path(hal):
    return hal.flash_root() + "data/boot.rec"


def _read(hal):
    from pumpwatch import readback

    try:
        value = readback.read_record(_path(hal))
    except readback.CorruptRecord:
        return {"crashes": 0, "expect": None}
    if not isinstance(value, dict):
        return {"crashes": 0, "expect": None}
    if "watchdog_resets" in value:  # firmware 0.1's record
        value = {"crashes": value["watchdog_resets"], "expect": None}
    return value


def _store(hal, crashes, expect=None):
    try:
        import os
        os.mkdir(hal.flash_root() + "data")
    except OSError:
        pass
    records.try_write_record(_path(hal), {"crashes": crashes, "expect": expect})  # full flash: not counted


def crash_count(hal):
    return _read(hal).get("crashes", 0)


def enter_safe_mode(hal):
    """Count this boot; True when the unit keeps crashing and must run safe mode."""
    value = _read(hal)
    count = value.get("crashes", 0)
    expected = value.get("expect")
    cause = hal.reset_cause()
    if expected is not None:
        _store(hal, count)  # an announced reset: not a crash
    elif cause == "watchdog":
        count += 1
        _store(hal, count)
    elif cause == "power_on" and count:
        count = 0
        _store(hal, count)
    return count >= SAFE_MODE_AFTER


def expect_reset(hal, why):
    """Write down that the next reset is intended (call just before it)."""
    value = _read(hal)
    _store(hal, value.get("crashes", 0), why)


def record_crash(hal, why):
    """The unit is about to reset itself because a step raised: one crash."""
    value = _read(hal)
    _store(hal, value.get("crashes", 0) + 1, "crash: " + why)


def mark_healthy(hal):
    """Ten healthy minutes after a crash: the loop is broken."""
    _store(hal, 0)
