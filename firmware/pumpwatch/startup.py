"""The unit's boot-time work: its settings and its saved alarm state.

Owns loading the stored settings record, importing a settings file placed on
the flash (e.g. with mpremote), turning the settings into the unit's plan,
and loading the acknowledgements saved before the last power loss.  Run once
at boot by Unit; afterwards this module and the therapy modules it used are
dropped from RAM (`run` ends with that).
"""

import json
import sys

from pumpwatch import readback, records
from pumpwatch.alarm_policy import AlarmPolicy
from pumpwatch.conditions import NO_SETTINGS, SETTINGS_CORRUPT, SETTINGS_REJECTED, STORAGE_CORRUPT, Schedule

BOOT_ONLY_MODULES = ("pumpwatch.settings", "pumpwatch.forecast", "pumpwatch.schedule", "pumpwatch.timecalc",
                     "pumpwatch.plan", "pumpwatch.readback", "pumpwatch.bootguard", "pumpwatch.startup")


def run(unit, now):
    load_settings(unit, now)
    load_state(unit)
    unload(BOOT_ONLY_MODULES)


def load_settings(unit, now):
    stored = None
    try:
        stored = readback.read_record(unit.settings_path)
    except readback.CorruptRecord as exc:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": str(exc)})
    inbox = _read_text(unit.inbox_path)
    if inbox is not None and (stored is None or stored.get("crc") != records.crc_of(inbox)):
        errors = apply(unit, inbox, now)
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


def use(unit, text, now):
    """Make `text` the unit's therapy (in RAM); the errors if it is not valid."""
    from pumpwatch.plan import make_plan

    try:
        plan, errors = make_plan(json.loads(text), now)
    except ValueError:
        plan, errors = None, ["settings: not valid JSON"]
    if plan is None:
        return errors
    unit.plan = plan
    unit.settings_crc = records.crc_of(text)
    unit.policy = AlarmPolicy(plan.high_risk)
    unit.schedule = Schedule(plan.starts)
    return []


def apply(unit, text, now):
    """New settings (a placed file or a sync): check, store verbatim, use.
    Returns the errors; nothing changes when there are any."""
    errors = use(unit, text, now)
    if errors:
        return errors
    crc = unit.settings_crc
    records.write_record(unit.settings_path, {"text": text, "crc": crc})
    if _read_text(unit.inbox_path) not in (None, text):
        records.remove(unit.inbox_path)  # an older placed file must not come back at the next boot
    unit.acks = {}
    unit.faults.pop(NO_SETTINGS, None)
    unit.faults.pop(SETTINGS_CORRUPT, None)
    unit.faults.pop(SETTINGS_REJECTED, None)
    unit.log_event({"e": "settings", "refill_at": unit.plan.refill_at, "crc": crc})
    return []


def load_state(unit):
    try:
        state = readback.read_record(unit.state_path)
    except readback.CorruptRecord as exc:
        unit.faults[STORAGE_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": STORAGE_CORRUPT, "detail": str(exc)})
        state = None
    if state is not None and state.get("settings_crc") == unit.settings_crc:
        unit.acks = state.get("acks", {})


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def unload(names):
    """Drop modules so their bytecode can be freed; they are imported again when needed."""
    import pumpwatch
    for name in names:
        if name in sys.modules:
            del sys.modules[name]
        short = name.split(".")[1]
        if short in pumpwatch.__dict__:
            delattr(pumpwatch, short)
