"""Review: patient.hearing_impaired needs a vibration motor (issue 11)."""

from __future__ import annotations

from helpers_review import BASE, copy, log, unit
from pumpsync.emulator import Emulator
from sound_helpers import alarm_bursts


def _doc():
    doc = copy(BASE)
    doc["patient"]["hearing_impaired"] = True
    return doc


def test_placed_hearing_impaired_settings_on_a_unit_without_a_motor_are_refused(tmp_path, hardware_free):
    emu, forecast = unit(tmp_path, _doc(), vibration=False)
    with emu:
        emu.advance(60)
        entries = log(emu)
        status_faults = [e for e in entries if e["e"] in ("raised", "active")]
    assert not any(e["e"] == "settings" for e in entries), entries
    assert any("settings_rejected" in str(e) or "no_settings" in str(e) for e in status_faults)


def test_a_hearing_impaired_unit_booted_without_its_motor_says_so(tmp_path, hardware_free):
    """Settings accepted on a unit with a motor; the unit later boots without one (firmware
    redeployed with a board file whose vibration_pin is null, a board swapped under the same
    flash).  The stored settings are used again at boot without the motor check: a deaf
    patient's unit runs silently-for-them with no fault raised.  Expected: a technical fault
    (the nurse sees it in status) or the settings refused, as at a sync."""
    emu, forecast = unit(tmp_path, _doc(), vibration=True)
    with emu:
        emu.advance(60)
        assert any(e["e"] == "settings" for e in log(emu))
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.empty_at - 60, speed=0, vibration=False) as emu:
        emu.advance(600)
        heard = alarm_bursts(emu.buzzer_log())
        entries = log(emu)
        felt = [entry for entry in emu.vibration_log() if entry[1]]
    assert any(n == "high" for _, n in heard)  # EMPTY sounds on the buzzer the patient cannot hear...
    assert felt == []  # ...and nothing shakes
    raised = [e for e in entries if e["e"] in ("raised", "active", "fault")]
    assert any("settings" in str(e.get("c")) for e in raised), (
        "no fault for a hearing-impaired patient's unit without a motor: %s" % raised)


def _felt_bursts(vibration):
    """[(start ms, ((on ms, off ms), ...))] of each run of motor pulses (>= 1 s apart)."""
    found, current, last_off, on_at = [], None, None, None
    for t, on in vibration:
        if on:
            if current is None or t - last_off >= 1000:
                current = [t, []]
                found.append(current)
            elif last_off is not None:
                current[1].append(("off", t - last_off))
            on_at = t
        elif on_at is not None:
            current[1].append(("on", t - on_at))
            last_off, on_at = t, None
    return [(start, tuple(seq)) for start, seq in found]


def test_a_deaf_patient_can_feel_refill_now_apart_from_unit_fault(tmp_path, hardware_free):
    """For patient.hearing_impaired the motor is the alarm.  The refill alarm (medium: C5 D G,
    200/150 ms) and the unit's own fault (technical: G C5 C4, 200/150 ms) differ only in pitch,
    which the motor does not carry: on the skin both are three 200 ms buzzes 150 ms apart.
    Expected: each meaning a felt rhythm of its own (docs/alarms.md: 'Each sound has one meaning.
    If the unit has a vibration motor it buzzes in the same rhythm')."""
    doc = _doc()
    emu, forecast = unit(tmp_path, doc, vibration=True)
    with emu:
        emu.advance(3600)
        emu.set_battery(3300)  # technical
        emu.advance(60)
        technical = _felt_bursts(emu.vibration_log())[-2][1]
        emu.set_battery(3900)
        emu.advance(60)
        emu.advance(forecast.low_reservoir_at - emu.now())
        seen = len(emu.vibration_log())
        emu.advance(30)
        medium = _felt_bursts(emu.vibration_log()[seen:])[1][1]
    assert technical != medium, "felt the same: %s" % (technical,)
