"""Alarm sounds and lights as data (IEC 60601-1-8 style), and how to play them.

Owns the patterns and the pure function that says, for a pattern and the time
since it started, what the buzzer and LED do now and when that next changes.
No state, no hardware: the unit asks `play()` at each wake-up.

Melody: the standard's informative "drug delivery" tune, C5 D G C5 D for
high priority and its first three notes for medium (C4 = 262 Hz).
Timings (ms) sit inside the standard's ranges:
  high    10 pulses 3+2, pause, 3+2; pulse 150, gap 100, 3->4 gap 400,
          5->6 gap 700; burst every 6.6 s          (flash 2 Hz)
  medium  3 pulses, pulse 200, gap 150; burst every 4.75 s   (flash 0.5 Hz)
  low     2 pulses, pulse 200, gap 150; every 16 s for 2 minutes, then
          every 10 minutes until acknowledged       (short blink)
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

from pumpwatch.conditions import HIGH, LOW, MEDIUM  # noqa: E402  (priorities belong to conditions)

PRIORITY_NAMES = {LOW: "low", MEDIUM: "medium", HIGH: "high"}

C5 = const(523)
D5 = const(587)
G5 = const(784)

_PULSE_HIGH = const(150)
_GAP_HIGH = const(100)


def _group_of_five():
    return ((C5, _PULSE_HIGH), (0, _GAP_HIGH), (D5, _PULSE_HIGH), (0, _GAP_HIGH), (G5, _PULSE_HIGH),
            (0, 400), (C5, _PULSE_HIGH), (0, _GAP_HIGH), (D5, _PULSE_HIGH))


class Pattern:
    """A burst of (Hz, ms) segments (0 Hz = silence) repeated every `repeat_ms`;
    optionally every `slow_repeat_ms` once `slow_after_ms` have passed;
    `repeat_ms` None plays it once.  LED: (on_ms, off_ms) or None."""

    def __init__(self, name, segments, repeat_ms, led, slow_after_ms=None, slow_repeat_ms=None):
        self.name = name
        self.segments = segments
        self.length_ms = sum(ms for _, ms in segments)
        self.repeat_ms = repeat_ms
        self.led = led
        self.slow_after_ms = slow_after_ms
        self.slow_repeat_ms = slow_repeat_ms


HIGH_ALARM = Pattern("high", _group_of_five() + ((0, 700),) + _group_of_five(), 6600, (250, 250))
MEDIUM_ALARM = Pattern("medium", ((C5, 200), (0, 150), (D5, 200), (0, 150), (G5, 200)), 4750, (1000, 1000))
LOW_ALARM = Pattern("low", ((C5, 200), (0, 150), (D5, 200)), 16000, (100, 3900),
                    slow_after_ms=120000, slow_repeat_ms=600000)
BY_PRIORITY = {HIGH: HIGH_ALARM, MEDIUM: MEDIUM_ALARM, LOW: LOW_ALARM}

BOOT_CHIRP = Pattern("boot", ((G5, 120),), None, None)
# "Press and hold now to pair": a rising-falling trill no alarm uses.
PAIRING_CHIRP = Pattern("pairing", ((G5, 90), (0, 60), (C5, 90), (0, 60), (G5, 90), (0, 60), (C5, 90)), None,
                        (90, 60))
# "Hold 10 s again to erase this unit": two long low tones.
RESET_CHIRP = Pattern("factory reset?", ((C5, 600), (0, 200), (C5, 600)), None, (600, 200))


def _burst_position(pattern, elapsed):
    """(offset into the current burst, ms until the next burst starts or None)."""
    if pattern.repeat_ms is None:
        return elapsed, None
    slow_after = pattern.slow_after_ms
    if slow_after is None or elapsed < slow_after:
        offset = elapsed % pattern.repeat_ms
        next_burst = pattern.repeat_ms - offset
        if slow_after is not None:
            next_burst = min(next_burst, slow_after - elapsed)
        return offset, next_burst
    offset = (elapsed - slow_after) % pattern.slow_repeat_ms
    return offset, pattern.slow_repeat_ms - offset


def play(pattern, elapsed_ms):
    """(buzzer Hz, LED on?, ms until either changes or None) at `elapsed_ms`
    after the pattern started.  None for the last value: it never changes again."""
    offset, next_burst = _burst_position(pattern, elapsed_ms)
    freq = 0
    sound_change = next_burst
    position = 0
    for hz, ms in pattern.segments:
        if offset < position + ms:
            freq = hz
            sound_change = position + ms - offset
            break
        position += ms
    if sound_change is not None and next_burst is not None:
        sound_change = min(sound_change, next_burst)
    led = False
    led_change = None
    if pattern.led is not None:
        on_ms, off_ms = pattern.led
        if pattern.repeat_ms is None and elapsed_ms >= pattern.length_ms:
            led = False
        else:
            phase = elapsed_ms % (on_ms + off_ms)
            led = phase < on_ms
            led_change = (on_ms - phase) if led else (on_ms + off_ms - phase)
    if pattern.repeat_ms is None and elapsed_ms >= pattern.length_ms:
        return 0, False, None
    if sound_change is None:
        return freq, led, led_change
    if led_change is None:
        return freq, led, sound_change
    return freq, led, min(sound_change, led_change)


def finished(pattern, elapsed_ms):
    return pattern.repeat_ms is None and elapsed_ms >= pattern.length_ms
