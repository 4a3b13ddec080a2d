"""The unix backend: the deployable .mpy build under MicroPython's unix port,
with a real heap cap and a littlefs2 flash image, behind the same Emulator API."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pumpsync import scenario
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator, EmulatorError
from pumpsync.emulator.board import _decode
from pumpsync.micropython import FIRMWARE_DIR
from pumpwatch import VERSION, sounds

from serial_helpers import enter_maintenance, pair

START = "2026-11-20T10:30:00Z"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAP_KB = 128  # the default: what the memory claims below are checked at
# Tests of the emulator's features over the port (pairing, maintenance, power
# cuts) give the firmware room: at 128 KB on this 64-bit port it works with
# little to spare, so a few hundred bytes more or less decide whether a request
# fits.
ROOMY_HEAP_KB = 192


@pytest.fixture
def unix_unit(tmp_path, hardware_port):
    """A factory-fresh unit on the unix backend: 128 KB heap, .mpy build, littlefs."""
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix", heap_kb=HEAP_KB) as unit:
        yield unit


@pytest.fixture
def roomy_unit(tmp_path, hardware_port):
    """The same with room to spare, for what the port does rather than what fits."""
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix",
                  heap_kb=ROOMY_HEAP_KB) as unit:
        yield unit


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """The .mpy build with a low-dose prescription placed (nothing due for 240 days),
    compiled once: a new unix unit's image is formatted from a copy of it."""
    state = tmp_path_factory.mktemp("seed")
    _, forecast = scenario.prepare_unit(state, EXAMPLES / "low-dose-child.json", compiled=True)
    return state / "flash", forecast


def _configured(tmp_path, seed, heap_kb=HEAP_KB) -> Emulator:
    flash, forecast = seed
    shutil.copytree(flash, tmp_path / "unit" / "flash")
    return Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 300, speed=0,
                    backend="unix", heap_kb=heap_kb)


@pytest.fixture(params=[HEAP_KB])
def configured(request, tmp_path, hardware_port, seed):
    """A configured unix-backend unit, a minute after its first boot (128 KB;
    a test asks for more room with @pytest.mark.parametrize("configured", [KB], indirect=True))."""
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with _configured(tmp_path, seed, request.param) as unit:
        unit.advance(60)
        yield unit, seed[1]


def _sounding_after(emu, since_ms):
    return [hz for t, hz in emu.buzzer_log() if t >= since_ms and hz]


def test_a_fresh_unit_boots_the_mpy_build_from_littlefs_and_sleeps(unix_unit):
    unix_unit.advance(1)
    stats = unix_unit.stats()
    assert stats["state"] == "sleeping" and stats["crashes"] == 0 and "error" not in stats
    assert stats["backend"] == "unix" and stats["heap_kb"] == 128
    assert 0 < stats["firmware_heap_peak"] < stats["heap_peak"] < 128 * 1024
    assert stats["flash_writes"] == stats["flash_block_ops"] > 0  # littlefs programs and erases
    assert (unix_unit.state_dir / "flash.img").stat().st_size == 352 * 4096
    assert "unit.mpy" in unix_unit.list_flash("/pumpwatch") and "unit.py" not in unix_unit.list_flash("/pumpwatch")
    assert unix_unit.read_flash("/main.py") == (FIRMWARE_DIR / "main.py").read_bytes()
    assert unix_unit.read_flash("/no/such/file") is None and unix_unit.list_flash("/nothing") == []
    with pytest.raises(EmulatorError, match="littlefs image"):
        unix_unit.flash_dir


def test_the_port_answers_like_a_plugged_in_unit(roomy_unit):
    with UnitClient(roomy_unit.port) as client:
        answer = client.call("hello")
    assert answer["firmware"] == VERSION and answer["board"] == "emulator"


def test_port_input_beyond_the_guests_window_waits_on_the_host(roomy_unit):
    """100 KB of noise reaches the unit in 1 KB pieces; it still answers afterwards."""
    from serial_helpers import open_port

    with open_port(roomy_unit.port) as link:
        link.write((b"noise " * 170 + b"\n") * 100)
        link.flush()
    roomy_unit.advance(2)
    with UnitClient(roomy_unit.port) as client:
        assert client.call("hello")["firmware"] == VERSION
    stats = roomy_unit.stats()
    assert stats["serial_bytes_from_host"] > 100_000 and stats["state"] == "sleeping"
    assert stats["boots"] == 1 and stats["heap_peak"] < ROOMY_HEAP_KB * 1024


def test_a_configured_unit_has_quiet_days(configured):
    emu, _ = configured
    before = emu.stats()
    emu.advance(7 * 86400)
    after = emu.stats()
    assert after["wakeups"] - before["wakeups"] <= 3 * 7
    assert after["flash_writes"] == before["flash_writes"]
    assert not _sounding_after(emu, (emu.now() - 7 * 86400) * 1000)
    assert after["state"] == "sleeping" and after["crashes"] == 0
    assert emu.read_flash("/data/settings.rec").startswith(b"PWREC ")


def test_a_long_press_reads_out_the_weeks_until_the_refill(configured):
    emu, forecast = configured
    weeks = (forecast.refill_due_at - int(emu.now())) // (7 * 86400)
    since = emu.now() * 1000
    emu.press(2000)
    emu.advance(60)
    assert _sounding_after(emu, since) == [sounds.G5] * weeks and weeks > 4


@pytest.mark.parametrize("configured", [ROOMY_HEAP_KB], indirect=True)
def test_a_power_cut_keeps_the_flash(configured):
    emu, _ = configured
    with UnitClient(emu.port) as client:
        pair(emu, client)
    settings = emu.read_flash("/data/settings.rec")
    emu.power_cut()
    assert emu.stats()["powered"] is False
    assert emu.read_flash("/data/settings.rec") == settings  # readable while off
    emu.boot()
    with UnitClient(emu.port) as client:
        assert client.call("hello")["paired"]  # the key written at pairing survived
    assert emu.read_flash("/data/settings.rec") == settings


@pytest.mark.parametrize("configured", [ROOMY_HEAP_KB], indirect=True)
def test_maintenance_ends_by_itself_on_the_unix_backend(configured):
    emu, _ = configured
    enter_maintenance(emu, minutes=2)
    emu.advance(60)
    assert emu.stats()["state"] == "repl"
    emu.advance(70)
    assert emu.stats()["watchdog_resets"] == 1 and emu.stats()["state"] == "sleeping"


def test_a_power_cut_at_any_block_operation_of_the_settings_import_leaves_a_flash_that_mounts(
        tmp_path, hardware_port, seed):
    """The first boot imports settings.json (records, log, boot state).  Cut the
    power at each of its littlefs programs/erases, cleanly or torn: the next boot
    mounts the image, completes the import and monitors without a fault."""
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with _configured(tmp_path / "reference", seed, ROOMY_HEAP_KB) as emu:
        emu.advance(5)
        total = emu.stats()["flash_block_ops"]
        settings = emu.read_flash("/data/settings.rec")
    assert total >= 4 and settings
    for at in range(1, total + 1):
        for torn in (False, True):
            emu = _configured(tmp_path / f"cut{at}{'t' if torn else ''}", seed, ROOMY_HEAP_KB)
            emu.cut_power_at_flash_write(at, torn=torn)
            with emu:
                emu.advance(5)
                assert emu.stats()["powered"] is False, f"no power cut at block op {at}"
                assert emu.events()[-1]["k"] == "power_cut" and emu.stats()["flash_block_ops"] == at - 1
                emu.boot()
                emu.advance(5)
                stats = emu.stats()
                assert stats["state"] == "sleeping" and stats["crashes"] == 0, (at, torn, stats.get("error"))
                assert emu.read_flash("/data/settings.rec") == settings, (at, torn)
                with UnitClient(emu.port) as client:
                    assert client.call("status")["active"] == [], (at, torn)


@pytest.mark.parametrize("heap_kb", [16, 48, 64])
def test_a_heap_too_small_is_a_crash_in_the_stats_never_a_hang(tmp_path, hardware_port, heap_kb):
    """16 KB: the runner cannot start; 48 KB: main.py dies; 64 KB: every boot
    dies in its first step (a reset loop the emulator stops)."""
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix", heap_kb=heap_kb) as emu:
        emu.advance(5)
        stats = emu.stats()
    assert stats["crashes"] >= 1 and stats["error"]
    assert stats["state"] in ("off", "repl")


@pytest.mark.parametrize("backend", ["wasm", "unix"])
def test_read_flash_and_list_flash_work_on_both_backends(tmp_path, hardware_port, backend):
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend=backend) as emu:
        emu.advance(1)
        assert {"main.py", "pumpwatch", "hal", "data"} <= set(emu.list_flash())
        assert emu.read_flash("main.py") == (FIRMWARE_DIR / "main.py").read_bytes()
        assert emu.list_flash("/data") and emu.read_flash("/data") is None


def test_compiled_false_installs_the_sources_on_a_unix_unit(tmp_path, hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix", compiled=False,
                  heap_kb=256) as emu:  # compiling the sources on the unit takes more heap than the .mpy build
        emu.advance(1)
        assert "unit.py" in emu.list_flash("/pumpwatch") and "unit.mpy" not in emu.list_flash("/pumpwatch")
        assert emu.stats()["state"] == "sleeping"


def test_output_the_firmware_prints_itself_becomes_serial_output():
    """On the unix port print() goes to the runner's stdout, between messages."""
    assert _decode(b'{"k":"wait","until":5}') == [{"k": "wait", "until": 5}]
    assert _decode(b"hello") == [{"k": "serial", "data": "hello\r\n"}]
    assert _decode(b'no newline{"freq":1,"k":"buzzer"}') == [{"k": "serial", "data": "no newline"},
                                                            {"freq": 1, "k": "buzzer"}]


def test_an_unknown_backend_is_refused(tmp_path):
    with pytest.raises(EmulatorError, match="'wasm' or 'unix'"):
        Emulator(state_dir=tmp_path / "unit", backend="esp32")


def test_pumpsync_emulate_runs_the_unix_backend(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "emulate", "--backend", "unix", "--heap",
                             str(ROOMY_HEAP_KB),
                             "--state", str(tmp_path / "unit")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "serial port: /dev/" in first and "unix" in first
        with UnitClient(first.rsplit(" ", 1)[1].strip()) as client:
            assert client.call("hello")["firmware"] == VERSION
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert (tmp_path / "unit" / "flash.img").exists()
