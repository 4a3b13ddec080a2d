"""The status readout: where the patient stands, told in beeps (a long press).

Owns the readout patterns: one beep per full week until the refill is due,
one long beep when it is due within a week, and a fast two-tone warble when
it is overdue or the unit cannot tell (no settings, clock lost), so a patient
who cannot read a screen still knows.  Loaded only when a long press asks.
"""

from pumpwatch.sounds import C5, G5, Pattern

_WEEK = 7 * 86400
OVERDUE = Pattern("overdue", ((C5, 100), (G5, 100)) * 6, None, (100, 100))
WITHIN_A_WEEK = Pattern("within a week", ((C5, 800),), None, (800, 1))


def weeks(count):
    """One beep per full week until the refill is due."""
    segments = []
    for i in range(count):
        if i:
            segments.append((0, 350))
        segments.append((G5, 150))
    return Pattern("%d weeks" % count, tuple(segments), None, (150, 350))


def pattern_for(now, refill_due_at):
    """The readout for the time `now` (None: unknown) and the refill due time (None: no settings)."""
    if now is None or refill_due_at is None or now >= refill_due_at:
        return OVERDUE
    count = (refill_due_at - now) // _WEEK
    return weeks(count) if count else WITHIN_A_WEEK
