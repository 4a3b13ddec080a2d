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
                     "pumpwatch.plan", "pumpwatch.readback", "pumpwatch.startup")


def run(unit, now):
    load_settings(unit, now)
    load_state(unit)
    unload(BOOT_ONLY_MODULES)


def load_settings(unit, now):
    from pumpwatch.plan import make_plan

    stored = None
    try:
        stored = readback.read_record(unit.settings_path)
    except readback.CorruptRecord as exc:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": str(exc)})
    inbox = _read_text(unit.inbox_path)
    if inbox is not None:
        crc = records.crc_of(inbox)
        if stored is None or stored.get("source_crc") != crc:
            stored = _import(unit, inbox, crc, now, make_plan) or stored
    if stored is None:
        if SETTINGS_CORRUPT not in unit.faults:
            unit.faults[NO_SETTINGS] = unit.since()
        return
    plan, errors = make_plan(stored["doc"])
    if plan is None:
        unit.faults[SETTINGS_CORRUPT] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_CORRUPT, "detail": errors[:3]})
        return
    unit.plan = plan
    unit.settings_crc = stored["source_crc"]
    unit.policy = AlarmPolicy(plan.high_risk)
    unit.schedule = Schedule(plan.starts)


def _import(unit, text, crc, now, make_plan):
    """A new settings file on the flash: check it, keep it if good."""
    try:
        doc = json.loads(text)
        plan, errors = make_plan(doc, now)
    except ValueError:
        plan, errors = None, ["settings.json: not valid JSON"]
    if plan is None:
        unit.faults[SETTINGS_REJECTED] = unit.since()
        unit.log_event({"e": "fault", "c": SETTINGS_REJECTED, "detail": errors[:3]})
        return None
    stored = {"doc": doc, "source_crc": crc}
    records.write_record(unit.settings_path, stored)
    unit.log_event({"e": "settings", "refill_at": plan.refill_at, "crc": crc})
    return stored


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
