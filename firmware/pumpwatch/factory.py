"""A factory reset: the unit forgets its patient and every computer it knew.

Owns what is erased (settings, the placed settings file, acknowledgements,
keys, the boot record, both event logs: the next patient must not read the
last one's) and what is kept (the unit's id, so the clinic recognises the
device).  Asked for by an authenticated `factory_reset` or by the two
10-second holds on the unit itself (button.py); the unit then resets.
"""

from pumpwatch import records

_ERASED = ("/settings.rec", "/plan.rec", "/staged.rec", "/staged.txt", "/state.rec", "/keys.rec", "/key.rec",
           "/boot.rec", "/events.log", "/events.log.1", "/events.log.2", "/events.log.3")


def erase(unit, by):
    for name in _ERASED:
        records.remove(unit.data_dir + name)
    records.remove(unit.inbox_path)
    unit.log.clear()
    unit.noise.clear()
    unit.log_event({"e": "factory_reset", "by": by})  # the first line of the new log
    unit.reset_requested = "factory reset"
