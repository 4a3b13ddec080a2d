"""Alarm sounds and lights as data (IEC 60601-1-8 style), and how to play them.

Owns the patterns and the pure function that says, for a pattern and the time
since it started, what the buzzer (and the vibration motor, which follows it)
and the LED do now and when that next changes.  No state, no hardware: the
unit asks `play()` at each wake-up.  Each sound keeps one meaning (docs/alarms.md):

  high       RESERVOIR EMPTY only: the drug may stop.  The standard's
             informative "drug delivery" tune C5 D G C5 D (C4 = 262 Hz),
             10 pulses 3+2, pause, 3+2; pulse 150, gap 100, 3->4 gap 350
             (2 gaps + a pulse), 5->6 gap 700; burst every 6.6 s; loud;
             LED flashes 2 Hz.
  medium     the pump needs a refill now (low reservoir, overdue): the tune's
             first three notes C5 D G, pulse 200, gap 150, every 4.75 s;
             LED 0.5 Hz.
  strong     the same medium sound after 30 min (10 min at high risk) with no
             press: loud and every 2.6 s.  Never the high sound: that one
             means "no drug".
  technical  the unit itself needs attention (battery, clock, settings,
             storage, safe mode, "get the unit synced"): three short falling
             notes G C5 C4, pulse 125, gap 250 (a different tune, and a
             different rhythm on the vibration motor, so it cannot be taken
             for the pump), every 10 s; LED a short blink every 2 s (0.5 Hz).
  low        a reminder: C5 D, pulse 200, gap 150; every 16 s for 2 minutes,
             then every 10 minutes until pressed; LED a short blink.
Every figure sits inside the standard's ranges (tests/unit/test_alarm_rules.py).
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

from pumpwatch.conditions import HIGH, LOW, MEDIUM  # noqa: E402  (priorities belong to conditions)

PRIORITY_NAMES = {LOW: "low", MEDIUM: "medium", HIGH: "high"}

C4 = const(262)
C5 = const(523)
D5 = const(587)
G5 = const(784)

_PULSE_HIGH = const(150)
_GAP_HIGH = const(100)

# Which sound plays (alarm_policy.sounding picks one): ordered, the larger wins.
SOUND_LOW = const(1)
SOUND_TECHNICAL = const(2)
SOUND_MEDIUM = const(3)
SOUND_STRONG = const(4)
SOUND_HIGH = const(5)


def _group_of_five():
    return ((C5, _PULSE_HIGH), (0, _GAP_HIGH), (D5, _PULSE_HIGH), (0, _GAP_HIGH), (G5, _PULSE_HIGH),
            (0, 2 * _GAP_HIGH + _PULSE_HIGH), (C5, _PULSE_HIGH), (0, _GAP_HIGH), (D5, _PULSE_HIGH))


class Pattern:
    """A burst of (Hz, ms) segments (0 Hz = silence) repeated every `repeat_ms`;
    optionally every `slow_repeat_ms` once `slow_after_ms` have passed;
    `repeat_ms` None plays it once.  LED: (on_ms, off_ms) or None.  `loud`:
    the buzzer's loud duty (boards/*.json buzzer_loud_duty_u16)."""

    def __init__(self, name, segments, repeat_ms, led, slow_after_ms=None, slow_repeat_ms=None, loud=False):
        self.name = name
        self.segments = segments
        self.length_ms = sum(ms for _, ms in segments)
        self.repeat_ms = repeat_ms
        self.led = led
        self.slow_after_ms = slow_after_ms
        self.slow_repeat_ms = slow_repeat_ms
        self.loud = loud


_THREE = ((C5, 200), (0, 150), (D5, 200), (0, 150), (G5, 200))
HIGH_ALARM = Pattern("high", _group_of_five() + ((0, 700),) + _group_of_five(), 6600, (250, 250), loud=True)
MEDIUM_ALARM = Pattern("medium", _THREE, 4750, (1000, 1000))
STRONG_ALARM = Pattern("strong", _THREE, 2600, (1000, 1000), loud=True)
TECHNICAL_ALARM = Pattern("technical", ((G5, 125), (0, 250), (C5, 125), (0, 250), (C4, 125)), 10000, (250, 1750))
LOW_ALARM = Pattern("low", ((C5, 200), (0, 150), (D5, 200)), 16000, (100, 3900),
                    slow_after_ms=120000, slow_repeat_ms=600000)
BY_SOUND = {SOUND_HIGH: HIGH_ALARM, SOUND_STRONG: STRONG_ALARM, SOUND_MEDIUM: MEDIUM_ALARM,
            SOUND_TECHNICAL: TECHNICAL_ALARM, SOUND_LOW: LOW_ALARM}
ALARMS = (HIGH_ALARM, STRONG_ALARM, MEDIUM_ALARM, TECHNICAL_ALARM, LOW_ALARM)  # in the order a nurse teaches them

BOOT_CHIRP = Pattern("boot", ((G5, 120),), None, None)
# "Press and hold now to pair": a rising-falling trill no alarm uses.
PAIRING_CHIRP = Pattern("pairing", ((G5, 90), (0, 60), (C5, 90), (0, 60), (G5, 90), (0, 60), (C5, 90)), None,
                        (90, 60))
# "Hold 10 s again to erase this unit": two long low tones.
RESET_CHIRP = Pattern("factory reset?", ((C5, 600), (0, 200), (C5, 600)), None, (600, 200))
# "Refilled somewhere else?  Hold the button to say yes": a slow rising pair, twice.
ELSEWHERE_CHIRP = Pattern("refilled elsewhere?", ((C5, 300), (0, 100), (G5, 300), (0, 400), (C5, 300), (0, 100),
                                                   (G5, 300)), None, (300, 100))
# "Done": a short low note and a long high one (no alarm's notes).
CONFIRM_CHIRP = Pattern("confirmed", ((C5, 100), (0, 60), (G5, 500)), None, (100, 60))


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
