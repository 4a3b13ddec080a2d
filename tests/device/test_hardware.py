"""Checks of a unit through its port alone: they run on the emulator and, with
`--port`, on a real unit on the bench (make hil)."""

from __future__ import annotations

import random
import sys

import pytest

from pumpsync.client import UnitClient, UnitError
from pumpwatch import protocol

pytestmark = pytest.mark.hardware


def test_hello_names_the_unit_and_its_firmware(port):
    with UnitClient(port) as client:
        hello = client.call("hello")
    assert hello["protocol"] == protocol.VERSION and hello["unit_id"] and hello["firmware"]


def test_status_and_log_are_open_reads(port):
    with UnitClient(port) as client:
        status = client.call("status")
        page = client.call("log", {})
    assert {"time", "active", "sounding", "battery_mv", "forecast"} <= set(status)
    assert page["lines"] and isinstance(page["done"], bool)


def test_a_wrong_key_cannot_write(port):
    with UnitClient(port, key=bytes(range(32))) as client:
        with pytest.raises(UnitError) as refused:
            client.write("time_set", {"epoch": 1900000000})
        assert refused.value.code == protocol.UNAUTHORISED


def test_terminal_noise_and_ctrl_c_do_not_stop_monitoring(port):
    with UnitClient(port) as client:
        client.send_raw(b"\x03\x03\r\nhello?\r\n\x04\x01AT+GMR\r\n" + bytes(random.Random(3).randbytes(200)) + b"\n")
        client.read_frames(1, idle=0.3)
        assert client.call("hello")["protocol"] == protocol.VERSION


def test_a_burst_of_damaged_frames_gets_errors_and_the_unit_keeps_answering(port):
    rng = random.Random(11)
    good = protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}})
    with UnitClient(port) as client:
        for _ in range(20):
            batch = []
            for _ in range(30):
                frame = bytearray(good)
                frame[rng.randrange(4, len(frame) - 1)] ^= 0x20
                batch.append(bytes(frame).replace(b"\n", b"") + b"\n")
            client.send_raw(b"".join(batch))
            for reply in client.read_frames(3, idle=0.2):
                assert reply.get("ok") is True or reply["err"]["code"] in protocol.ERROR_CODES
        assert client.call("hello")["protocol"] == protocol.VERSION


@pytest.mark.hardware_only
def test_the_buzzer_is_audible(port, hardware_key):
    """Asks the operator: a real buzzer must be heard (or read on a loopback pin)."""
    if hardware_key is None or not sys.stdin.isatty():
        pytest.skip("needs --keystore and an operator at the terminal (pytest -s)")
    with UnitClient(port, key=hardware_key) as client:
        client.write("alarm_test", {"priority": "high"})
    answer = input("\nDid the unit play ten loud beeps (3+2, pause, 3+2)? [y/N] ")
    assert answer.strip().lower() in ("y", "yes")
