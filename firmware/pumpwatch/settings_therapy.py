"""The therapy section of a settings file: what the pump is programmed to give.

Owns checking and converting the program (the same flex steps every day, or
one list per weekday with "same_as"), the daily boluses, periodic boluses
(every N hours from a first instant), dated one-off events (bolus, stop,
resume, minimum rate) and the patient bolus (per-day limit and lockout).
Loaded for this section only (settings.check, plan.make_plan) and dropped after it (RAM).
"""

from pumpwatch.checker import describe
from pumpwatch.prescription import EVENT_BOLUS, EVENT_MINIMUM, EVENT_RESUME, EVENT_STOP, WEEKDAYS

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

MAX_STEPS = const(24)  # the every-day form (schema 1)
MAX_DAY_STEPS = const(13)  # a SynchroMed II flex day
MAX_BOLUSES = const(24)
MAX_PERIODIC = const(8)
MAX_EVENTS = const(32)
MAX_RATE_MCG_PER_DAY = const(50000)
MAX_BOLUS_MCG = const(5000)

FIELDS = {
    "therapy": (("steps", False), ("program", False), ("week", False), ("boluses", False),
                ("periodic_boluses", False), ("events", False), ("patient_bolus", False)),
    "program": (("steps", False), ("week", False)),
    "step": (("start", True), ("mcg_per_day", True)),
    "bolus": (("time", True), ("mcg", True)),
    "periodic": (("mcg", True), ("every_h", True), ("first", True)),
    "event": (("at", True), ("bolus_mcg", False), ("stop", False), ("resume", False), ("minimum_rate", False)),
    "patient_bolus": (("mcg", True), ("max_per_day", True), ("lockout_min", False)),
    "same_as": (("same_as", True),),
}
_EVENT_KINDS = (("bolus_mcg", EVENT_BOLUS), ("stop", EVENT_STOP), ("resume", EVENT_RESUME),
                ("minimum_rate", EVENT_MINIMUM))


def check(c, p, doc):
    c.fields.update(FIELDS)
    if c.section(doc, "therapy", "therapy") is None:
        return
    _check_program(c, p, doc)
    _check_boluses(c, p, doc)
    _check_periodic(c, p, doc)
    _check_events(c, p, doc)
    extra = doc.get("patient_bolus")
    if extra is not None and c.section(extra, "therapy.patient_bolus", "patient_bolus") is not None:
        p.patient_bolus_ng = c.number(extra, "therapy.patient_bolus", "mcg", 1000, above=0,
                                      maximum=MAX_BOLUS_MCG) or 0
        p.patient_bolus_max = c.integer(extra, "therapy.patient_bolus", "max_per_day", 0, 48) or 0
        if "lockout_min" in extra:
            p.lockout_min = c.integer(extra, "therapy.patient_bolus", "lockout_min", 1, 1440)


def _check_program(c, p, doc):
    forms = [name for name in ("steps", "program", "week") if name in doc]
    if len(forms) != 1:
        if forms:
            c.error("therapy", "give the program once: therapy.steps (every day), therapy.program or therapy.week")
        else:
            c.error("therapy.steps", "missing (or give therapy.program or therapy.week)")
        return
    path, program = "therapy", doc
    if forms[0] == "program":
        path, program = "therapy.program", doc["program"]
        if isinstance(program, list):
            p.steps = _steps(c, program, path, MAX_STEPS) or []
            return
        if c.section(program, path, "program") is None:
            return
        if len([n for n in ("steps", "week") if n in program]) != 1:
            c.error(path, "give either steps (every day) or week (one list per weekday)")
            return
    if "steps" in program:
        p.steps = _steps(c, c.array(program, path, "steps", MAX_STEPS), path + ".steps", MAX_STEPS) or []
    else:
        _check_week(c, p, program.get("week"), path + ".week")


def _steps(c, steps, path, most):
    if steps is None:
        return None
    if not isinstance(steps, list):
        c.error(path, "must be a list of steps, not %s" % describe(steps))
        return None
    if not steps:
        c.error(path, "needs at least one step")
        return None
    if len(steps) > most:
        c.error(path, "at most %d entries (got %d)" % (most, len(steps)))
        return None
    found = []
    previous = None
    for i, step in enumerate(steps):
        where = "%s[%d]" % (path, i)
        if c.section(step, where, "step") is None:
            continue
        start = c.time_of_day(step, where, "start")
        rate = c.number(step, where, "mcg_per_day", 1000, above=0, maximum=MAX_RATE_MCG_PER_DAY)
        if start is not None and previous is not None and start <= previous:
            c.error(where + ".start", '"%s" must be later than the step before it (steps in time order, '
                    "no duplicates)" % step["start"])
        if start is not None:
            previous = start
            if rate is not None:
                found.append((start, rate))
    return found if len(found) == len(steps) else None


def _check_week(c, p, week, path):
    if not isinstance(week, dict):
        c.error(path, "must be an object with mon, tue, wed, thu, fri, sat and sun, not %s" % describe(week))
        return
    for name in sorted(week):
        if name not in WEEKDAYS:
            c.error("%s.%s" % (path, name), "unknown field (days are mon, tue, wed, thu, fri, sat, sun)")
    days = []
    for name in WEEKDAYS:
        where = "%s.%s" % (path, name)
        value = week.get(name)
        if value is None:
            c.error(where, "missing")
            days.append(None)
        elif isinstance(value, dict):
            days.append(_same_as(c, week, value, where, name))
        else:
            days.append(_steps(c, value, where, MAX_DAY_STEPS))
    if None in days:
        return
    p.week = [d if isinstance(d, list) else None for d in days]
    for i, d in enumerate(days):  # resolve "same_as" (never a chain: checked above)
        if not isinstance(d, list):
            p.week[i] = p.week[WEEKDAYS.index(d)]
    p.steps = p.week[0]


def _same_as(c, week, value, where, name):
    if c.section(value, where, "same_as") is None:
        return None
    other = value.get("same_as")
    if other not in WEEKDAYS or other == name:
        c.error(where + ".same_as", "must name another day (mon ... sun), not %s" % describe(other))
        return None
    if not isinstance(week.get(other), list):
        c.error(where + ".same_as", '"%s" must itself list steps (no chains of same_as)' % other)
        return None
    return other


def _check_boluses(c, p, doc):
    boluses = c.array(doc, "therapy", "boluses", MAX_BOLUSES) or ()
    seen = {}
    for i, bolus in enumerate(boluses):
        path = "therapy.boluses[%d]" % i
        if c.section(bolus, path, "bolus") is None:
            continue
        time_s = c.time_of_day(bolus, path, "time")
        ng = c.number(bolus, path, "mcg", 1000, above=0, maximum=MAX_BOLUS_MCG)
        if time_s is not None and time_s in seen:
            c.error(path + ".time", '"%s" is also the time of therapy.boluses[%d]' % (bolus["time"], seen[time_s]))
        elif time_s is not None and ng is not None:
            seen[time_s] = i
            p.boluses.append((time_s, ng))


def _check_periodic(c, p, doc):
    for i, item in enumerate(c.array(doc, "therapy", "periodic_boluses", MAX_PERIODIC) or ()):
        path = "therapy.periodic_boluses[%d]" % i
        if c.section(item, path, "periodic") is None:
            continue
        ng = c.number(item, path, "mcg", 1000, above=0, maximum=MAX_BOLUS_MCG)
        every = c.number(item, path, "every_h", 3600, minimum=1, maximum=168)
        first = c.instant(item, path, "first")
        if ng is not None and every is not None and first is not None:
            p.periodic.append((first, every, ng))


def _check_events(c, p, doc):
    """Dated changes in time order; the pump's state (running, stopped, minimum rate) follows them."""
    state = EVENT_RESUME
    previous = None
    for i, item in enumerate(c.array(doc, "therapy", "events", MAX_EVENTS) or ()):
        path = "therapy.events[%d]" % i
        if c.section(item, path, "event") is None:
            continue
        kinds = [(name, kind) for name, kind in _EVENT_KINDS if name in item]
        at = c.instant(item, path, "at")
        if len(kinds) != 1:
            c.error(path, "give exactly one of bolus_mcg, stop, resume, minimum_rate")
            continue
        name, kind = kinds[0]
        ng = None
        if kind == EVENT_BOLUS:
            ng = c.number(item, path, "bolus_mcg", 1000, above=0, maximum=MAX_BOLUS_MCG)
        elif item[name] is not True:
            c.error("%s.%s" % (path, name), "must be true, not %s" % describe(item[name]))
            continue
        if at is None:
            continue
        if p.refill_at and at < p.refill_at:
            c.error(path + ".at", "is before refill.at: an event of the last refill interval? remove it")
        elif p.refill_at and at == p.refill_at and kind == EVENT_BOLUS:
            c.error(path + ".at", "a bolus at refill.at itself would not be counted: give the time it is "
                    "given, after the refill (e.g. a bridge bolus 10 minutes later)")
        if previous is not None and at < previous:
            c.error(path + ".at", "must not be before the event before it (events in time order)")
        previous = at
        if kind == EVENT_BOLUS and state == EVENT_STOP:
            c.error(path, "a bolus while the pump is stopped (resume it first)")
        elif kind == EVENT_MINIMUM and p.minimum_rate_ng is None:
            c.error(path + ".minimum_rate", "needs pump.minimum_rate_mcg_per_day")
        elif kind != EVENT_BOLUS and kind == state:
            c.error("%s.%s" % (path, name), "the pump is already %s" % _STATE_WORDS[kind])
        if kind != EVENT_BOLUS:
            state = kind
        if ng is not None or kind != EVENT_BOLUS:
            p.events.append((at, kind, ng or 0))


_STATE_WORDS = {EVENT_STOP: "stopped", EVENT_RESUME: "running its program", EVENT_MINIMUM: "at its minimum rate"}
