"""The host's files against the other users of the computer and a planted
temporary file, with only what pumpsync offered before the fix (ee1f021) and
still offers now: `Keystore(path)`, `store(unit_id, key)`, `key_for(unit_id)`,
`History(path)`, `record(...)`, `close()`.

tests/unit/test_host_files.py pins the same attacks, but it imports
`pumpsync.client.printable` (added by the fix), so on the old host tools the
whole module stops at an ImportError; and it plants its link at the temporary
name the fixed keystore uses (keys.json.<pid>.tmp), where the old keystore
(which wrote keys.tmp) never looks.  These plant at both names.
"""

from __future__ import annotations

import os
import stat

from pumpsync.history import History
from pumpsync.keystore import Keystore


def _temporary_names(path):
    """Every temporary name a keystore at `path` has written through: the old one
    (keys.tmp) and the current one (keys.json.<pid>.tmp)."""
    return [path.with_suffix(".tmp"), path.with_name(path.name + f".{os.getpid()}.tmp")]


def test_a_link_planted_at_the_keystores_temporary_file_is_never_followed(tmp_path):
    """Attack: a symlink left at the keystore's temporary path made `pair` write the
    keys through it (over any file the user can write) and left keys.json a link."""
    path = tmp_path / "keys.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("do not overwrite")
    for name in _temporary_names(path):
        os.symlink(victim, name)
    Keystore(path).store("0123456789ab", bytes(range(32)))
    assert victim.read_text() == "do not overwrite", "the keys were written through the planted link"
    assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keystore(path).key_for("0123456789ab") == bytes(range(32))


def test_a_leftover_world_readable_temporary_file_cannot_make_the_keystore_readable(tmp_path):
    """Attack: a leftover temporary file with mode 0644 was reused (O_TRUNC keeps the
    mode) and renamed into place: the keys became readable by every user."""
    path = tmp_path / "keys.json"
    for name in _temporary_names(path):
        name.write_text("{}")
        os.chmod(name, 0o644)
    Keystore(path).store("0123456789ab", bytes(range(32)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"keystore mode {stat.S_IMODE(path.stat().st_mode):o}"


def test_the_history_database_is_not_readable_by_other_users(tmp_path):
    """Attack: the history database (every unit's settings before and after each sync)
    was created by sqlite with the umask's mode, 0644 on most systems: any user of the
    clinic computer could read every patient's therapy."""
    old_umask = os.umask(0o022)  # the usual umask
    try:
        history = History(tmp_path / "h.sqlite")
        history.record("sync", "0123456789ab", "ok", before=None, after='{"drug": "baclofen"}')
        history.close()
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE((tmp_path / "h.sqlite").stat().st_mode)
    assert mode == 0o600, f"history database mode {mode:o}"
