"""Reading alarms out of the emulated buzzer's log, for device tests."""

from __future__ import annotations

from pumpwatch import sounds
from pumpwatch.alarm_policy import sound_of

ALARM_TONES = {sounds.C5, sounds.D5}  # in every alarm; the boot chirp is G5 alone
_SILENCE_MS = 1000  # a burst ends after this much silence


def bursts(buzzer):
    """[(start ms, [(Hz, ms), ...])] of each run of sound separated by >= 1 s of silence;
    the segments are those of the pattern data (0 Hz for the gaps inside a burst)."""
    found = []
    segments = None
    start = None
    for (t, hz), following in zip(buzzer, buzzer[1:] + [(None, 0)]):
        end = following[0]
        if hz:
            if segments is None or (t - last_end) >= _SILENCE_MS:
                segments = []
                start = t
                found.append((start, segments))
            elif t > last_end:
                segments.append((0, t - last_end))
            if end is None:
                segments.append((hz, None))
            else:
                segments.append((hz, end - t))
                last_end = end
    return found


def pattern_of(segments):
    """The alarm or chirp whose one burst `segments` is, by name (None: no known sound).
    The strong medium has the medium's notes: it is told apart by its loud duty and
    period (emu.buzzer_loud_log()), so its bursts are named "medium" here."""
    alarms = tuple(p for p in sounds.ALARMS if p is not sounds.STRONG_ALARM)
    for pattern in alarms + (sounds.BOOT_CHIRP, sounds.PAIRING_CHIRP, sounds.RESET_CHIRP,
                                    sounds.ELSEWHERE_CHIRP, sounds.CONFIRM_CHIRP):
        if list(pattern.segments) == segments:
            return pattern.name
    return None


def alarm_bursts(buzzer):
    """[(start s, pattern name)] of every alarm burst (chirps and readouts left out)."""
    names = {p.name for p in sounds.ALARMS}
    return [(start / 1000, name) for start, segments in bursts(buzzer)
            for name in [pattern_of(segments)] if name in names]


def sound_starts(buzzer):
    """Times (s) at which an alarm begins to sound after >= 1 s of silence (not the boot chirp)."""
    return [start / 1000 for start, segments in bursts(buzzer)
            if pattern_of(segments) != sounds.BOOT_CHIRP.name]


def pattern_for(cid, escalated=False):
    """The pattern condition `cid` plays (alarm_policy.sound_of)."""
    return sounds.BY_SOUND[sound_of(cid, escalated)]


def sounding_instants(forecast):
    """[(utc the unit first sounds it, condition id)] as the forecast lists them."""
    from pumpwatch import timecalc
    return [(timecalc.parse_iso(a["sounds_at"]), a["condition"]) for a in forecast.alarm_instants()]
