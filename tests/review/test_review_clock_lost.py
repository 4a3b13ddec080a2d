"""Review: a unit that loses its clock while the pump is empty (RP2040, battery changed)."""

from __future__ import annotations

from helpers_review import BASE, live, unit
from pumpsync.emulator import Emulator
from sound_helpers import alarm_bursts


def test_a_battery_change_during_empty_does_not_turn_it_into_a_not_your_pump_alarm(tmp_path, hardware_free):
    """EMPTY sounds; the carer changes the unit's battery (a bare RP2040 loses its clock).  The
    unit then plays only the technical sound, which docs/alarms.md and `pumpsync alarm test`
    teach as 'the unit itself needs attention, not your pump ... call the clinic (this week)',
    pausable for 4 h.  The unit's own log says it was sounding EMPTY minutes ago (the last
    logged time is a lower bound on now).  Expected: it keeps the EMPTY (or at least a refill)
    sound, not the 'not your pump' one."""
    emu, forecast = unit(tmp_path, BASE, rtc_backup=False)
    with emu:
        live(emu, forecast.empty_at + 600)
        assert alarm_bursts(emu.buzzer_log())[-1][1] == "high"
        emu.power_cut()
        emu.boot()
        seen = len(emu.buzzer_log())
        emu.advance(1800)
        heard = alarm_bursts(emu.buzzer_log()[seen:])
    names = {n for _, n in heard}
    assert names & {"high", "medium", "strong"}, names
