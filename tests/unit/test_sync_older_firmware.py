"""A unit on older firmware refuses a field this pumpsync knows (a `clinic` block):
the nurse is told to update the unit, not left with a field name alone."""

import pytest

from pumpsync import FIRMWARE_VERSION, visit
from pumpsync.client import UnitError
from pumpsync.session import CommandFailed
from pumpwatch import protocol


class RefusingClient:
    def put_settings(self, text):
        raise UnitError("invalid settings", protocol.INVALID_SETTINGS, ["clinic: not a setting"])


class History:
    def __init__(self):
        self.records = []

    def record(self, *args, **kwargs):
        self.records.append((args, kwargs))


class Session:
    def __init__(self, firmware):
        self.client = RefusingClient()
        self.history = History()
        self.unit_id = "pw-test"
        self.hello = {"firmware": firmware}


def test_a_refusal_by_older_firmware_says_to_update_the_unit_first():
    session = Session("0.0.1")
    with pytest.raises(CommandFailed) as refused:
        visit._write_settings(session, None, "{}")
    text = str(refused.value)
    assert "clinic: not a setting" in text and "old settings stay in force" in text
    assert "0.0.1" in text and FIRMWARE_VERSION in text and "pumpsync deploy" in text


def test_a_refusal_by_the_same_firmware_names_only_the_field():
    session = Session(FIRMWARE_VERSION)
    with pytest.raises(CommandFailed) as refused:
        visit._write_settings(session, None, "{}")
    assert "deploy" not in str(refused.value)
