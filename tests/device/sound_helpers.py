"""Reading alarms out of the emulated buzzer's log, for device tests."""

from __future__ import annotations

from pumpwatch import sounds

ALARM_TONES = {sounds.C5, sounds.D5}  # the boot chirp is G5 alone


def sound_starts(buzzer):
    """Times (s) at which the buzzer goes from silent to an alarm tone after >= 1 s of silence."""
    starts, last_sound = [], None
    for t, hz in buzzer:
        if hz in ALARM_TONES and (last_sound is None or t - last_sound > 1000):
            starts.append(t / 1000)
        if hz:
            last_sound = t
    return starts
