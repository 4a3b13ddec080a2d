"""`--port auto` and `pumpsync ports` with emulated units registered by `pumpsync emulate`:
one is used, several are refused by name, stale entries are ignored and removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pumpsync import emulated_units, ports


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(ports.list_ports, "comports", lambda: [])  # no USB units on this computer
    return tmp_path / "run" / "emulated"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _entry(folder, name, port, pid, backend="wasm"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"port": port, "pid": pid, "backend": backend,
                                                     "state_dir": "/tmp/x", "started": 0}))


def test_the_one_registered_unit_is_the_auto_port(runtime, tmp_path):
    pty = tmp_path / "pts-1"  # stands in for the pty: only its existence counts
    pty.touch()
    path = emulated_units.register(str(pty), "unix", tmp_path / "unit")
    assert path.parent == runtime and json.loads(path.read_text())["pid"] == os.getpid()
    assert ports.resolve("auto") == str(pty)
    (listed,) = ports.describe()
    assert listed["board"] == "PumpWatch emulated unit (unix)" and listed["emulated"]
    emulated_units.unregister(path)
    assert not path.exists()
    with pytest.raises(ports.PortError, match="no PumpWatch unit found"):
        ports.resolve("auto")


def test_several_units_are_refused_by_name(runtime, tmp_path):
    for n in (1, 2):
        (tmp_path / f"pts-{n}").touch()
        _entry(runtime, f"u{n}", str(tmp_path / f"pts-{n}"), os.getpid())
    with pytest.raises(ports.PortError) as refused:
        ports.resolve("auto")
    text = str(refused.value)
    assert "several possible units" in text and "pts-1" in text and "pts-2" in text
    assert "PumpWatch emulated unit (wasm)" in text
    assert ports.resolve("/dev/named") == "/dev/named"  # a named port is never looked up


def test_an_emulated_unit_and_a_usb_one_are_two_units(runtime, tmp_path, monkeypatch):
    class Usb:
        device, vid, pid, serial_number, description = "/dev/ttyACM0", 0x2E8A, 0x0005, "E66", "Board in FS mode"

    monkeypatch.setattr(ports.list_ports, "comports", lambda: [Usb()])
    (tmp_path / "pts-1").touch()
    _entry(runtime, "u1", str(tmp_path / "pts-1"), os.getpid())
    with pytest.raises(ports.PortError, match="ttyACM0.*pts-1"):
        ports.resolve("auto")


def test_stale_entries_are_ignored_and_removed(runtime, tmp_path):
    live = tmp_path / "pts-live"
    live.touch()
    _entry(runtime, "dead-process", str(live), _dead_pid())
    _entry(runtime, "pty-gone", str(tmp_path / "pts-gone"), os.getpid())
    _entry(runtime, "no-pid", str(live), None)
    (runtime / "garbled.json").write_text("{not json")
    _entry(runtime, "alive", str(live), os.getpid())
    assert [e["port"] for e in emulated_units.running()] == [str(live)]
    assert sorted(p.name for p in runtime.iterdir()) == ["alive.json"]
    assert ports.resolve("auto") == str(live)


def test_no_runtime_folder_yet_is_no_emulated_unit(runtime):
    assert emulated_units.running() == [] and not runtime.exists()
