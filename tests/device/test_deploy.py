"""Deploying firmware with mpremote keeps what the unit knows (emulated unit as the target)."""

from __future__ import annotations

import shutil
import subprocess

from pumpsync import scenario
from pumpsync.client import UnitClient
from pumpsync.emulator import Emulator
from pumpsync.keystore import Keystore
from pumpsync.micropython import FIRMWARE_DIR, REPO_ROOT

from serial_helpers import pair

EXAMPLES = REPO_ROOT / "examples"


def test_make_deploy_updates_a_paired_configured_unit_and_keeps_its_data(tmp_path):
    _, forecast = scenario.prepare_unit(tmp_path / "unit", EXAMPLES / "simple-continuous.json")
    new_firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, new_firmware, ignore=shutil.ignore_patterns("__pycache__"))
    init = new_firmware / "pumpwatch" / "__init__.py"
    init.write_text(init.read_text().replace('VERSION = "', 'VERSION = "9.9.9-'))
    keystore = tmp_path / "keys.json"
    with Emulator(state_dir=tmp_path / "unit", start_time=forecast.prescription.refill_at + 300, speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as client:
            key = pair(emu, client)
            Keystore(keystore).store(client.call("hello")["unit_id"], key)
            client.write("alarm_test", {"priority": "low"})
            settings_before = client.call("settings_get")["text"]
            log_before = client.call("log", {})["lines"]
        data_before = {p.name: p.read_bytes() for p in (emu.flash_dir / "data").iterdir()}
        result = subprocess.run(["make", "-s", "deploy", "BOARD=rp2", f"PORT={emu.port}", f"KEYSTORE={keystore}",
                                 f"DB={tmp_path / 'h.sqlite'}", f"SOURCE={new_firmware}"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "deploy verified" in result.stdout
        emu.advance(2)
        with UnitClient(emu.port, key=key) as client:
            hello = client.call("hello")
            assert hello["firmware"].startswith("9.9.9-") and hello["paired"]
            assert client.call("settings_get")["text"] == settings_before
            assert client.call("log", {})["lines"][:len(log_before)] == log_before
            client.write("alarm_test", {"priority": "low"})  # the old key still works
        assert (emu.flash_dir / "pumpwatch" / "unit.mpy").exists()
        assert not (emu.flash_dir / "pumpwatch" / "unit.py").exists()  # the old source cannot shadow it
        assert (emu.flash_dir / "board.json").exists()
        for name in ("settings.rec", "keys.rec", "unit.rec"):
            assert (emu.flash_dir / "data" / name).read_bytes() == data_before[name]
        assert emu.stats()["state"] == "sleeping"  # monitoring again


def test_deploying_to_a_unit_that_is_not_paired_here_is_refused(tmp_path):
    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:30:00Z", speed=0) as emu:
        emu.advance(2)
        result = subprocess.run(["make", "-s", "deploy", "BOARD=esp32", f"PORT={emu.port}",
                                 f"KEYSTORE={tmp_path / 'none.json'}", f"DB={tmp_path / 'h.sqlite'}"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode != 0 and "not paired with this computer" in result.stderr
        assert emu.stats()["state"] == "sleeping"
