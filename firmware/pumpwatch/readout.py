"""The status readout: where the patient stands, told in beeps (a long press).

Owns the readout patterns: one beep per full week until the refill is due,
one long beep when it is due within a week, and a fast two-tone warble when
it is overdue or the unit cannot tell (no settings, clock lost), so a patient
who cannot read a screen still knows.  Within 90 days of the implant's
replacement indicator two long notes follow: "ask about the pump's battery".  The motor plays the readout too for a hearing-impaired patient
(unit.py).  Loaded only when a long press asks.
"""

from pumpwatch.sounds import C5, D5, G5, Pattern

_WEEK = 7 * 86400
IMPLANT_AHEAD_S = 90 * 86400
IMPLANT = ((0, 700), (D5, 600), (0, 300), (D5, 600))  # two long notes: "ask about the implant's battery"
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


def pattern_for(now, refill_due_at, implant_eri_at=None):
    """The readout for the time `now` (None: unknown), the refill due time (None: no
    settings) and the implant's replacement indicator (None: not known)."""
    if now is None or refill_due_at is None or now >= refill_due_at:
        pattern = OVERDUE
    else:
        count = (refill_due_at - now) // _WEEK
        pattern = weeks(count) if count else WITHIN_A_WEEK
    if now is None or implant_eri_at is None or now < implant_eri_at - IMPLANT_AHEAD_S:
        return pattern
    return Pattern(pattern.name + ", implant battery", pattern.segments + IMPLANT, None, pattern.led)
