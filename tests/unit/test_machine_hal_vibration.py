"""hal/machine_hal.py's buzzer duties and vibration motor, on a fake `machine`.

The board HAL runs on real silicon only; here a stand-in `machine` module
records what the HAL does to its pins and PWM channels, so the board.json
keys (buzzer_loud_duty_u16, vibration_pin, vibration_pwm_duty_u16,
vibration_pwm_freq, vibration_active_low) are checked on CPython.
"""

from __future__ import annotations

import pytest

from fake_machine import BASE, board, machine_hal  # noqa: F401  (machine_hal: the fixture)


def test_the_buzzer_uses_the_normal_duty_and_the_loud_one_when_asked(machine_hal):
    hal = machine_hal.MachineHAL(dict(BASE, buzzer_duty_u16=16384, buzzer_loud_duty_u16=32768))
    buzzer = board.pwms[15]
    hal.buzzer(880)
    hal.buzzer(880, loud=True)
    hal.buzzer(0)
    hal.buzzer(0, loud=True)
    assert buzzer.duties == [0, 16384, 32768, 0, 0]


def test_a_board_json_without_the_loud_duty_is_loud_at_half_duty(machine_hal):
    hal = machine_hal.MachineHAL(dict(BASE, buzzer_duty_u16=16384))
    hal.buzzer(1000, loud=True)
    assert board.pwms[15].duties[-1] == 32768


def test_no_vibration_pin_means_no_motor_and_vibration_does_nothing(machine_hal):
    for config in (BASE, dict(BASE, vibration_pin=None)):
        hal = machine_hal.MachineHAL(config)
        assert not hal.has_vibration()
        hal.vibration(True)
        assert set(board.pins) == {15, 14, 25}


@pytest.mark.parametrize("active_low, on, off", [(False, 1, 0), (True, 0, 1)])
def test_a_plain_pin_motor_starts_off_and_follows_vibration(machine_hal, active_low, on, off):
    hal = machine_hal.MachineHAL(dict(BASE, vibration_pin=16, vibration_active_low=active_low))
    motor = board.pins[16]
    assert hal.has_vibration()
    assert motor.levels == [off], "the motor must be off from the moment its pin is an output"
    hal.vibration(True)
    hal.vibration(False)
    assert motor.levels == [off, on, off]
    assert 16 not in board.pwms


def test_a_pwm_motor_runs_at_its_duty_and_frequency(machine_hal):
    hal = machine_hal.MachineHAL(dict(BASE, vibration_pin=16, vibration_pwm_duty_u16=45000,
                                      vibration_pwm_freq=25000))
    motor = board.pwms[16]
    assert board.pins[16].levels == [0] and motor.freq_hz == 25000
    hal.vibration(True)
    hal.vibration(False)
    assert motor.duties == [0, 45000, 0]


def test_a_pwm_motor_without_a_frequency_gets_the_inaudible_default(machine_hal):
    machine_hal.MachineHAL(dict(BASE, vibration_pin=16, vibration_pwm_duty_u16=45000))
    assert board.pwms[16].freq_hz == 20000


def test_an_active_low_pwm_motor_is_off_at_full_duty(machine_hal):
    hal = machine_hal.MachineHAL(dict(BASE, vibration_pin=16, vibration_pwm_duty_u16=45000,
                                      vibration_active_low=True))
    motor = board.pwms[16]
    assert board.pins[16].levels == [1]
    hal.vibration(True)
    hal.vibration(False)
    assert motor.duties == [65535, 65535 - 45000, 65535]


def test_maintenance_and_reset_stop_the_motor_and_the_buzzer(machine_hal):
    hal = machine_hal.MachineHAL(dict(BASE, vibration_pin=16))
    for leave in (lambda: hal.enter_maintenance(60000), hal.reset):
        hal.buzzer(880, loud=True)
        hal.vibration(True)
        leave()
        assert board.pins[16].level == 0
        assert board.pwms[15].duties[-1] == 0
    assert getattr(board, "reset", False)
