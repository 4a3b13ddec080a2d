"""Generated schema-2 settings documents, for the exact-forecast property tests.

One generator, two drivers: `DrawPick` (hypothesis, so failures shrink) and
`RandomPick` (a seeded `random.Random`, for one batch run under MicroPython).
Every number has at most 3 decimals, so the core's fixed-point conversion is
exact and the reference can read the same decimals as Fractions.

Forms (FEATURES), each switchable on its own:
  week           a weekly flex program (therapy.week or therapy.program.week)
  same_as        ... with some days {"same_as": <another day>}
  program_steps  therapy.program.steps (the every-day form inside "program")
  daily_bolus    therapy.boluses
  periodic       therapy.periodic_boluses
  event_bolus    therapy.events bolus_mcg
  stop_resume    therapy.events stop ... resume
  minimum_rate   therapy.events minimum_rate (+ pump.minimum_rate_mcg_per_day)
  patient_bolus  therapy.patient_bolus without lockout
  lockout        therapy.patient_bolus with lockout_min
  dst            clock.transitions
  warning        pump.warning_ml
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from fractions import Fraction

DAY = 86400
HORIZON_DAYS = 400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FEATURES = ("week", "same_as", "program_steps", "daily_bolus", "periodic", "event_bolus",
            "stop_resume", "minimum_rate", "patient_bolus", "lockout", "dst", "warning")
COMMERCIAL = (50, 500, 2000)
DILUTED = (Fraction(1000), Fraction(2505, 10), Fraction(1333333, 1000), Fraction(100))


class DrawPick:
    """Choices drawn through hypothesis (shrinkable)."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def int(self, lo, hi):
        return self.draw(self.st.integers(lo, hi))

    def choice(self, items):
        return self.draw(self.st.sampled_from(list(items)))

    def flag(self):
        return self.draw(self.st.booleans())

    def distinct(self, lo, hi, least, most):
        return sorted(self.draw(self.st.sets(self.st.integers(lo, hi), min_size=least, max_size=most)))


class RandomPick:
    """Choices from a seeded random.Random (reproducible batches)."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def int(self, lo, hi):
        return self.random.randint(lo, hi)

    def choice(self, items):
        return self.random.choice(list(items))

    def flag(self):
        return self.random.random() < 0.5

    def distinct(self, lo, hi, least, most):
        count = self.random.randint(least, min(most, hi - lo + 1))
        return sorted(self.random.sample(range(lo, hi + 1), count))


def number(value):
    """The JSON number a clinician would type for an exact decimal (<= 3 decimals)."""
    value = Fraction(value)
    assert (value * 1000).denominator == 1, value
    return int(value) if value.denominator == 1 else float(value)


def milli(pick, lo, hi):
    """A decimal in [lo/1000, hi/1000] with at most 3 decimals."""
    return Fraction(pick.int(lo, hi), 1000)


def iso(pick, epoch):
    """ISO text of an instant, in Z or (sometimes) at a random offset."""
    if pick.int(0, 3) == 0:
        minutes = pick.choice((-300, -210, 60, 120, 330, 345, 600))
        local = datetime.fromtimestamp(epoch, timezone(timedelta(minutes=minutes)))
        return local.isoformat()
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hhmm(seconds):
    return "%02d:%02d" % (seconds // 3600, seconds // 60 % 60)


def _rate(pick, dose):
    """A step rate around the average dose (a quarter of it .. 2.5 times it), > 0."""
    return number(max(Fraction(1, 1000), Fraction(int(dose * pick.int(250, 2500)), 1000)))


def _steps(pick, most, dose):
    starts = pick.distinct(0, 1439, 1, most) if pick.flag() else [60 * h for h in pick.distinct(0, 23, 1, most)]
    return [{"start": hhmm(m * 60), "mcg_per_day": _rate(pick, dose)} for m in starts]


def _week(pick, same_as, dose):
    week = {}
    explicit = []
    for name in WEEKDAYS:
        if same_as and explicit and pick.int(0, 2) > 0:
            week[name] = {"same_as": pick.choice(explicit)}
        else:
            week[name] = _steps(pick, 4, dose)
            explicit.append(name)
    if same_as and not any(isinstance(v, dict) for v in week.values()):
        week["sun"] = {"same_as": pick.choice(explicit[:-1] or explicit)}
    return week


def _dose(pick, dose, lo, hi):
    """A bolus of lo/1000 .. hi/1000 times `dose`, at least 0.001 mcg, 3 decimals."""
    return number(max(Fraction(1, 1000), Fraction(int(dose * pick.int(lo, hi)), 1000)))


def _anchors(therapy, offset, refill_at):
    """align(pick, t): an instant at or after t where the program gives a bolus or a step
    starts, so that regime changes sometimes fall exactly on one."""
    series = [(p["_first"], int(Fraction(repr(p["every_h"])) * 3600)) for p in therapy.get("periodic_boluses", ())]
    days = [therapy.get("steps") or therapy.get("program", {}).get("steps") or []]
    days += [d for d in (therapy.get("week") or therapy.get("program", {}).get("week") or {}).values()
             if isinstance(d, list)]
    local = [seconds(b["time"]) for b in therapy.get("boluses", ())]
    local += [seconds(x["start"]) for day in days for x in day]

    def align(pick, t):
        candidates = [first + max(0, -((first - t) // every)) * every for first, every in series]
        for x in local:
            u = ((t + offset * 60) // DAY) * DAY + x - offset * 60
            candidates.append(u if u >= t else u + DAY)
        return max(t, pick.choice(candidates)) if candidates else t

    return align


def seconds(hh_mm):
    return int(hh_mm[:2]) * 3600 + int(hh_mm[3:]) * 60


def _events(pick, refill_at, features, life, dose, align):
    """Regime episodes (stop / minimum_rate ... resume) and event boluses, in time order."""
    regimes = []  # (at, kind)
    kinds = [k for k, f in (("stop", "stop_resume"), ("minimum_rate", "minimum_rate")) if f in features]
    t = refill_at + (0 if pick.int(0, 5) == 0 else pick.int(1, life))
    for _ in range(pick.int(1, 3) if kinds else 0):
        kind = pick.choice(kinds)
        if pick.int(0, 2) == 0:
            t = align(pick, t)
        regimes.append((t, kind))
        t += pick.choice((1, 60, 3600, DAY, 2 * DAY)) if pick.int(0, 2) == 0 else pick.int(1, life // 3 + 1)
        if len(kinds) == 2 and pick.int(0, 2) == 0:  # stop -> minimum rate, or the reverse
            kind = "minimum_rate" if kind == "stop" else "stop"
            regimes.append((t, kind))
            t += pick.int(1, life // 4 + 1)
        if pick.int(0, 4) == 0:
            break  # never resumed
        if pick.int(0, 2) == 0:
            t = align(pick, t)
        regimes.append((t, "resume"))
        t += pick.int(1, life // 2 + 1)
    events = [{"at": at, kind: True} for at, kind in regimes]
    if "event_bolus" in features:
        taken = {at for at, _ in regimes}
        times = [dt for dt in pick.distinct(0, life, 1, 4) if dt > 0]  # at the refill itself: refused
        for dt in times:
            at = refill_at + dt
            # not while stopped, never at a regime change
            state = "resume"
            for when, kind in regimes:
                if when <= at:
                    state = kind
            if at in taken or state == "stop":
                continue
            taken.add(at)
            events.append({"at": at, "bolus_mcg": _dose(pick, dose, 10, 3000)})
    events.sort(key=lambda e: e["at"])
    return events


def document(pick, features=None):
    """(settings document, as_of) with the given FEATURES (None: a random mixture)."""
    if features is None:
        features = {f for f in FEATURES if pick.int(0, 2) == 0}
    features = set(features)
    if "same_as" in features:
        features.add("week")
    if "lockout" in features:
        features.add("patient_bolus")
    refill_at = pick.int(1_767_225_600, 1_830_297_600)  # 2026 .. 2027
    reservoir = pick.choice((20, 40))
    concentration = pick.choice(COMMERCIAL + DILUTED)
    wide = pick.int(0, 5) == 0  # now and then anything valid, else a typical refill
    volume = milli(pick, 1 if wide else reservoir * 500, reservoir * 1000)
    # a SynchroMed II alarm is set to 1..5 mL; omitted, it is the model's usual 2 mL
    low = milli(pick, 1000, 5000) if pick.int(0, 4) else None
    pump = {"model": "SynchroMed II", "reservoir_ml": reservoir}
    if low is not None:
        pump["low_reservoir_alarm_ml"] = number(low)
    else:
        low = Fraction(2)
    if "warning" in features:
        top = reservoir * 1000 - 1 if wide else min(reservoir * 1000 - 1, int(low * 1000) + 6000)
        pump["warning_ml"] = number(milli(pick, int(low * 1000) + 1, top))
    if pick.int(0, 2) > 0:
        pump["flow_tolerance_pct"] = number(Fraction(pick.int(0, 1000), 100))  # else the default 3
    # an average dose (22..1400 mcg/day) that lasts the refill about 3..600 days; the times
    # of events, clock changes and the forecast are spread over about that life
    lasts = pick.int(3, 600)
    dose = min(Fraction(1400), max(Fraction(22), volume * concentration / lasts))
    life = min(HORIZON_DAYS * DAY - 1, int(volume * concentration / dose * DAY * Fraction(13, 10)) + 1)
    if "minimum_rate" in features:
        pump["minimum_rate_mcg_per_day"] = min(1000, _dose(pick, dose, 5, 500))  # at most 1000
    drug = {"name": "baclofen", "concentration_mcg_per_ml": number(concentration),
            "max_days_in_reservoir": pick.int(1, 365)}
    if concentration not in COMMERCIAL:
        drug["dilution_confirmed"] = True
    refill = {"at": iso(pick, refill_at), "volume_ml": number(volume)}
    if pick.int(0, 3) == 0:
        refill["next_appointment"] = iso(pick, refill_at + pick.int(1, HORIZON_DAYS * DAY))  # any

    offset = pick.int(-660, 780) if pick.flag() else 60 * pick.int(-11, 13)
    therapy = {}
    if "week" in features:
        week = _week(pick, "same_as" in features, dose)
        if pick.flag():
            therapy["week"] = week
        else:
            therapy["program"] = {"week": week}
    elif "program_steps" in features:
        therapy["program"] = {"steps": _steps(pick, 8, dose)}
    else:
        therapy["steps"] = _steps(pick, 8, dose)
    if "daily_bolus" in features:
        therapy["boluses"] = [{"time": hhmm(m * 60), "mcg": _dose(pick, dose, 1, 300)}
                              for m in (pick.distinct(0, 1439, 1, 3) if pick.flag()
                                        else [60 * h for h in pick.distinct(0, 23, 1, 3)])]
    if "periodic" in features:
        periodic = []
        for _ in range(pick.int(1, 2)):
            minutes = 3 * pick.int(20, 3360)  # 1 h .. 168 h in whole 3-minute steps
            if pick.flag():
                minutes = 60 * pick.int(1, 168)  # whole hours
            every = Fraction(minutes, 60)
            if pick.int(0, 4) == 0:  # exactly on the refill (that one is not counted) or before it
                first = refill_at - pick.int(0, 3) * minutes * 60
            else:
                first = refill_at + pick.int(-3 * DAY, 5 * DAY)
            periodic.append({"mcg": _dose(pick, dose, 1, int(every * 20) + 1), "every_h": number(every),
                             "first": iso(pick, first), "_first": first})
        therapy["periodic_boluses"] = periodic
    align = _anchors(therapy, offset, refill_at)
    for item in therapy.get("periodic_boluses", ()):
        del item["_first"]
    if features & {"event_bolus", "stop_resume", "minimum_rate"}:
        events = _events(pick, refill_at, features, life, dose, align)
        if events:
            therapy["events"] = [dict(e, at=iso(pick, e["at"])) for e in events]
    if "patient_bolus" in features:
        patient = {"mcg": _dose(pick, dose, 1, 100), "max_per_day": pick.int(0, 48)}
        if "lockout" in features:
            patient["lockout_min"] = pick.choice((1, 15, 180, 240, 1440)) if pick.flag() else pick.int(1, 1440)
        therapy["patient_bolus"] = patient

    clock = {"utc_offset_min": offset}
    if "dst" in features:
        transitions, current, previous = [], offset, None
        for dt in pick.distinct(-30 * DAY, life, 1, 4):
            current = max(-720, min(840, current + pick.choice((60, -60, 30, -30, 120))))
            at = refill_at + dt
            where = pick.int(0, 2)
            if where == 0:  # on a whole hour (UTC), where boluses and steps often are
                at -= at % 3600
            elif where == 1:  # on a bolus or step instant (at the offset before any change)
                at = align(pick, at)
            if transitions and at <= previous:
                continue
            previous = at
            transitions.append({"at": iso(pick, at), "utc_offset_min": current})
        clock["transitions"] = transitions

    doc = {"schema": 2, "pump": pump, "drug": drug, "refill": refill, "therapy": therapy,
           "clock": clock, "confirmed": ["dose-range", "no-printout"]}
    as_of = refill_at + (pick.int(0, life * 3 // 5) if pick.int(0, 3) else pick.int(0, HORIZON_DAYS * DAY - 1))
    return doc, as_of


def batch(seed, count):
    """`count` reproducible documents cycling through every single form, then mixtures."""
    pick = RandomPick(seed)
    found = []
    for i in range(count):
        if i < len(FEATURES):
            found.append(document(pick, {FEATURES[i]}))
        elif i < 2 * len(FEATURES):
            found.append(document(pick, set(FEATURES)))
        else:
            found.append(document(pick))
    return found


def forms(doc):
    """The FEATURES a document actually uses (for coverage checks)."""
    therapy, found = doc["therapy"], set()
    week = therapy.get("week") or therapy.get("program", {}).get("week")
    if week is not None:
        found.add("week")
        if any(isinstance(v, dict) for v in week.values()):
            found.add("same_as")
    if "steps" in therapy.get("program", {}):
        found.add("program_steps")
    if therapy.get("boluses"):
        found.add("daily_bolus")
    if therapy.get("periodic_boluses"):
        found.add("periodic")
    events = therapy.get("events", ())
    if any("bolus_mcg" in e for e in events):
        found.add("event_bolus")
    if any(e.get("stop") for e in events):
        found.add("stop_resume")
    if any(e.get("minimum_rate") for e in events):
        found.add("minimum_rate")
    if "patient_bolus" in therapy:
        found.add("patient_bolus")
        if "lockout_min" in therapy["patient_bolus"]:
            found.add("lockout")
    if doc["clock"].get("transitions"):
        found.add("dst")
    if "warning_ml" in doc["pump"]:
        found.add("warning")
    return found
