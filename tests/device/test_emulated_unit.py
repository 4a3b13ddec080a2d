"""The emulated unit is the real firmware under real MicroPython, reachable as a serial port."""

from __future__ import annotations

import filecmp
import os
import random
import time
from pathlib import Path

import pytest

from pumpsync.emulator import Emulator, EmulatorError

from serial_helpers import enter_maintenance, mpremote, open_port, raw_repl_start, wait_for_boot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def before_ms(emu, seconds):
    return (emu.now() - seconds) * 1000


@pytest.fixture
def configured(tmp_path, hardware_port):
    """An emulated unit set up with a low-dose prescription: nothing due for 240 days."""
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power)")
    from pumpsync import scenario

    _, forecast = scenario.prepare_unit(tmp_path / "configured", EXAMPLES / "low-dose-child.json")
    with Emulator(state_dir=tmp_path / "configured", start_time=forecast.prescription.refill_at + 300,
                  speed=0) as unit:
        yield unit


@pytest.mark.hardware
def test_interpreter_is_micropython(repl_port):
    out = mpremote(repl_port, "exec", "import sys; print(sys.implementation.name)").stdout
    assert out.strip() == "micropython"


@pytest.mark.hardware
def test_unit_answers_hello_over_pyserial(port):
    from pumpsync.client import UnitClient
    from pumpwatch import VERSION

    with UnitClient(port) as client:
        answer = client.call("hello")
    assert answer["firmware"] == VERSION and answer["protocol"] == 1


def test_unit_chirps_once_at_boot(configured):
    configured.advance(60)
    log = configured.buzzer_log()
    assert [freq for _, freq in log] == [784, 0]
    assert log[1][0] - log[0][0] == 120


@pytest.mark.hardware
def test_mpremote_file_transfer_both_ways_is_byte_identical(repl_port, tmp_path):
    port = repl_port
    text = tmp_path / "notes.txt"
    text.write_text("PumpWatch\nline 2 é\n")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(random.Random(7).randbytes(20 * 1024))
    mpremote(port, "fs", "cp", str(text), ":notes.txt")
    mpremote(port, "fs", "cp", str(blob), ":blob.bin")
    listing = mpremote(port, "fs", "ls").stdout
    assert "notes.txt" in listing and "blob.bin" in listing and "main.py" in listing
    mpremote(port, "fs", "cp", ":notes.txt", str(tmp_path / "notes.back"))
    mpremote(port, "fs", "cp", ":blob.bin", str(tmp_path / "blob.back"))
    assert filecmp.cmp(text, tmp_path / "notes.back", shallow=False)
    assert filecmp.cmp(blob, tmp_path / "blob.back", shallow=False)


def test_files_copied_with_mpremote_land_on_the_units_flash(emu, repl_port, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(5000))
    mpremote(emu.port, "fs", "cp", str(blob), ":blob.bin")
    assert (emu.flash_dir / "blob.bin").read_bytes() == blob.read_bytes()
    assert emu.stats()["flash_writes"] >= 1


@pytest.mark.hardware
def test_mpremote_run_executes_a_script_on_the_unit(repl_port, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('ran on', sys.implementation.name)\n")
    assert "ran on micropython" in mpremote(repl_port, "run", str(script)).stdout


def test_mpremote_soft_reset_and_reset_keep_the_flash(emu, repl_port, tmp_path):
    mpremote(emu.port, "exec", "with open('kept.txt', 'w') as f: f.write('still here')")
    mpremote(emu.port, "soft-reset")
    boots = emu.stats()["boots"]
    mpremote(emu.port, "reset")
    wait_for_boot(emu, boots)  # machine.reset() rebooted into main.py: monitoring again
    enter_maintenance(emu)
    assert mpremote(emu.port, "exec", "print(open('kept.txt').read())").stdout.strip() == "still here"


def test_ctrl_c_and_terminal_noise_do_not_stop_a_monitoring_unit(emu):
    with open_port(emu.port) as link:
        link.write(b"\x03\x03hello\r\n\x04\x01garbage\n")
    emu.advance(5)
    assert emu.stats()["state"] == "sleeping"
    import subprocess

    try:  # mpremote cannot break in without maintenance: it fails or waits in vain
        result = mpremote(emu.port, "exec", "print(1)", check=False, timeout=8)
        assert result.returncode != 0
    except subprocess.TimeoutExpired:
        pass
    emu.advance(5)
    assert emu.stats()["state"] == "sleeping"


def test_maintenance_ends_by_itself_and_the_unit_monitors_again(emu):
    enter_maintenance(emu, minutes=2)
    emu.advance(60)
    assert emu.stats()["state"] == "repl"
    emu.advance(70)
    assert emu.stats()["watchdog_resets"] == 1 and emu.stats()["state"] == "sleeping"


def test_an_idle_unit_sleeps_through_half_a_year(configured):
    """Configured, nothing due for 240 days: the unit wakes at most twice a day and writes nothing."""
    configured.advance(60)
    before = configured.stats()
    configured.advance(180 * 86400)
    after = configured.stats()
    assert after["wakeups"] - before["wakeups"] <= 2 * 180
    assert after["flash_writes"] == before["flash_writes"]
    assert after["state"] == "sleeping"
    assert not [hz for t, hz in configured.buzzer_log() if hz and t > before_ms(configured, 180 * 86400)]


def test_advance_moves_virtual_time_exactly(emu):
    start = emu.now()
    emu.advance(3600.5)
    assert emu.now() == pytest.approx(start + 3600.5, abs=0.001)


def test_power_cut_keeps_the_flash(emu):
    from pumpsync.client import UnitClient

    enter_maintenance(emu)
    mpremote(emu.port, "exec", "with open('note.txt', 'w') as f: f.write('kept')")
    emu.power_cut()
    assert emu.stats()["powered"] is False
    emu.boot()
    assert emu.stats()["powered"] is True
    assert (emu.flash_dir / "note.txt").read_text() == "kept"
    with UnitClient(emu.port) as client:
        assert client.call("hello")["paired"]  # the key written at pairing survived too


def test_a_file_being_written_at_a_power_cut_is_old_or_new_never_torn(tmp_path):
    size = 20000
    writer = (
        "n = 0\n"
        "while True:\n"
        "    with open('data.bin', 'wb') as f:\n"
        "        f.write(bytes([65 + n %% 26]) * %d)\n"
        "    n += 1\n" % size)
    rng = random.Random(3)
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:30:00Z", speed=0) as emu:
        seen = set()
        for _ in range(8):
            enter_maintenance(emu)
            with open_port(emu.port) as link:
                raw_repl_start(link, writer)
                time.sleep(rng.uniform(0.05, 0.4))
                emu.power_cut()
            content = (emu.flash_dir / "data.bin").read_bytes() if (emu.flash_dir / "data.bin").exists() else None
            if content is not None:
                assert len(content) == size and len(set(content)) == 1, "torn write"
                seen.add(content[0])
            emu.boot()
        assert seen, "the writer never completed a write"
        leftovers = [p.name for p in emu.flash_dir.iterdir() if p.name.startswith(".emu-tmp")]
        assert leftovers == []


def test_bad_use_of_the_control_api_raises_clear_errors(emu, tmp_path):
    with pytest.raises(EmulatorError, match="0 or more seconds"):
        emu.advance(-1)
    emu.power_cut()
    with pytest.raises(EmulatorError, match="powered off"):
        emu.press()
    with pytest.raises(EmulatorError, match="powered off"):
        emu.power_cut()
    emu.boot()
    with pytest.raises(EmulatorError, match="already used by a running emulator"):
        with Emulator(state_dir=emu.state_dir):
            pass
    with pytest.raises(EmulatorError, match="not an ISO 8601"):
        Emulator(state_dir=tmp_path / "other", start_time="tomorrow")


def test_a_new_state_dir_is_a_factory_fresh_unit_with_current_firmware(emu):
    from pumpsync.micropython import FIRMWARE_DIR

    assert (emu.flash_dir / "main.py").read_bytes() == (FIRMWARE_DIR / "main.py").read_bytes()
    assert (emu.flash_dir / "pumpwatch" / "forecast.py").exists()


def test_the_unit_keeps_its_flash_between_emulator_runs(tmp_path):
    state = tmp_path / "unit"
    with Emulator(state_dir=state, start_time="2026-11-20T10:30:00Z", speed=0) as emu:
        enter_maintenance(emu)
        mpremote(emu.port, "exec", "with open('mark.txt', 'w') as f: f.write('1')")
    with Emulator(state_dir=state, start_time="2026-11-21T10:30:00Z", speed=0) as emu:
        enter_maintenance(emu)
        assert mpremote(emu.port, "exec", "print(open('mark.txt').read())").stdout.strip() == "1"


def test_a_live_unit_wakes_in_real_time(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:30:00Z", speed=1.0) as emu:
        deadline = time.monotonic() + 5
        while len(emu.buzzer_log()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        (start, chirp), (end, _) = emu.buzzer_log()[:2]
        assert chirp == 784 and end - start >= 120  # the chirp ended after 120 ms of real time


def test_pumpsync_emulate_prints_its_port_and_stops_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "emulate", "--state", str(tmp_path / "unit")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "serial port: /dev/" in first
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
