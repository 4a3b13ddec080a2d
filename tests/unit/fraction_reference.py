"""An independent exact model of the forecast, for testing the core against.

Deliberately built differently from the core: it lists every UTC instant at
which the delivery rate may change or a bolus is given, walks them in
order, and integrates volume in mL as `fractions.Fraction`.  No closed form,
no fixed-point units.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

DAY = 86400


class Reference:
    def __init__(self, *, steps, boluses, extra_mcg_per_day, concentration, volume_ml,
                 tolerance_pct, offset_min, transitions, refill_at, horizon_days=400):
        """steps: [(start_s, Fraction mcg/day)], boluses: [(time_s, Fraction mcg)],
        transitions: [(utc, offset_min)]; all amounts exact Fractions."""
        self.steps = steps
        self.boluses = boluses
        self.extra = Fraction(extra_mcg_per_day)
        self.concentration = Fraction(concentration)
        self.volume = Fraction(volume_ml)
        self.factor = 1 + Fraction(tolerance_pct) / 100
        self.spans = self._spans(offset_min, transitions, refill_at, refill_at + horizon_days * DAY)
        self.refill_at = refill_at
        self.end = refill_at + horizon_days * DAY

    @staticmethod
    def _spans(offset_min, transitions, start, end):
        spans, offset = [], offset_min * 60
        cursor = start
        for at, minutes in transitions:
            if at <= cursor:
                offset = minutes * 60
                continue
            if at >= end:
                break
            spans.append((cursor, at, offset))
            cursor, offset = at, minutes * 60
        spans.append((cursor, end, offset))
        return spans

    def offset_at(self, utc):
        for start, end, offset in self.spans:
            if start <= utc < end:
                return offset
        return self.spans[-1][2]

    def _rate(self, utc):
        """mcg/day in force during the second after `utc`."""
        local = (utc + self.offset_at(utc)) % DAY
        rate = self.steps[-1][1]
        for start, value in self.steps:
            if start <= local:
                rate = value
        return rate + self.extra

    def _instants(self):
        """Sorted UTC instants where the rate may change, and bolus amounts per instant."""
        changes, given = set(), {}
        for start, end, offset in self.spans:
            changes.add(start)
            first_day = (start + offset) // DAY - 1
            last_day = (end + offset) // DAY + 1
            for day in range(first_day, last_day + 1):
                for s, _ in self.steps:
                    u = day * DAY + s - offset
                    if start <= u < end:
                        changes.add(u)
                for b, mcg in self.boluses:
                    u = day * DAY + b - offset
                    if start < u < end or (u == start and start != self.refill_at and start < end):
                        given[u] = given.get(u, 0) + mcg
                        changes.add(u)
        return sorted(u for u in changes if self.refill_at <= u <= self.end), given

    def ml_per_mcg(self):
        return self.factor / self.concentration

    def walk(self, targets_ml, as_of):
        """First whole seconds at which delivered volume >= each target (None past the
        horizon), and the volume delivered by `as_of`."""
        instants, given = self._instants()
        per_mcg = self.ml_per_mcg()
        found = {}
        delivered = Fraction(0)
        at_as_of = None
        pending = sorted(set(t for t in targets_ml if t > 0))
        for t in targets_ml:
            if t <= 0:
                found[t] = self.refill_at
        for i, a in enumerate(instants):
            if a > self.refill_at and a in given:
                delivered += given[a] * per_mcg
            if at_as_of is None and a == as_of:
                at_as_of = delivered
            while pending and delivered >= pending[0]:
                found[pending.pop(0)] = a
            b = instants[i + 1] if i + 1 < len(instants) else self.end
            slope = self._rate(a) * per_mcg / DAY  # mL per second
            if at_as_of is None and a < as_of < b:
                at_as_of = delivered + slope * (as_of - a)
            while pending and slope > 0 and delivered + slope * (b - a) >= pending[0]:
                t = a + ceil((pending[0] - delivered) / slope)
                if t >= b:
                    break
                found[pending.pop(0)] = t
            delivered += slope * (b - a)
        for t in pending:
            found[t] = None
        return found, at_as_of

    def forecast(self, low_ml, as_of, max_days):
        nominal = Reference.__new__(Reference)
        nominal.__dict__.update(self.__dict__)
        nominal.factor = Fraction(1)
        targets = [self.volume - low_ml, self.volume]
        found, delivered = self.walk(targets, as_of)
        found_nominal, delivered_nominal = nominal.walk(targets, as_of)

        def left_ul(d):
            return max(0, floor((self.volume - d) * 1000)) if d is not None else None

        return {
            "volume_ul": left_ul(delivered),
            "volume_ul_nominal": left_ul(delivered_nominal),
            "low_reservoir_at": found[targets[0]],
            "low_reservoir_at_nominal": found_nominal[targets[0]],
            "empty_at": found[targets[1]],
            "empty_at_nominal": found_nominal[targets[1]],
            "stability_limit_at": self.refill_at + max_days * DAY,
        }


# ---------------------------------------------------------------------------
# Schema 2: weekly programs, periodic and event boluses, stop / resume /
# minimum rate, patient-bolus lockout, clock transitions.
# ---------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NORMAL, STOPPED, MINIMUM = "normal", "stopped", "minimum"


def decimal(value) -> Fraction:
    """The exact decimal a JSON number was written as (0.1 is 1/10, not the float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number: %r" % (value,))
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))


def instant(text: str) -> int:
    """Epoch seconds of an ISO 8601 instant with Z or an offset (datetime, not timecalc)."""
    from datetime import datetime, timedelta, timezone

    parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no zone: %s" % text)
    return (parsed - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(seconds=1)


def time_of_day(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


class ReferenceV2:
    """The schema-2 forecast of a settings document, from the contract alone.

    Reads the document itself (its own parsing: `Fraction` of each decimal as
    written, `datetime` for instants), lists every UTC instant in
    [refill.at, refill.at + horizon] where the delivery rate may change or a
    bolus is given, and walks them in order integrating delivered mcg as a
    `Fraction`; volumes are derived from mcg only at the end.
    """

    def __init__(self, doc, horizon_days=400):
        pump, drug, refill, therapy = doc["pump"], doc["drug"], doc["refill"], doc["therapy"]
        clock = doc.get("clock", {})
        self.refill_at = instant(refill["at"])
        self.end = self.refill_at + horizon_days * DAY
        self.volume = decimal(refill["volume_ml"])
        self.concentration = decimal(drug["concentration_mcg_per_ml"])
        self.max_days = drug["max_days_in_reservoir"]
        # omitted: the model's usual alarm volume (settings.PUMP_MODELS)
        self.low_ml = decimal(pump.get("low_reservoir_alarm_ml", {"SynchroMed II": 2, "Prometra II": 3}.get(pump["model"])))
        self.warning_ml = decimal(pump["warning_ml"]) if "warning_ml" in pump else None
        self.tolerance_pct = decimal(pump.get("flow_tolerance_pct", 3))
        self.minimum_rate = (decimal(pump["minimum_rate_mcg_per_day"])
                             if "minimum_rate_mcg_per_day" in pump else None)
        self.week = self._week(therapy)  # 7 lists of (start_s, mcg/day), mon..sun
        self.daily_boluses = [(time_of_day(b["time"]), decimal(b["mcg"])) for b in therapy.get("boluses", ())]
        self.periodic = []
        for p in therapy.get("periodic_boluses", ()):
            every = decimal(p["every_h"]) * 3600
            assert every.denominator == 1 and every > 0, "every_h must be whole seconds"
            self.periodic.append((instant(p["first"]), int(every), decimal(p["mcg"])))
        self.events = [(instant(e["at"]), e) for e in therapy.get("events", ())]
        self.allowance = Fraction(0)  # mcg/day, the most a patient could take
        patient = therapy.get("patient_bolus")
        if patient is not None:
            count = patient["max_per_day"]
            if patient.get("lockout_min") is not None:
                count = min(count, 1440 // patient["lockout_min"] + 1)
            self.allowance = decimal(patient["mcg"]) * count
        self.spans = Reference._spans(clock.get("utc_offset_min", 0),
                                      [(instant(t["at"]), t["utc_offset_min"]) for t in clock.get("transitions", ())],
                                      self.refill_at, self.end)
        self.regimes = self._regimes()

    # -- the program -------------------------------------------------------

    @staticmethod
    def _steps(items):
        return [(time_of_day(s["start"]), decimal(s["mcg_per_day"])) for s in items]

    def _week(self, therapy):
        program = therapy.get("program")
        if "steps" in therapy:
            return [self._steps(therapy["steps"])] * 7
        if program is not None and "steps" in program:
            return [self._steps(program["steps"])] * 7
        week = program["week"] if program is not None else therapy["week"]

        def resolve(name, seen=()):
            entry = week[name]
            if isinstance(entry, dict):
                assert name not in seen, "same_as loop"
                return resolve(entry["same_as"], seen + (name,))
            return self._steps(entry)

        return [resolve(name) for name in WEEKDAYS]

    def program_rate(self, local):
        """mcg/day the program gives at local second `local` (and the second after it)."""
        day, second = divmod(local, DAY)
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        rate = None
        for start, value in self.week[weekday]:
            if start <= second:
                rate = value
        back = 1
        while rate is None:  # before the day's first step: the last step of the day before
            steps = self.week[(weekday - back) % 7]
            if steps:
                rate = steps[-1][1]
            back += 1
        return rate

    # -- regimes -----------------------------------------------------------

    def _regimes(self):
        """[(utc, regime)] from the events, in force on (utc, next utc)."""
        found = [(self.refill_at - 1, NORMAL)]
        for at, event in self.events:
            if event.get("stop"):
                found.append((at, STOPPED))
            elif event.get("resume"):
                found.append((at, NORMAL))
            elif event.get("minimum_rate"):
                found.append((at, MINIMUM))
        return found

    def regime_at(self, utc):
        """The regime in force on (utc, utc + 1)."""
        regime = NORMAL
        for at, value in self.regimes:
            if at <= utc:
                regime = value
        return regime

    def offset_at(self, utc):
        offset = self.spans[0][2]
        for start, _, value in self.spans:
            if start <= utc:
                offset = value
        return offset

    def rate_at(self, utc):
        """mcg/day delivered continuously on (utc, utc + 1)."""
        regime = self.regime_at(utc)
        if regime == STOPPED:
            return Fraction(0)
        if regime == MINIMUM:
            return self.minimum_rate + self.allowance
        return self.program_rate(utc + self.offset_at(utc)) + self.allowance

    # -- instants ----------------------------------------------------------

    def instants(self):
        """Sorted instants in [refill.at, end] and {instant: bolus mcg given there}."""
        changes, given = {self.refill_at}, {}

        def give(u, mcg):
            given[u] = given.get(u, 0) + mcg
            changes.add(u)

        for at, regime in self.regimes:
            changes.add(at)
        for start, end, offset in self.spans:
            changes.add(start)
            for day in range((start + offset) // DAY - 1, (end + offset) // DAY + 2):
                changes.add(day * DAY - offset)  # local midnight: the weekday changes
                for s, _ in self.week[(day + 3) % 7]:
                    changes.add(day * DAY + s - offset)
                for b, mcg in self.daily_boluses:
                    u = day * DAY + b - offset
                    # given at the instant whose local time is b, in this span (a span
                    # after the first one includes its start: a bolus at the clock change)
                    if (start < u < end or (u == start and start != self.refill_at)) \
                            and self.regime_at(u) == NORMAL:
                        give(u, mcg)
        for first, every, mcg in self.periodic:
            k = max(0, -((first - self.refill_at) // every))  # first k with u >= refill.at
            u = first + k * every
            while u <= self.end:
                if u > self.refill_at and self.regime_at(u) == NORMAL:
                    give(u, mcg)
                u += every
        for at, event in self.events:
            if "bolus_mcg" in event and self.refill_at < at <= self.end:
                assert self.regime_at(at) != STOPPED, "event bolus while stopped"
                give(at, decimal(event["bolus_mcg"]))
        return sorted(u for u in changes if self.refill_at <= u <= self.end), given

    # -- the walk ----------------------------------------------------------

    def walk(self, targets_mcg, as_of):
        """{key: first whole second with delivered mcg >= target} (None past the horizon)
        for targets {key: mcg}, and the mcg delivered over (refill.at, as_of]."""
        instants, given = self.instants()
        found = {key: self.refill_at for key, mcg in targets_mcg.items() if mcg <= 0}
        pending = sorted((mcg, key) for key, mcg in targets_mcg.items() if mcg > 0)
        delivered = Fraction(0)
        at_as_of = None
        # cached regime/offset cursors make the walk linear; rate_at is the definition
        for i, a in enumerate(instants):
            if a in given:
                delivered += given[a]
            if a == as_of:
                at_as_of = delivered
            while pending and delivered >= pending[0][0]:
                found[pending.pop(0)[1]] = a
            b = instants[i + 1] if i + 1 < len(instants) else self.end
            rate = self.rate_at(a)  # mcg/day on (a, b)
            if at_as_of is None and a < as_of < b:
                at_as_of = delivered + rate * (as_of - a) / DAY
            while pending and rate > 0:
                t = a + ceil((pending[0][0] - delivered) * DAY / rate)
                if t >= b:
                    break
                found[pending.pop(0)[1]] = t
            delivered += rate * (b - a) / DAY
            if not pending and at_as_of is not None:
                break
        for _, key in pending:
            found[key] = None
        return found, at_as_of

    def forecast(self, as_of):
        """The figures the core's Forecast must have, by attribute name."""
        factor = 1 + self.tolerance_pct / 100
        thresholds = {"low_reservoir_at": self.low_ml, "empty_at": Fraction(0)}
        if self.warning_ml is not None:
            thresholds["warning_at"] = self.warning_ml
        targets = {}
        for name, threshold in thresholds.items():
            ml = self.volume - threshold
            targets[name] = ml * self.concentration / factor
            targets[name + "_nominal"] = ml * self.concentration
        found, delivered = self.walk(targets, as_of)

        def left_ul(mcg, f):
            return max(0, floor((self.volume - mcg * f / self.concentration) * 1000))

        result = {
            "volume_ul": left_ul(delivered, factor),
            "volume_ul_nominal": left_ul(delivered, 1),
            "low_reservoir_at": found["low_reservoir_at"],
            "low_reservoir_at_nominal": found["low_reservoir_at_nominal"],
            "empty_at": found["empty_at"],
            "empty_at_nominal": found["empty_at_nominal"],
            "stability_limit_at": self.refill_at + self.max_days * DAY,
            "warning_at": found.get("warning_at"),
        }
        return result
