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
