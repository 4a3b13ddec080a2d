"""The unit's boot-time work: its settings and its saved alarm state.

Owns what the first step does: the watchdog and the boot guard, loading the
stored settings record, importing a settings file placed on the flash (e.g.
with mpremote), turning the settings into the unit's plan, loading the
acknowledgements saved before the last power loss, and moving a log kept by
older firmware into today's files.  Afterwards this module and the therapy
modules it used are dropped from RAM (`unload`).

Settings are untrusted input even from a paired computer: anything that
goes wrong while checking them (a bug, MemoryError, an overflow) means "the
settings are rejected, the old ones stay in force", never a crash loop.
"""

import json
import os

from pumpwatch import VERSION, records, release_reserve, sounds, unload
from pumpwatch.alarm_policy import AlarmPolicy
from pumpwatch.conditions import NO_SETTINGS, SETTINGS_CORRUPT, SETTINGS_REJECTED, STORAGE_CORRUPT, TIME_UNKNOWN

PLAN_MODULES = ("pumpwatch.settings", "pumpwatch.settings_therapy", "pumpwatch.checker", "pumpwatch.prescription",
                "pumpwatch.forecast", "pumpwatch.therapy", "pumpwatch.clinical", "pumpwatch.schedule",
                "pumpwatch.timecalc", "pumpwatch.plan")  # needed to make a plan, not to keep it
BOOT_ONLY_MODULES = PLAN_MODULES + ("pumpwatch.readback", "pumpwatch.bootguard", "pumpwatch.startup")
WATCHDOG_MS = 8000
_LEGACY_LOG = ("events.log.3", "events.log.2", "events.log.1", "events.log")  # oldest first


def boot(unit):
    from pumpwatch import bootguard

    hal = unit.hal
    hal.watchdog_start(WATCHDOG_MS)
    hal.set_interrupt_char(-1)  # stray bytes and Ctrl-C must not stop monitoring
    try:
        os.mkdir(unit.data_dir)
    except OSError:
        pass
    _move_legacy_log(unit)
    if bootguard.crash_count(hal):
        unit.healthy_at = unit.uptime + bootguard.HEALTHY_AFTER_MS
    unit.play_once(sounds.BOOT_CHIRP)
    now = unit.now_s()
    if now is None:
        unit.faults[TIME_UNKNOWN] = unit.since()
    load_settings(unit, now)
    load_state(unit, now)
    unit.log_event({"e": "boot", "cause": hal.reset_cause(), "fw": VERSION, "board": hal.board})
    unload(BOOT_ONLY_MODULES)


def load_settings(unit, now):
    release_reserve()  # one free stretch of RAM for the checker (pumpwatch/__init__.py)
    if apply_staged(unit, now):  # before the stored record is read: RAM for the new check
        return
    from pumpwatch import readback  # boot only: a sync's apply() does without it (RAM)
    stored = None
    try:
        stored = readback.read_record(unit.settings_path)
    except readback.CorruptRecord as exc:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": str(exc)})
    inbox = _read_text(unit.inbox_path)
    if inbox is not None and not _already_taken(stored, records.crc_of(inbox)):
        errors = apply(unit, inbox, now, placed=True)
        if errors:
            unit.faults[SETTINGS_REJECTED] = unit.since()
            unit.log_event({"e": "fault", "c": SETTINGS_REJECTED, "detail": errors[:3]})
        else:
            return
    if stored is None:
        if SETTINGS_CORRUPT not in unit.faults:
            unit.faults[NO_SETTINGS] = unit.since()
        return
    errors = use(unit, stored["text"], None)
    if errors:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": errors[:3]})


def _already_taken(stored, inbox_crc):
    """The placed file is the stored settings, or one they replaced: never apply it again."""
    return stored is not None and inbox_crc in (stored.get("crc"), stored.get("placed_crc"))


def use(unit, text, now):
    """Make `text` the unit's therapy (in RAM); the errors if it is not valid."""
    from pumpwatch.plan import make_plan

    try:
        plan, errors = make_plan(json.loads(text), now, consume=True)
    except ValueError:
        plan, errors = None, ["settings: not valid JSON"]
    except Exception as exc:  # noqa: BLE001 - settings must never crash-loop the unit
        plan, errors = None, ["settings: could not be checked (%s)" % type(exc).__name__]
    if plan is None:
        return errors
    unit.plan = plan
    unit.settings_crc = records.crc_of(text)
    unit.policy = AlarmPolicy(plan.high_risk)
    return []


def apply(unit, text, now, placed=False):
    """New settings (a placed file or a sync): check, store verbatim, use.
    Returns the errors; nothing changes when there are any."""
    release_reserve()
    before = (unit.plan, unit.settings_crc, unit.policy)
    errors = use(unit, text, now)
    if errors:
        return errors
    unload(PLAN_MODULES)  # the plan is made: their RAM is the record's to write
    crc = unit.settings_crc
    inbox = _read_text(unit.inbox_path)
    record = {"text": text, "crc": crc}
    if inbox is not None:
        # The record says which placed file it supersedes, so a power cut before the
        # file is removed can never bring older settings back at the next boot.
        record["placed_crc"] = records.crc_of(inbox)
    try:
        records.write_record(unit.settings_path, record)
    except Exception:  # the new settings are not stored: the old stay in force
        unit.plan, unit.settings_crc, unit.policy = before
        raise
    if inbox is not None and not placed:
        records.remove(unit.inbox_path)
    unit.acks = {}
    unit.faults.pop(NO_SETTINGS, None)
    unit.faults.pop(SETTINGS_CORRUPT, None)
    unit.faults.pop(SETTINGS_REJECTED, None)
    entry = {"e": "settings", "refill_at": unit.plan.refill_at, "crc": crc}
    if unit.plan.confirmed:
        entry["confirmed"] = unit.plan.confirmed  # e.g. programmer-mismatch: evidence of the override
    unit.log_event(entry)
    return []


def apply_staged(unit, now):
    """Settings a sync left before restarting (writes.settings_put): apply them on this
    fresh heap and keep the outcome for the host's settings_result.  True when they are
    in force; on any error the old settings stay (the caller loads them).  Pieces of a
    sync that never finished (no staged record) are removed.  A power cut after the
    settings were stored but before the staged copy was removed applies them again."""
    from pumpwatch import readback
    try:
        staged = readback.read_record(unit.staged_path)
    except readback.CorruptRecord:  # torn by a power cut while it was written: the sync failed
        staged = None
    if staged is None:
        records.remove(unit.staged_path)
        records.remove(unit.staged_text_path)
        return False
    crc = staged.get("crc")
    text = _read_text(unit.staged_text_path)
    if text is None or records.crc_of(text) != crc:
        errors = ["settings: the copy the sync left is damaged: sync again"]
    else:
        try:
            errors = apply(unit, text, now)
        except Exception as exc:  # noqa: BLE001 - storing failed (flash, memory): report, never crash
            errors = ["settings: could not be stored (%s)" % type(exc).__name__]
    del text
    records.remove(unit.staged_path)
    records.remove(unit.staged_text_path)
    unit.last_put = {"crc": crc, "errors": errors[:8],
                     "refill_due_at": None if errors else unit.plan.refill_due_at}
    return not errors


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


def _move_legacy_log(unit):
    """Firmware 0.1 kept events.log, .1, .2, .3 (renamed at each rotation)."""
    for name in _LEGACY_LOG:
        path = unit.data_dir + "/" + name
        if records.exists(path):
            numbers = [n for n, _ in unit.log.files()]
            target = unit.log.path(numbers[-1] + 1 if numbers else 1)
            os.rename(path, target)
            unit.log.numbers = None


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
