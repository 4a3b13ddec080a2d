"""The host's files that hold keys and patient data: who can read them, and
what a planted file cannot do."""

from __future__ import annotations

import os
import stat

import pytest

from pumpsync.client import printable
from pumpsync.history import History
from pumpsync.keystore import Keystore


def test_a_planted_link_at_the_temporary_keystore_path_is_never_followed(tmp_path):
    store = Keystore(tmp_path / "keys.json")
    victim = tmp_path / "victim.txt"
    victim.write_text("do not overwrite")
    os.symlink(victim, tmp_path / f"keys.json.{os.getpid()}.tmp")
    store.store("0123456789ab", bytes(32), "desk")
    assert victim.read_text() == "do not overwrite"
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert store.key_for("0123456789ab") == bytes(32) and store.name_for("0123456789ab") == "desk"


def test_a_keystore_that_is_not_a_keystore_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text("[]")
    with pytest.raises(OSError, match="not a pumpsync keystore"):
        Keystore(path).key_for("0123456789ab")


def test_the_history_database_is_readable_by_this_user_only(tmp_path):
    History(tmp_path / "h.sqlite").close()
    assert stat.S_IMODE((tmp_path / "h.sqlite").stat().st_mode) == 0o600


@pytest.mark.parametrize("text", ["\x1b[2J\x1b[31mOK", "boot\x1b]0;owned\x07", "\u202eevil", "a\rb\x9b"])
def test_text_from_a_unit_never_reaches_the_terminal_raw(text):
    shown = printable(text)
    assert not any(ch in shown for ch in "\x1b\x07\r\x9b\u202e") and "\\" in shown
