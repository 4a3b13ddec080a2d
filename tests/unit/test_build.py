"""The firmware type-checks against both ports' MicroPython stubs and compiles to .mpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pumpsync import firmware_build

ROOT = Path(__file__).resolve().parents[2]
PYRIGHT = [sys.executable, "-m", "pyright"]


def _stubs(port: str) -> Path:
    stubs = ROOT / ".stubs" / port
    if not (stubs / "machine.pyi").exists():
        pytest.fail(f"MicroPython stubs for {port} are missing: run `make stubs` (make test does)")
    return stubs


@pytest.mark.parametrize("config", ["esp32", "rp2", "host"])
def test_typecheck_passes(config):
    if config != "host":
        _stubs(config)
    result = subprocess.run([*PYRIGHT, "-p", str(ROOT / "typecheck" / f"pyright-{config}.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_typecheck_can_fail_on_a_misused_machine_api(tmp_path):
    stubs = _stubs("rp2")
    (tmp_path / "misuse.py").write_text("import machine\n\npwm = machine.PWM(machine.Pin(15))\npwm.freq(\"fast\")\n")
    (tmp_path / "pyrightconfig.json").write_text(
        '{"stubPath": "%s", "typeshedPath": "%s", "reportMissingModuleSource": "none"}' % (stubs, stubs))
    result = subprocess.run([*PYRIGHT, "-p", str(tmp_path)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "misuse.py:4:" in result.stdout and "'fast'" in result.stdout and "1 error" in result.stdout


def test_every_firmware_module_compiles_with_mpy_cross(tmp_path):
    written = firmware_build.install(tmp_path, compiled=True)
    sources = [p for p in firmware_build.firmware_files() if p.suffix == ".py" and p.name != "main.py"]
    compiled = [p for p in written if p.suffix == ".mpy"]
    assert len(compiled) == len(sources) > 20
    assert all(p.stat().st_size > 0 for p in compiled)
    assert (tmp_path / "main.py").exists()  # MicroPython runs main.py from source
