"""Review of "refilled elsewhere" (issue 11): can it start, or last, without the patient meaning it?"""

from __future__ import annotations

from helpers_review import BASE, CHIRP_S, DAY, elsewhere_started, live, unit
from sound_helpers import alarm_bursts


def _press_readout(emu):
    """The documented status readout: 'Hold the button for 2 seconds (then let go)'."""
    emu.press(2000)


def test_panic_presses_then_the_status_readout_do_not_silence_empty(tmp_path, hardware_free):
    """EMPTY sounds; the patient presses three times (the first press seemed not to work), then,
    a few seconds later, holds the button for 2 s "to hear where I stand" (README, docs/alarms.md).
    Nobody refilled the pump elsewhere.  Expected: EMPTY comes back after its 15-minute pause."""
    emu, forecast = unit(tmp_path, BASE)
    with emu:
        live(emu, forecast.empty_at + 120)
        for _ in range(3):
            emu.press(200)
            emu.advance(0.5)
        emu.advance(CHIRP_S + 2)  # a couple of seconds of looking at the unit
        _press_readout(emu)
        seen = len(emu.buzzer_log())
        emu.advance(3600)  # an hour: EMPTY should have come back after 15 min
        heard = alarm_bursts(emu.buzzer_log()[seen:])
        started = elsewhere_started(emu)
    assert not started, "the patient never said 'refilled elsewhere': %s" % started
    assert any(name == "high" for _, name in heard)


def test_frantic_pressing_six_times_then_a_hold_does_not_silence_empty(tmp_path, hardware_free):
    """Six quick presses: the fourth cancels the question, the sixth asks it again; a hold after
    that must not turn EMPTY into a once-a-day reminder for 7 days."""
    emu, forecast = unit(tmp_path, BASE)
    with emu:
        live(emu, forecast.empty_at + 120)
        for _ in range(6):
            emu.press(150)
            emu.advance(0.4)
        emu.advance(CHIRP_S + 1)
        emu.press(1800)
        seen = len(emu.buzzer_log())
        emu.advance(3600)
        heard = alarm_bursts(emu.buzzer_log()[seen:])
        started = elsewhere_started(emu)
    assert not started
    assert any(name == "high" for _, name in heard)


def test_refilled_elsewhere_cannot_be_renewed_past_7_days(tmp_path, hardware_free):
    """docs/alarms.md: 'For up to 7 days ... After 7 days the alarms come back.'  Repeating the
    gesture on day 6 (and so on, weekly) must not keep EMPTY silent for longer."""
    emu, forecast = unit(tmp_path, BASE)
    with emu:
        live(emu, forecast.empty_at + 120)
        first = emu.now()
        for day in (0, 6):
            live(emu, first + day * DAY)
            for _ in range(3):
                emu.press(150)
                emu.advance(0.4)
            emu.advance(CHIRP_S + 0.5)
            emu.press(6000)  # the documented yes: a 5-second hold
        live(emu, first + 7 * DAY)
        seen = len(emu.buzzer_log())
        live(emu, first + 7 * DAY + 1800)  # day 7 and a half hour
        heard = alarm_bursts(emu.buzzer_log()[seen:])
        started = elsewhere_started(emu)
    assert len(started) == 1  # the second is refused: one period per set of settings
    assert any(name == "high" for t, name in heard), (
        "EMPTY still silent 7 days + 30 min after the first 'refilled elsewhere'; the second gesture "
        "moved the end to %s" % started[-1]["until"])


