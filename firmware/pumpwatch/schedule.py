"""The programmed therapy as exact integer dose curves.

Owns `DailyCycle` — the daily program in local time (flex steps, periodic
boluses, the patient-bolus allowance as a continuous extra rate) as a
cumulative-dose function over local seconds, and its inverse — and
`Delivery`, that cycle over UTC time seen through a `LocalClock`
(localclock.py: a fixed offset, optionally with daylight-saving transitions
supplied by the host, since the device carries no tz database).

Units (all integers, so nothing drifts over months):
  rates    ng/day            (mcg/day * 1000)
  doses    "dose units" = ng * 86400, i.e. rate (ng/day) x seconds,
           so a bolus of B ng counts B * 86400
Delivery over UTC time (t0, t] follows local time: a step's rate applies
while the local clock is inside the step; a bolus is given at the UTC
instant whose local time equals its time of day.
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

from pumpwatch.localclock import LocalClock  # noqa: E402,F401  (part of this module's API)

DAY_S = const(86400)


class DailyCycle:
    """Cumulative dose over local seconds for a program that repeats every `period`
    seconds (a day, or a week for a weekday program)."""

    def __init__(self, steps, boluses=(), extra_rate=0, period=DAY_S, shift=0):
        """steps: [(start_s, ng_per_day)] with strictly increasing starts within the
        period; boluses: [(time_s, ng)]; extra_rate: ng/day added to every step;
        shift: seconds added to local time before it is reduced to the period
        (a week starts on Monday, local second 0 was a Thursday)."""
        self.period = period
        self.shift = shift
        bolus_at = {}
        for time_s, ng in boluses:
            bolus_at[time_s] = bolus_at.get(time_s, 0) + ng
        points = sorted(set([0] + [s for s, _ in steps] + list(bolus_at)))
        # Rate in force at second x of the period: the last step starting at or
        # before x, or (before the first start) the last step of the period.
        last_rate = steps[-1][1]
        self.starts = points
        self.rates = []
        self.boluses = []
        self.before = []  # dose units accumulated since the period began, before point i
        total = 0
        step_index = 0
        for i, x in enumerate(points):
            while step_index < len(steps) and steps[step_index][0] <= x:
                last_rate = steps[step_index][1]
                step_index += 1
            rate = last_rate + extra_rate
            bolus = bolus_at.get(x, 0) * DAY_S
            self.before.append(total)
            self.rates.append(rate)
            self.boluses.append(bolus)
            end = points[i + 1] if i + 1 < len(points) else period
            total += bolus + rate * (end - x)
        self.per_day = total  # per period

    def _piece(self, second_of_day):
        starts = self.starts
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if starts[mid] <= second_of_day:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def cumulative(self, local_s):
        """Dose units from a period start up to and including local second `local_s`."""
        day, x = divmod(local_s + self.shift, self.period)
        i = self._piece(x)
        return (day * self.per_day + self.before[i] + self.boluses[i]
                + self.rates[i] * (x - self.starts[i]))

    def cumulative_before(self, local_s):
        """As `cumulative`, but without a bolus given exactly at `local_s`."""
        x = (local_s + self.shift) % self.period
        i = self._piece(x)
        value = self.cumulative(local_s)
        if self.starts[i] == x:
            value -= self.boluses[i]
        return value

    def first_local_reaching(self, value):
        """Smallest integer local second L with cumulative(L) >= value."""
        day, rest = divmod(value, self.per_day)
        starts = self.starts
        count = len(starts)
        for i in range(count):
            start = starts[i]
            reached = self.before[i] + self.boluses[i]
            if reached >= rest:
                return day * self.period + start - self.shift
            rate = self.rates[i]
            end = starts[i + 1] if i + 1 < count else self.period
            if rate > 0:
                x = start + (rest - reached + rate - 1) // rate
                if x < end:
                    return day * self.period + x - self.shift
        return (day + 1) * self.period - self.shift


class Delivery:
    """Dose delivered over UTC time for a cycle seen through a local clock."""

    def __init__(self, cycle, clock):
        self.cycle = cycle
        self.clock = clock

    def delivered(self, utc_from, utc_to):
        """Dose units delivered in (utc_from, utc_to]."""
        if utc_to <= utc_from:
            return 0
        cycle = self.cycle
        total = 0
        first = True
        for start, end, offset in self.clock.spans(utc_from):
            if first:
                base = cycle.cumulative(start + offset)
                first = False
            else:
                base = cycle.cumulative_before(start + offset)
            if end is None or utc_to < end:
                return total + cycle.cumulative(utc_to + offset) - base
            total += cycle.cumulative_before(end + offset) - base
        raise ValueError("unreachable: the last span is open-ended")

    def first_time_delivered(self, utc_from, amount):
        """Smallest integer UTC second t > utc_from with delivered(utc_from, t) >= amount."""
        if amount <= 0:
            return utc_from
        cycle = self.cycle
        done = 0
        first = True
        for start, end, offset in self.clock.spans(utc_from):
            if first:
                base = cycle.cumulative(start + offset)
                first = False
            else:
                base = cycle.cumulative_before(start + offset)
            utc = cycle.first_local_reaching(base + amount - done) - offset
            if end is None or utc < end:
                return utc
            done += cycle.cumulative_before(end + offset) - base
        raise ValueError("unreachable: the last span is open-ended")
