"""Everything the pump delivers, over UTC time: the dose curve the forecast inverts.

Owns putting together the parts of a prescription (schedule.py's program
cycle seen through the local clock, periodic boluses every N hours, dated
one-off boluses) with the pump's state over time (running its program,
stopped, at its minimum rate; from `therapy.events`):
  running       the program, daily and periodic boluses, the patient-bolus allowance
  stopped       nothing at all
  minimum rate  the pump's minimum rate and the patient-bolus allowance only
A bolus at an instant counts when the pump runs its program just after it;
nothing at the refill instant itself counts (delivery is over (refill, t]).
Units as in schedule.py: dose units = ng * 86400.  `first_time_delivered`
uses closed forms when the program is all there is, else bisection over
whole seconds (delivery never decreases, so it is exact to the second).
"""

from pumpwatch.prescription import EVENT_BOLUS, EVENT_MINIMUM, EVENT_STOP
from pumpwatch.schedule import DailyCycle, Delivery, LocalClock

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

DAY_S = const(86400)
WEEK_S = const(604800)
HORIZON_S = const(800 * 86400)  # nothing is forecast further than this after the refill
_RUNNING = const(0)
_STOPPED = const(1)
_MINIMUM = const(2)


def program_cycle(p, extra_rate):
    """The program as a DailyCycle: one day, or a week starting on Monday."""
    if p.week is None:
        return DailyCycle(p.steps, p.boluses, extra_rate)
    steps, boluses = [], []
    for d in range(7):
        for start, rate in p.week[d]:
            steps.append((d * DAY_S + start, rate))
        for time_s, ng in p.boluses:
            boluses.append((d * DAY_S + time_s, ng))
    return DailyCycle(steps, boluses, extra_rate, WEEK_S, 3 * DAY_S)  # 1970-01-01 was a Thursday


class Therapy:
    """The dose curve from the refill on, in pieces of constant pump state: a piece
    [start, end) owns the boluses given at instants inside it and the continuous
    delivery over it; `before[i]` is everything delivered before piece i."""

    def __init__(self, p):
        allowance = p.patient_bolus_ng * p.patient_boluses_per_day()
        self.clock = LocalClock(p.utc_offset_s, p.transitions)
        self.cycle = program_cycle(p, allowance)
        self.program = Delivery(self.cycle, self.clock)
        self.refill_at = p.refill_at
        self.periodic = [(first, every, ng * DAY_S) for first, every, ng in p.periodic]
        self.minimum_rate = (p.minimum_rate_ng or 0) + allowance
        self.pieces = [[p.refill_at, _RUNNING, 0]]  # [start, state, one-off bolus units at start]
        for at, kind, ng in p.events:
            last = self.pieces[-1]
            if at > last[0]:
                self.pieces.append([at, last[1], 0])
                last = self.pieces[-1]
            if kind == EVENT_BOLUS:
                if at > self.refill_at:
                    last[2] += ng * DAY_S
            else:
                last[1] = _STOPPED if kind == EVENT_STOP else _MINIMUM if kind == EVENT_MINIMUM else _RUNNING
        self.simple = not self.periodic and self.pieces == [[p.refill_at, _RUNNING, 0]]  # the program alone
        self.before = [0]
        for i in range(len(self.pieces) - 1):
            self.before.append(self.before[i] + self._within(i, self.pieces[i + 1][0], True))

    def _within(self, i, t, whole=False):
        """Units piece i delivers up to and including t (whole: up to its end, which it does not own)."""
        start, state, one_off = self.pieces[i]
        total = one_off
        if state == _MINIMUM:
            return total + self.minimum_rate * (t - start)
        if state == _STOPPED:
            return total
        total += self.program.delivered(start, t) + self._periodic(start, t)
        if start != self.refill_at:
            total += self._boluses_at(start)  # the piece owns the boluses given at its start
        if whole:
            total -= self._boluses_at(t)  # ... but not those at its end: the next piece's
        return total

    def _piece_at(self, t):
        i = len(self.pieces) - 1
        while i > 0 and self.pieces[i][0] > t:
            i -= 1
        return i

    def delivered_by(self, t):
        """Dose units delivered in (refill, t]."""
        if t <= self.refill_at:
            return 0
        i = self._piece_at(t)
        return self.before[i] + self._within(i, t)

    def _periodic(self, lo, hi):
        """Periodic bolus units given in (lo, hi]."""
        total = 0
        for first, every, units in self.periodic:
            total += (_given_by(hi, first, every) - _given_by(lo, first, every)) * units
        return total

    def _boluses_at(self, utc):
        """Bolus units the program gives exactly at `utc` (daily and periodic)."""
        local = utc + self.clock.offset_at(utc)
        total = self.cycle.cumulative(local) - self.cycle.cumulative_before(local)
        for first, every, units in self.periodic:
            if utc >= first and (utc - first) % every == 0:
                total += units
        return total

    def first_time_delivered(self, utc_from, amount):
        """Smallest whole UTC second t > utc_from (the refill) with delivered_by(t) >= amount;
        None if that is beyond the forecast horizon (a pump stopped for good)."""
        if amount <= 0:
            return utc_from
        if self.simple:
            return self.program.first_time_delivered(utc_from, amount)
        limit = self.refill_at + HORIZON_S
        count = len(self.pieces)
        for i in range(count):
            end = self.pieces[i + 1][0] if i + 1 < count else limit
            if i + 1 < count and self.before[i + 1] < amount:
                continue  # reached in a later piece
            found = self._first_in(i, amount - self.before[i], end)
            if found is not None:
                return found
        return None

    def _first_in(self, i, need, end):
        """Smallest t in [start, end) of piece i (t > refill) delivering `need` within it."""
        start, state, one_off = self.pieces[i]
        lo = start if start > self.refill_at else start + 1
        if lo >= end or self._within(i, lo) >= need:
            return lo if lo < end else None
        if state == _STOPPED:
            return None
        if state == _MINIMUM:
            t = start + -(-(need - one_off) // self.minimum_rate)
            return t if t < end else None
        if not self.periodic:
            jump = one_off + (self._boluses_at(start) if start != self.refill_at else 0)
            t = self.program.first_time_delivered(start, need - jump)
            return t if t < end else None
        if self._within(i, end - 1) < need:
            return None
        while end - 1 - lo > 1:  # _within(lo) < need <= _within(hi): bisect
            mid = (lo + end - 1) // 2
            if self._within(i, mid) >= need:
                end = mid + 1
            else:
                lo = mid
        return end - 1


def _given_by(t, first, every):
    """How many boluses of a periodic series fall at or before t."""
    if t < first:
        return 0
    return (t - first) // every + 1
