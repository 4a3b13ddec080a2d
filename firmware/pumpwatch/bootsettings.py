"""The settings phase of a boot: which settings the unit runs, as a plan.

Owns, at every boot and before the unit's own code is loaded (entry.py; on a
small heap a weekly program's check does not fit beside it): moving a log
kept by older firmware into today's files, applying the settings a sync
staged (writes.settings_put) or a settings file placed on the flash (e.g.
with mpremote), loading the stored settings record, and turning the settings
into the unit's plan (plan.py).  What it finds is a `Prepared`, which the
unit takes over in its first step (startup.py).

Settings are untrusted input even from a paired computer: anything that
goes wrong while checking them (a bug, MemoryError, an overflow) means "the
settings are rejected, the old ones stay in force", never a crash loop.
"""

import json
import os

from pumpwatch import records, unload
from pumpwatch.conditions import NO_SETTINGS, SETTINGS_CORRUPT, SETTINGS_REJECTED
from pumpwatch.unitfiles import UnitFiles

# The check of a settings file makes thousands of short-lived objects (the parsed
# document, the checker's numbers) between the long-lived ones (module code, the
# plan).  Left to itself the collector runs only when the heap is full, by which
# time the garbage has pushed the live objects apart and no stretch is left for a
# bigger block (a function's frame, a module's code): the check then failed at
# 144 KB one day and passed at 112 KB the next, by layout luck.  Collecting every
# few KB during this phase keeps the live objects packed at the bottom.
_GC_EVERY_BYTES = 4096

PLAN_MODULES = ("pumpwatch.settings", "pumpwatch.settings_therapy", "pumpwatch.checker", "pumpwatch.prescription",
                "pumpwatch.forecast", "pumpwatch.therapy", "pumpwatch.clinical", "pumpwatch.schedule",
                "pumpwatch.timecalc", "pumpwatch.plan")  # needed to make a plan, not to keep it
MODULES = PLAN_MODULES + ("pumpwatch.readback", "pumpwatch.plancache", "pumpwatch.bootsettings")
_LEGACY_LOG = ("events.log.3", "events.log.2", "events.log.1", "events.log")  # oldest first


class Prepared(UnitFiles):
    """What the settings phase of a boot found, for the unit to take over."""

    def __init__(self, hal):
        UnitFiles.__init__(self, hal)
        self.plan = None
        self.settings_crc = None
        self.acks = {}
        self.faults = {}
        self.last_put = None


def prepare(hal):
    """The settings phase of a boot, with only the flash, the logs and the checker in RAM."""
    hal.watchdog_feed()
    _collect_every(_GC_EVERY_BYTES)
    found = Prepared(hal)
    try:
        os.mkdir(found.data_dir)
    except OSError:
        pass
    _move_legacy_log(found)
    load_settings(found, found.now_s())
    _collect_every(-1)  # back to collecting when the heap is full
    hal.watchdog_feed()
    return found


def _collect_every(count):
    import gc
    threshold = getattr(gc, "threshold", None)  # MicroPython's; CPython's collector is another design
    if threshold is not None:
        threshold(count)


def load_settings(unit, now):
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
    text = stored["text"]
    del stored
    from pumpwatch import plancache
    unit.plan = plancache.load(unit.plan_path, records.crc_of(text))
    if unit.plan is not None:  # made when these settings were accepted, by this code: no checker needed
        unit.settings_crc = records.crc_of(text)
        return
    errors = use(unit, text, None)
    if errors:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": errors[:3]})
    else:
        _keep_plan(unit)


def _keep_plan(unit):
    """The plan for the next boots; without it they check the settings again."""
    from pumpwatch import plancache
    try:
        plancache.save(unit.plan_path, unit.plan, unit.settings_crc)
    except Exception:  # noqa: BLE001 - flash full, out of memory: the settings are in force all the same
        records.remove(unit.plan_path)


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
    return []


def apply(unit, text, now, placed=False):
    """New settings (a placed file or a sync): check, store verbatim, use.
    Returns the errors; nothing changes when there are any."""
    before = (unit.plan, unit.settings_crc)
    errors = use(unit, text, now)
    if errors:
        return errors
    if unit.plan.hearing_impaired and not unit.hal.has_vibration():
        unit.plan, unit.settings_crc = before
        return ["patient.hearing_impaired: this unit has no vibration motor (board %s): fit one and set "
                "vibration_pin in its board.json, or use a unit that has one" % unit.hal.board]
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
        unit.plan, unit.settings_crc = before
        raise
    if inbox is not None and not placed:
        records.remove(unit.inbox_path)
    _keep_plan(unit)
    unit.acks = {}
    records.remove(unit.state_path)  # new settings start with no pauses; a sync ends a refill elsewhere
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
