"""Every alarm pattern the unit plays sits inside the IEC 60601-1-8 ranges
(docs: /work/shared/domain.md "Alarm sound standard"), checked on the data in
firmware/pumpwatch/sounds.py, and the sounds stay tellable apart."""

from __future__ import annotations

import pytest

from pumpwatch import sounds

BURST_LIKE_MEDIUM = (sounds.MEDIUM_ALARM, sounds.STRONG_ALARM, sounds.TECHNICAL_ALARM)


def _pulses(pattern):
    """[(start ms, Hz, length ms)] of the tones of one burst."""
    found, position = [], 0
    for hz, ms in pattern.segments:
        if hz:
            found.append((position, hz, ms))
        position += ms
    return found


def _gaps(pattern):
    """Silence between one pulse's end and the next one's start, ms."""
    pulses = _pulses(pattern)
    return [b[0] - (a[0] + a[2]) for a, b in zip(pulses, pulses[1:])]


def _flash_hz(pattern):
    on, off = pattern.led
    return 1000 / (on + off)


def test_the_teaching_order_holds_each_alarm_once():
    assert [p.name for p in sounds.ALARMS] == ["high", "strong", "medium", "technical", "low"]
    assert set(sounds.BY_SOUND.values()) == set(sounds.ALARMS)


def test_high_is_ten_pulses_in_two_groups_of_three_plus_two():
    pattern = sounds.HIGH_ALARM
    pulses, gaps = _pulses(pattern), _gaps(pattern)
    assert len(pulses) == 10
    assert all(75 <= ms <= 200 for _, _, ms in pulses)
    within_groups = [gaps[i] for i in (0, 1, 3, 5, 6, 8)]  # 1-2, 2-3, 4-5 | 6-7, 7-8, 9-10
    assert all(50 <= g <= 125 for g in within_groups), gaps
    for three_to_four in (gaps[2], gaps[7]):  # pulse 3 -> 4 and 8 -> 9
        assert abs(three_to_four - (2 * gaps[0] + pulses[0][2])) <= 10, gaps
    assert 350 <= gaps[4] <= 1300  # pulse 5 -> 6
    assert 2500 <= pattern.repeat_ms <= 15000 and pattern.length_ms < pattern.repeat_ms


@pytest.mark.parametrize("pattern", BURST_LIKE_MEDIUM, ids=lambda p: p.name)
def test_medium_strong_and_technical_are_three_pulses(pattern):
    pulses, gaps = _pulses(pattern), _gaps(pattern)
    assert len(pulses) == 3
    assert all(125 <= ms <= 250 for _, _, ms in pulses)
    assert all(125 <= g <= 250 for g in gaps)
    assert 2500 <= pattern.repeat_ms <= 30000 and pattern.length_ms < pattern.repeat_ms


def test_strong_is_the_medium_sound_repeated_sooner():
    assert sounds.STRONG_ALARM.segments == sounds.MEDIUM_ALARM.segments
    assert sounds.STRONG_ALARM.repeat_ms < sounds.MEDIUM_ALARM.repeat_ms


def test_low_is_one_or_two_pulses_repeating_rarely():
    pattern = sounds.LOW_ALARM
    pulses = _pulses(pattern)
    assert 1 <= len(pulses) <= 2
    assert all(125 <= ms <= 250 for _, _, ms in pulses)
    assert pattern.repeat_ms >= 15000
    assert pattern.slow_repeat_ms is None or pattern.slow_repeat_ms >= 15000


@pytest.mark.parametrize("pattern", sounds.ALARMS, ids=lambda p: p.name)
def test_every_pulse_is_between_150_and_1000_hz(pattern):
    assert all(150 <= hz <= 1000 for _, hz, _ in _pulses(pattern))


def test_the_light_flashes_fast_for_high_and_slowly_for_the_three_pulse_sounds():
    assert 1.4 <= _flash_hz(sounds.HIGH_ALARM) <= 2.8
    for pattern in BURST_LIKE_MEDIUM:
        assert 0.4 <= _flash_hz(pattern) <= 0.8, pattern.name


def test_the_sounds_cannot_be_taken_for_one_another():
    tune = {p.name: [hz for _, hz, _ in _pulses(p)] for p in sounds.ALARMS}
    assert tune["technical"] != tune["medium"]  # the unit's own faults are not the pump's refill
    assert [name for name, notes in tune.items() if len(notes) == 10] == ["high"]
    assert {p.name for p in sounds.ALARMS if p.loud} == {"high", "strong"}
