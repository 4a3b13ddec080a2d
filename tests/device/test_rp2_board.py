"""PumpWatch on an emulated Raspberry Pi Pico: the board HAL on emulated silicon.

A fresh Pico (rp2040js running the official MicroPython v1.27.0 UF2, the
"rp2" emulator backend) gets PumpWatch only the way a technician installs
it, `pumpsync deploy --board rp2`; then it is paired by a press of GP14,
synced with an example and read with `pumpsync status`.  The buzzer's PWM on
GP15 is measured against the patterns in firmware/pumpwatch/sounds.py, a
virtual day of monitoring is fast-forwarded, and the watchdog brings a unit
left in maintenance back to monitoring.  Skipped when the UF2 is not found.
The tests share one unit and run in order (a deploy takes ~30 s of wall time).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pumpsync.emulator import Emulator, EmulatorError
from pumpsync.emulator.rp2board import find_bootrom, find_firmware
from pumpwatch import sounds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clinic import Clinic, settings_for_now  # noqa: E402

try:
    find_firmware()
    find_bootrom()
    MISSING = None
except EmulatorError as exc:
    MISSING = str(exc)

pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"no emulated Pico: {MISSING}")
FIGURES: dict = {}
# The emulated core runs ~4x slower than silicon (less on a loaded machine): a unit that
# restarted to check new settings may take longer than pumpsync's default 5 s to answer.
SLOW = ("--timeout", "30")


@pytest.fixture(scope="module")
def pico(tmp_path_factory):
    """A fresh emulated Pico with PumpWatch deployed onto it by pumpsync, and a nurse's computer."""
    tmp = tmp_path_factory.mktemp("rp2")
    emu = Emulator(tmp / "unit", backend="rp2")
    emu.start()
    clinic = Clinic(tmp, emu)
    start = time.monotonic()
    deploy = clinic.run("deploy", "--board", "rp2", timeout=600)
    FIGURES["deploy_wall_s"] = round(time.monotonic() - start, 1)
    clinic.deploy = deploy
    try:
        yield clinic
    finally:
        emu.close()
        print("\nrp2 figures:", json.dumps(FIGURES))


WATCHDOG_TIMER = 1  # the watchdog's REASON bits: TIMER 1 (it bit), FORCE 2 (machine.reset())


def watchdog_timeouts(emu) -> int:
    return sum(1 for e in emu.events() if e["k"] == "watchdog" and e["reason"] & WATCHDOG_TIMER)


def boot_causes(clinic) -> list[str]:
    """The cause of each boot in the unit's event log, oldest first."""
    log = clinic.run("log", "--json", *SLOW)
    assert log.returncode == 0, log.stderr
    return re.findall(r'"cause": "(\w+)"', log.stdout)


def hello(clinic) -> dict:
    from pumpsync.client import UnitClient
    with UnitClient(clinic.emu.port, timeout=5) as client:
        return client.call("hello")


def test_deploy_installs_pumpwatch_onto_a_fresh_pico(pico):
    assert pico.deploy.returncode == 0, pico.deploy.stdout + pico.deploy.stderr
    assert "installing onto MicroPython" in pico.deploy.stdout
    assert "deploy verified" in pico.deploy.stdout
    reply = hello(pico)
    assert reply["board"] == "pico" and reply["firmware"]
    stats = pico.emu.stats()
    assert stats["watchdog_resets"] >= 1  # mpremote's reset is machine.reset(): the watchdog's forced trigger
    assert stats["unknown_bkpt"] == 0


def test_boot_to_monitoring_after_a_reset(pico):
    """The RUN pin: the unit comes back and answers (boot to monitoring, in wall seconds)."""
    start = time.monotonic()
    pico.emu.reset()
    deadline = start + 60
    while True:
        try:
            hello(pico)
            break
        except Exception:
            assert time.monotonic() < deadline, pico.emu.serial_output()[-2000:]
    FIGURES["boot_to_answering_wall_s"] = round(time.monotonic() - start, 2)


def _burst_notes(tones, pattern):
    """The tones of one whole burst of `pattern`, found in the recorded tones."""
    notes = [(hz, ms) for hz, ms in pattern.segments if hz]
    for i in range(len(tones) - len(notes) + 1):
        if all(abs(tones[i + j]["freq_hz"] - hz) <= hz * 0.01 for j, (hz, _) in enumerate(notes)):
            return tones[i:i + len(notes)], tones[i + len(notes):]
    return None, []


def test_an_unconfigured_unit_sounds_the_technical_alarm_as_the_patterns_say(pico):
    """A Pico with no settings and no clock needs attention: the technical sound
    (sounds.TECHNICAL_ALARM) on GP15, each note's frequency within 1 %, each note,
    gap and the burst's repeat within 5 ms of emulated time."""
    emu = pico.emu
    since = emu.now() * 1000
    emu.advance(22)
    tones = [t for t in emu.tones() if t["start_ms"] >= since]
    pattern = sounds.TECHNICAL_ALARM
    burst, rest = _burst_notes(tones, pattern)
    assert burst, tones
    following, _ = _burst_notes(rest, pattern)
    assert following, rest
    position = 0
    for hz, ms in pattern.segments:
        if hz:
            note = burst.pop(0)
            if position:
                assert abs(note["start_ms"] - first - position) <= 5, (note, position)
            else:
                first = note["start_ms"]
            assert abs(note["freq_hz"] - hz) <= 0.01 * hz, note
            assert abs(note["end_ms"] - note["start_ms"] - ms) <= 5, note
        position += ms
    assert abs(following[0]["start_ms"] - first - pattern.repeat_ms) <= 5
    pwm = emu.pwm(15, following[0]["start_ms"] / 1000, following[0]["end_ms"] / 1000)
    assert abs(pwm["duty"] - 16384 / 65536) < 0.01  # boards/pico.json buzzer_duty_u16
    FIGURES["technical_first_note_hz"] = round(following[0]["freq_hz"], 2)


def test_pair_by_the_button_then_sync_an_example_and_read_the_status(pico, tmp_path):
    pico.pair()  # pumpsync pair; the trill; then GP14 held low for 2 s through the control API
    clock = pico.run("time", "set", "--confirm", "clock-jump")
    assert clock.returncode == 0, clock.stdout + clock.stderr
    settings = settings_for_now(tmp_path)
    sync = pico.run("sync", str(settings), "--yes")
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert "Written and verified" in sync.stdout
    status = pico.run("status", *SLOW)
    assert status.returncode == 0, status.stderr
    assert "paired with this computer" in status.stdout
    assert "sounding   nothing" in status.stdout
    assert "remaining  19.9" in status.stdout
    assert "battery    80 % (3899 mV)" in status.stdout


def _remaining_ml(pico) -> float:
    status = pico.run("status", "--json", *SLOW)
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["forecast"]["volume_ml"]


def test_a_virtual_day_of_monitoring_fast_forwards(pico):
    before = _remaining_ml(pico)
    start = time.monotonic()
    pico.emu.advance(86400)
    FIGURES["wall_s_per_virtual_day_usb"] = round(time.monotonic() - start, 1)
    after = _remaining_ml(pico)
    # 400 mcg/day of 2000 mcg/mL (examples/simple-continuous.json): 0.2 mL a day
    assert 0.19 <= before - after <= 0.22, (before, after)
    assert watchdog_timeouts(pico.emu) == 0  # machine.reset() (deploy, sync) is a forced trigger, not a timeout


def test_a_monitoring_unit_off_usb_light_sleeps_and_keeps_its_watchdog_fed(pico):
    emu = pico.emu
    emu.set_usb(False)  # VBUS low on GP24: hal/rp2.py light-sleeps between wake-ups
    start = time.monotonic()
    emu.advance(3600)
    FIGURES["wall_s_per_virtual_hour_lightsleep"] = round(time.monotonic() - start, 1)
    emu.set_usb(True)
    emu.advance(5)
    assert watchdog_timeouts(emu) == 0
    assert hello(pico)["firmware"]


def test_the_watchdog_brings_a_unit_left_in_maintenance_back_to_monitoring(pico):
    emu = pico.emu
    resets = watchdog_timeouts(emu)
    done = pico.run("maintenance", "--minutes", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    from pumpsync.deploy import mpremote
    # `resume`: no soft reset, so the heap still holds what the monitoring unit had loaded
    free = mpremote(emu.port, "resume", "exec", "import gc; gc.collect(); print(gc.mem_free())").stdout.split()[-1]
    FIGURES["free_heap_in_maintenance_bytes"] = int(free)
    emu.advance(75)  # the maintenance timer stops feeding after 1 min; the 8 s watchdog resets the chip
    assert watchdog_timeouts(emu) == resets + 1
    emu.advance(3)
    assert hello(pico)["firmware"]
    causes = boot_causes(pico)
    assert causes[-1] == "watchdog", causes
    assert "watchdog" not in causes[:-1], causes  # deploy's and sync's machine.reset() are no crashes
