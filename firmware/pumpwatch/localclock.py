"""The patient's local clock: the UTC offset in force at each instant.

Owns `LocalClock`, small enough for the unit to keep with its plan: the day
window (daywindow.py) and the therapy model (schedule.py) both read local
time through it.
"""


class LocalClock:
    """UTC offset (seconds) in force at each UTC instant."""

    def __init__(self, offset_s, transitions=()):
        """offset_s: offset before the first transition; transitions:
        [(utc_at, offset_s)] sorted by time, each in force from its instant."""
        self.offset_s = offset_s
        self.transitions = list(transitions)

    def offset_at(self, utc):
        offset = self.offset_s
        for at, new_offset in self.transitions:
            if at > utc:
                break
            offset = new_offset
        return offset

    def spans(self, utc_from):
        """Yield (start, end_or_None, offset) constant-offset spans from utc_from on."""
        start = utc_from
        offset = self.offset_s
        for at, new_offset in self.transitions:
            if at <= start:
                offset = new_offset
                continue
            yield start, at, offset
            start, offset = at, new_offset
        yield start, None, offset

    def to_utc(self, local_s):
        """UTC instant showing local time `local_s`.

        In a skipped hour (clocks forward) the instant the clock jumps over it;
        in a repeated hour the earlier of the two.
        """
        for start, end, offset in self.spans(-(1 << 40)):
            utc = local_s - offset
            if utc < start:
                return start  # skipped local time: the jump itself
            if end is None or utc < end:
                return utc
        return local_s - self.offset_s  # unreachable: the last span is open
