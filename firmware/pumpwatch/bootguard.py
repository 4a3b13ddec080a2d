"""Crash-loop guard: decides at boot between the normal unit and safe mode.

Owns the count of consecutive watchdog resets (data/boot.rec).  Each boot
caused by the watchdog adds one; a power-on boot or ten healthy minutes
clear it.  Three in a row and main.py starts safe mode instead of the unit,
so a firmware fault can never leave the patient with a silent unit.
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


def watchdog_resets(hal):
    from pumpwatch import readback

    try:
        value = readback.read_record(_path(hal))
    except readback.CorruptRecord:
        return 0
    return value.get("watchdog_resets", 0) if isinstance(value, dict) else 0


def _store(hal, count):
    try:
        import os
        os.mkdir(hal.flash_root() + "data")
    except OSError:
        pass
    records.write_record(_path(hal), {"watchdog_resets": count})


def enter_safe_mode(hal):
    """Count this boot; True when the unit keeps crashing and must run safe mode."""
    count = watchdog_resets(hal)
    cause = hal.reset_cause()
    if cause == "watchdog":
        count += 1
        _store(hal, count)
    elif cause == "power_on" and count:
        count = 0
        _store(hal, count)
    return count >= SAFE_MODE_AFTER


def mark_healthy(hal):
    """Ten healthy minutes after a watchdog reset: the loop is broken."""
    _store(hal, 0)
