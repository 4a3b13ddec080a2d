"""Talking to a unit over its serial port the way a host does (pyserial, mpremote)."""

from __future__ import annotations

import subprocess
import sys
import time

import serial


def open_port(port: str, timeout: float = 5) -> serial.Serial:
    """Open without toggling DTR/RTS (which would reset an ESP32), as pumpsync does."""
    from pumpsync.client import open_serial

    return open_serial(port, timeout)


def mpremote(port: str, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"mpremote {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def raw_repl_start(link: serial.Serial, code: str):
    """Interrupt the unit, enter the raw REPL and start `code` without waiting for it."""
    link.write(b"\r\x03\x03")
    time.sleep(0.1)
    link.reset_input_buffer()
    link.write(b"\r\x01")
    banner = link.read_until(b"raw REPL; CTRL-B to exit\r\n>")
    assert banner.endswith(b">"), banner
    link.write(code.encode() + b"\x04")
    assert link.read(2) == b"OK"


def wait_for_boot(emu, boots_before: int, timeout: float = 10):
    """After a reset command: wait until the emulated unit has booted again and its
    firmware runs (mpremote's own soft reset into the raw REPL is a boot too)."""
    deadline = time.monotonic() + timeout
    while emu.stats()["boots"] <= boots_before or emu.stats()["state"] != "sleeping":
        if time.monotonic() > deadline:
            raise AssertionError("the unit did not boot again")
        time.sleep(0.02)


def pair(emu, client):
    """Pair `client` with an emulated unit: a new key, and the long press (after the chirp) that proves presence."""
    import os

    key = os.urandom(32)
    started = client.call("pair", {"key": key.hex(), "name": "test bench"})
    emu.advance(started["press_after_ms"] / 1000)
    emu.press(2000)
    assert client.call("pair_status")["state"] == "paired"
    client.key, client.key_name = key, "test bench"
    return key


_TEST_KEYS: dict = {}  # state_dir -> the key a test paired that unit with


def enter_maintenance(emu, minutes: int = 10):
    """Pair (once per unit) and ask for maintenance, so mpremote can reach the REPL (Ctrl-C is
    data while monitoring)."""
    from pumpsync.client import UnitClient

    with UnitClient(emu.port) as client:
        unit = str(emu.state_dir)
        if unit not in _TEST_KEYS or not client.call("hello")["paired"]:
            _TEST_KEYS[unit] = pair(emu, client)
        client.key, client.key_name = _TEST_KEYS[unit], "test bench"
        client.write("maintenance", {"minutes": minutes})
    deadline = time.monotonic() + 10
    emu.advance(0.5)
    while emu.stats()["state"] != "repl" and time.monotonic() < deadline:  # the step may still be ending
        time.sleep(0.05)
        emu.advance(0.05)
    assert emu.stats()["state"] == "repl"
