"""hal/rp2.py never light-sleeps while the buzzer sounds (review 28, finding 2, CRITICAL: on the
emulated Pico off USB, MicroPython's lightsleep switched clk_sys to the 12 MHz crystal mid-note, so
the PWM ran 10.4x slow: EMPTY came out at 50-75 Hz, near silence from a piezo; on silicon the PWM's
clock is also gated in the WFI).  Off USB with nothing sounding it light-sleeps as before."""

from __future__ import annotations

import sys
import types

import pytest

from fake_machine import BASE, board, machine_hal  # noqa: F401  (machine_hal: the fixture)


@pytest.fixture
def rp2(machine_hal, monkeypatch):
    sleeps = []
    machine = sys.modules["machine"]
    machine.lightsleep = lambda ms: sleeps.append(("lightsleep", ms))
    class Mem32(dict):
        def __missing__(self, key):
            return 0

    machine.mem32 = Mem32()
    monkeypatch.delitem(sys.modules, "hal.rp2", raising=False)
    import hal.rp2 as module
    monkeypatch.setattr(module, "time", machine_hal.time, raising=False)
    config = dict(BASE, sleep="lightsleep", usb_present_pin=24)
    hal = module.Rp2HAL.__new__(module.Rp2HAL)
    machine_hal.MachineHAL.__init__(hal, config)
    hal._buzzer_csr = 0
    board.pins[24] = types.SimpleNamespace(value=lambda: 0)  # VBUS low: on the battery
    return hal, sleeps


def test_off_usb_and_silent_it_light_sleeps(rp2, monkeypatch):
    hal, sleeps = rp2
    monkeypatch.setattr(hal, "usb_connected", lambda: False)
    hal.sleep(500)
    assert sleeps == [("lightsleep", 500)]


def test_a_pwm_motor_running_keeps_it_awake_too(machine_hal, monkeypatch):
    hal = machine_hal.MachineHAL(dict(BASE, sleep="lightsleep", vibration_pin=16, vibration_pwm_duty_u16=45000))
    monkeypatch.setattr(hal, "usb_connected", lambda: False)
    assert hal.may_light_sleep()
    hal.vibration(True)
    assert not hal.may_light_sleep()
    hal.vibration(False)
    assert hal.may_light_sleep()


def test_off_usb_it_never_light_sleeps_while_a_note_sounds(rp2, monkeypatch):
    hal, sleeps = rp2
    monkeypatch.setattr(hal, "usb_connected", lambda: False)
    hal.buzzer(523, loud=True)
    hal.sleep(150)
    assert sleeps == [], "a light sleep mid-note slows or stops the buzzer's PWM"
    hal.buzzer(0)
    hal.sleep(100)
    assert sleeps == [("lightsleep", 100)]
