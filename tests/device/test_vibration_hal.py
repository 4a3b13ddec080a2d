"""The emulated unit's vibration motor and loud buzzer, on both backends.

The core does not drive the motor yet, so the plumbing is checked with a tiny
main.py of our own on the unit's flash: the real hal/emulator.py under real
MicroPython (wasm and unix ports), reporting has_vibration() on the port and
switching the motor on and off at each wake-up, one second apart.  What the
host records is then `Emulator(vibration=...)`, `vibration_log()`,
`buzzer_log()` and `buzzer_loud_log()`, over a power cut and a reboot.
"""

from __future__ import annotations

import pytest

from pumpsync.emulator import Emulator, install_firmware
from pumpwatch import timecalc

START = "2026-11-20T10:30:00Z"
T0 = timecalc.parse_iso(START) * 1000

PROBE = '''\
from hal.emulator import EmulatorHAL

hal = EmulatorHAL()
hal.serial_write("motor=%d\\r\\n" % (1 if hal.has_vibration() else 0))
hal.vibration(False)  # already off: no change to report
hal.buzzer(880, loud=True)
hal.buzzer(660)
hal.buzzer(0, loud=True)  # silence is never loud
wakes = [0]


def step(events):
    wakes[0] += 1
    on = wakes[0] % 2 == 1  # on at boot, off a second later, on again...
    hal.vibration(on)
    hal.vibration(on)  # the same again: no change to report
    return 1000


hal.run(step)
'''


def _probe_unit(tmp_path, backend, vibration):
    """A unit whose main.py is PROBE (the rest of its flash is the firmware)."""
    state = tmp_path / backend
    install_firmware(state / "flash", compiled=False)
    (state / "flash" / "main.py").write_text(PROBE)
    return Emulator(state_dir=state, start_time=START, speed=0, backend=backend, vibration=vibration)


@pytest.fixture
def emulator_only(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (a probe on the flash, virtual time, power)")


@pytest.mark.parametrize("backend", ["wasm", "unix"])
def test_the_motor_runs_in_the_log_and_stops_with_the_power(tmp_path, emulator_only, backend):
    with _probe_unit(tmp_path, backend, vibration=True) as emu:
        emu.advance(2.5)
        assert emu.vibration_log() == [(T0, 1), (T0 + 1000, 0), (T0 + 2000, 1)]
        emu.power_cut()
        assert emu.vibration_log()[-1] == (T0 + 2500, 0), "a power cut stops the motor"
        emu.boot()
        assert emu.vibration_log()[-1] == (T0 + 2500, 1), "the motor is still fitted after a reboot"
        assert emu.serial_output().count(b"motor=1\r\n") == 2
        assert emu.stats()["crashes"] == 0, emu.stats().get("error")


@pytest.mark.parametrize("backend", ["wasm", "unix"])
def test_a_unit_without_a_motor_reports_none_and_logs_nothing(tmp_path, emulator_only, backend):
    with _probe_unit(tmp_path, backend, vibration=False) as emu:
        emu.advance(2.5)
        assert b"motor=0\r\n" in emu.serial_output()
        assert emu.vibration_log() == []
        assert emu.stats()["crashes"] == 0, emu.stats().get("error")


@pytest.mark.parametrize("backend", ["wasm", "unix"])
def test_the_buzzer_log_keeps_its_shape_and_the_loud_log_adds_the_flag(tmp_path, emulator_only, backend):
    with _probe_unit(tmp_path, backend, vibration=False) as emu:
        assert emu.buzzer_log() == [(T0, 880), (T0, 660), (T0, 0)]
        assert emu.buzzer_loud_log() == [(T0, 880, 1), (T0, 660, 0), (T0, 0, 0)]
