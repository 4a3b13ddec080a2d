"""The unit's first step: watchdog, boot guard, and taking over its settings.

Owns what the first step does: the watchdog and the boot guard, the start-up
chirp, taking over what the boot's settings phase found (bootsettings.py:
it runs before the unit's code is loaded, or here for a unit built without
entry.py), and loading the acknowledgements saved before the last power
loss, capped to their nominal length from now.  Afterwards this module and
the modules the boot used are dropped from RAM (`unload`).
"""

from pumpwatch import VERSION, sounds, unload
from pumpwatch.alarm_policy import AlarmPolicy
from pumpwatch.conditions import SETTINGS_NEED_MOTOR, STORAGE_CORRUPT, TIME_UNKNOWN

BOOT_ONLY_MODULES = ("pumpwatch.readback", "pumpwatch.bootguard", "pumpwatch.startup")
WATCHDOG_MS = 8000


def boot(unit):
    from pumpwatch import bootguard

    hal = unit.hal
    hal.watchdog_start(WATCHDOG_MS)
    hal.set_interrupt_char(-1)  # stray bytes and Ctrl-C must not stop monitoring
    found = unit.prepared
    if found is None:
        from pumpwatch import bootsettings
        found = bootsettings.prepare(hal)
        unload(bootsettings.MODULES)
        del bootsettings
    unit.prepared = None
    unit.plan, unit.settings_crc, unit.last_put = found.plan, found.settings_crc, found.last_put
    if unit.plan is not None and unit.plan.hearing_impaired and not unit.motor:
        unit.faults[SETTINGS_NEED_MOTOR] = unit.since()  # e.g. redeployed with vibration_pin null
        unit.log_event({"e": "fault", "c": SETTINGS_NEED_MOTOR})
    if unit.plan is not None:
        from pumpwatch import daywindow
        unit.policy = AlarmPolicy(unit.plan.high_risk, daywindow.for_plan(unit.plan))
    if bootguard.crash_count(hal):
        unit.healthy_at = unit.uptime + bootguard.HEALTHY_AFTER_MS
    unit.play_once(sounds.BOOT_CHIRP)
    now = unit.now_s()
    if now is None:
        unit.faults[TIME_UNKNOWN] = unit.since()
        unit.time_floor = time_floor(unit) or 0
    for fault in found.faults:
        unit.faults[fault] = found.faults[fault]
    del found
    load_state(unit, now)
    unit.log_event({"e": "boot", "cause": hal.reset_cause(), "fw": VERSION, "board": hal.board})
    unload(BOOT_ONLY_MODULES)


def time_floor(unit):
    """An instant the clock is surely past while it is lost (the refill the settings record,
    or the last time either log wrote), so the refill alarms already due still sound as
    themselves, not only as "clock lost".  None without settings."""
    if unit.plan is None:
        return None
    floor = unit.plan.refill_at
    from pumpwatch import readback
    for log in (unit.log, unit.noise):
        files = log.files()
        if not files:
            continue
        try:
            with open(files[-1][1], "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - _TAIL_BYTES))
                tail = f.read(_TAIL_BYTES)
        except OSError:
            continue
        for line in tail.split(b"\n"):
            entry = readback.parse_line(line)  # the first, cut line fails its checksum
            t = entry.get("t") if isinstance(entry, dict) else None
            if isinstance(t, int) and not isinstance(t, bool) and t > floor:
                floor = t
    return floor


_TAIL_BYTES = 768


def load_state(unit, now):
    from pumpwatch import readback
    try:
        state = readback.read_record(unit.state_path)
    except readback.CorruptRecord as exc:
        unit.faults[STORAGE_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": STORAGE_CORRUPT, "detail": str(exc)})
        state = None
    if state is not None and state.get("settings_crc") == unit.settings_crc:
        acks = state.get("acks", {})
        # a pause never outlasts its nominal length from now (the clock may have moved)
        unit.acks = acks if now is None else unit.policy.cap(acks, now)
        period = state.get("elsewhere")
        if isinstance(period, list) and len(period) == 2:
            from pumpwatch import elsewhere
            unit.elsewhere = elsewhere.cap((period[0], period[1]), now)
