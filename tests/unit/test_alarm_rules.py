"""Alarm sounds, priorities and acknowledgement rules (core, on CPython)."""

from __future__ import annotations

import pytest

from pumpwatch import readout, sounds
from pumpwatch.alarm_policy import DONE, ESCALATE_AFTER_HIGH_RISK_S, ESCALATE_AFTER_S, HIGH_PAUSE_S, \
    MEDIUM_PAUSE_HIGH_RISK_S, MEDIUM_PAUSE_S, AlarmPolicy
from pumpwatch.conditions import (BATTERY_LOW, EMPTY, LOW_RESERVOIR, NO_SETTINGS, SAFE_MODE, SETTINGS_REJECTED,
                                  STORAGE_CORRUPT, TIME_UNKNOWN, Schedule, reminder_id)
from pumpwatch.sounds import HIGH, MEDIUM


def _pulses(pattern):
    """[(Hz, ms)] of the sounding segments and the gaps between them."""
    return [(hz, ms) for hz, ms in pattern.segments]


def test_high_priority_is_ten_pulses_in_groups_of_three_plus_two():
    segments = _pulses(sounds.HIGH_ALARM)
    pulses = [ms for hz, ms in segments if hz]
    gaps = [ms for hz, ms in segments if not hz]
    assert len(pulses) == 10
    assert all(75 <= ms <= 200 for ms in pulses)
    # gaps: within a group 50-125 ms; pulse 3->4 longer (rhythm 3+2); pulse 5->6 350-1300 ms
    assert gaps[0] == gaps[1] == gaps[3] and 50 <= gaps[0] <= 125
    assert gaps[2] > gaps[0]
    assert 350 <= gaps[4] <= 1300
    silence = sounds.HIGH_ALARM.repeat_ms - sounds.HIGH_ALARM.length_ms
    assert 2500 <= silence <= 15000


def test_melody_is_drug_delivery_c_d_g_c_d():
    tones = [hz for hz, _ in sounds.HIGH_ALARM.segments if hz]
    assert tones[:5] == [sounds.C5, sounds.D5, sounds.G5, sounds.C5, sounds.D5]
    assert [hz for hz, _ in sounds.MEDIUM_ALARM.segments if hz] == [sounds.C5, sounds.D5, sounds.G5]
    assert all(150 <= hz <= 1000 for hz in tones)


def test_medium_and_low_pulse_timings_are_in_range():
    medium = [ms for _, ms in sounds.MEDIUM_ALARM.segments]
    assert len([hz for hz, _ in sounds.MEDIUM_ALARM.segments if hz]) == 3
    assert all(125 <= ms <= 250 for ms in medium)
    low = [(hz, ms) for hz, ms in sounds.LOW_ALARM.segments if hz]
    assert 1 <= len(low) <= 2 and all(125 <= ms <= 250 for _, ms in low)


def test_led_flash_rates_follow_priority():
    on, off = sounds.HIGH_ALARM.led
    assert 1.4 <= 1000 / (on + off) <= 2.8
    on, off = sounds.MEDIUM_ALARM.led
    assert 0.4 <= 1000 / (on + off) <= 0.8


def test_play_walks_a_burst_and_says_when_it_next_changes():
    assert sounds.play(sounds.MEDIUM_ALARM, 0) == (sounds.C5, True, 200)
    assert sounds.play(sounds.MEDIUM_ALARM, 250)[0] == 0
    assert sounds.play(sounds.MEDIUM_ALARM, 4750)[0] == sounds.C5  # next burst
    freq, led, change = sounds.play(sounds.BOOT_CHIRP, 500)
    assert (freq, led, change) == (0, False, None)


def test_low_priority_slows_down_after_two_minutes():
    pattern = sounds.LOW_ALARM
    starts = [t for t in range(0, 1_400_000, 1000) if sounds.play(pattern, t)[0] and
              not sounds.play(pattern, t - 1000)[0]]
    early = [t for t in starts if t < 120000]
    late = [t for t in starts if t >= 120000]
    assert all(b - a == 16000 for a, b in zip(early, early[1:]))
    assert all(b - a == 600000 for a, b in zip(late, late[1:]))


def test_a_short_press_finishes_a_reminder_and_pauses_medium_for_hours_and_high_for_minutes():
    policy = AlarmPolicy()
    active = [(reminder_id(3), 100), (LOW_RESERVOIR, 100), (EMPTY, 100)]
    top, sounding, _ = policy.sounding(active, {}, 200)
    assert top == sounds.SOUND_HIGH and len(sounding) == 3
    acks = policy.acknowledge(sounding, {}, 200)
    assert acks[reminder_id(3)] == DONE
    assert acks[LOW_RESERVOIR] == 200 + MEDIUM_PAUSE_S
    assert acks[EMPTY] == 200 + HIGH_PAUSE_S
    assert policy.sounding(active, acks, 201)[0] == 0
    top, sounding, _ = policy.sounding(active, acks, 200 + HIGH_PAUSE_S)
    assert sounding == [(EMPTY, HIGH)]


def test_a_pause_never_silences_a_new_condition():
    policy = AlarmPolicy()
    acks = policy.acknowledge([(LOW_RESERVOIR, MEDIUM)], {}, 1000)
    top, sounding, _ = policy.sounding([(LOW_RESERVOIR, 900), (EMPTY, 1500)], acks, 1500)
    assert sounding == [(EMPTY, HIGH)]


def test_an_unacknowledged_refill_alarm_becomes_the_strong_medium_never_the_high_sound():
    policy = AlarmPolicy()
    top, sounding, change = policy.sounding([(LOW_RESERVOIR, 0)], {}, 10)
    assert top == sounds.SOUND_MEDIUM and change == ESCALATE_AFTER_S
    top, sounding, _ = policy.sounding([(LOW_RESERVOIR, 0)], {}, ESCALATE_AFTER_S)
    assert top == sounds.SOUND_STRONG and sounding == [(LOW_RESERVOIR, MEDIUM)]
    assert policy.sounding([(LOW_RESERVOIR, 0)], {}, 30 * 86400)[0] == sounds.SOUND_STRONG
    # after a pause it escalates again only if ignored again
    acks = {LOW_RESERVOIR: 5000}
    assert policy.sounding([(LOW_RESERVOIR, 0)], acks, 5001)[0] == sounds.SOUND_MEDIUM


def test_high_withdrawal_risk_pauses_less_and_escalates_sooner():
    policy = AlarmPolicy(high_risk=True)
    assert policy.acknowledge([(LOW_RESERVOIR, MEDIUM)], {}, 0)[LOW_RESERVOIR] == MEDIUM_PAUSE_HIGH_RISK_S
    assert policy.sounding([(LOW_RESERVOIR, 0)], {}, ESCALATE_AFTER_HIGH_RISK_S)[0] == sounds.SOUND_STRONG
    assert ESCALATE_AFTER_HIGH_RISK_S < ESCALATE_AFTER_S


def test_the_units_own_faults_play_the_technical_sound_and_never_escalate():
    for fault in (TIME_UNKNOWN, BATTERY_LOW, NO_SETTINGS, SETTINGS_REJECTED, STORAGE_CORRUPT, SAFE_MODE):
        top, sounding, change = AlarmPolicy(high_risk=True).sounding([(fault, 0)], {}, 86400)
        assert (top, sounding, change) == (sounds.SOUND_TECHNICAL, [(fault, MEDIUM)], None)


def test_a_refill_alarm_outranks_a_unit_fault():
    top, _, _ = AlarmPolicy().sounding([(BATTERY_LOW, 0), (LOW_RESERVOIR, 0)], {}, 10)
    assert top == sounds.SOUND_MEDIUM


def test_only_the_latest_reminder_is_active_and_not_once_the_reservoir_is_low():
    schedule = Schedule([(100, reminder_id(7)), (200, reminder_id(3)), (300, LOW_RESERVOIR)])
    assert schedule.active(150) == [(reminder_id(7), 100)]
    assert schedule.active(250) == [(reminder_id(3), 200)]
    assert schedule.active(300) == [(LOW_RESERVOIR, 300)]
    assert schedule.next_start(250) == 300 and schedule.next_start(300) is None


@pytest.mark.parametrize("weeks", [1, 3, 12])
def test_status_readout_beeps_once_per_week(weeks):
    pattern = readout.weeks(weeks)
    assert len([hz for hz, _ in pattern.segments if hz]) == weeks
    assert pattern.repeat_ms is None


def test_every_condition_has_words_for_the_timeline_and_a_sound():
    from pumpwatch.alarm_policy import sound_of
    from pumpwatch.conditions import PRIORITY
    from pumpwatch.descriptions import DESCRIPTION
    assert set(DESCRIPTION) == set(PRIORITY)
    assert all(sound_of(kind) in sounds.BY_SOUND for kind in PRIORITY)
