"""Alarm sounds as WAV files, for a patient to replay on a phone at home.

Owns turning a firmware alarm pattern (pumpwatch.sounds.Pattern: its (Hz, ms)
segments, repeat and loudness, the very data the unit plays) into 16-bit mono
samples at 22050 Hz, and writing them with the stdlib `wave` module.  A
repeating pattern is two bursts with the real silence between them (so the
phone plays the real rhythm); a one-shot pattern, one burst.  Each pulse is a
square-ish wave (the piezo plays a square wave), softened and faded in and
out over a few ms so it does not click; loud patterns are louder.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

RATE = 22050
FADE_MS = 3
AMPLITUDE = 0.45       # of full scale, a normal pattern
LOUD_AMPLITUDE = 0.9   # a loud one (the buzzer's loud duty)
_SHAPE = 4.0           # tanh(k sin): nearer a square wave as k grows, without aliasing a hard edge would bring
_FULL = 32767


def _at(ms: float) -> int:
    """Sample index at `ms` from the start."""
    return round(ms * RATE / 1000)


def _pulse(hz: int, n: int, peak: float) -> array:
    fade = min(_at(FADE_MS), n // 2)
    norm = math.tanh(_SHAPE)
    out = array("h", bytes(2 * n))
    for i in range(n):
        envelope = min(1.0, i / fade, (n - i) / fade) if fade else 1.0
        value = math.tanh(_SHAPE * math.sin(2 * math.pi * hz * i / RATE)) / norm
        out[i] = round(_FULL * peak * envelope * value)
    return out


def samples(pattern) -> array:
    """The pattern as signed 16-bit samples at RATE: one burst, or two bursts
    `repeat_ms` apart for a repeating pattern."""
    peak = LOUD_AMPLITUDE if pattern.loud else AMPLITUDE
    bursts = [0] if pattern.repeat_ms is None else [0, pattern.repeat_ms]
    end_ms = bursts[-1] + pattern.length_ms
    out = array("h", bytes(2 * _at(end_ms)))
    for burst_ms in bursts:
        position = burst_ms
        for hz, ms in pattern.segments:
            if hz:
                start, stop = _at(position), _at(position + ms)
                out[start:stop] = _pulse(hz, stop - start, peak)
            position += ms
    return out


def write_wav(pattern, path) -> float:
    """Write the pattern's WAV file at `path`; its length in seconds."""
    data = samples(pattern)
    if sys.byteorder == "big":
        data.byteswap()  # WAV samples are little-endian
    with wave.open(str(Path(path)), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(data.tobytes())
    return len(data) / RATE


def file_name(pattern) -> str:
    return f"pumpwatch-{pattern.name}.wav"
