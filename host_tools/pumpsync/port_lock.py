"""One pumpsync per serial port.

Owns the lock a pumpsync command holds on a port while it talks to a unit:
a file per port (named after the port's real path) in this user's runtime
folder, locked with flock, that says which command and which unit.  A second
pumpsync on the same port is refused at once ("port busy (another pumpsync
is talking to unit X)") instead of sharing the line, where each would read
the other's replies.  The kernel drops the lock when the holder exits, however
it exits.  On systems without flock (Windows) the serial port itself is
exclusive.  Re-entrant within one process (keys add opens the port twice).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: COM ports open once only anyway
    fcntl = None  # type: ignore[assignment]

_HELD: dict[str, list] = {}  # lock path -> [file, count]


class PortBusy(Exception):
    pass


def runtime_dir() -> Path:
    """This user's pumpsync runtime folder: $PUMPSYNC_RUNTIME_DIR, else the
    platform's runtime folder, else one in the temp folder.  The port locks
    live in its `locks/`, the running emulated units in its `emulated/`."""
    base = os.environ.get("PUMPSYNC_RUNTIME_DIR")
    if base:
        return Path(base)
    import warnings

    import platformdirs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no XDG_RUNTIME_DIR (a cron job, ssh): the temp folder below
            return Path(platformdirs.user_runtime_dir("pumpsync"))
    except Exception:  # noqa: BLE001 - no runtime folder on this system
        return Path(tempfile.gettempdir()) / f"pumpsync-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def lock_dir() -> Path:
    return runtime_dir() / "locks"


def _lock_path(port: str) -> Path:
    real = os.path.realpath(port)
    return lock_dir() / (re.sub(r"[^A-Za-z0-9]+", "_", real).strip("_") + ".lock")


def _describe(path: Path) -> str:
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return "another pumpsync is using it"
    unit = holder.get("unit_id")
    command = holder.get("command") or "a command"
    if unit:
        return f"another pumpsync ({command}, process {holder.get('pid')}) is talking to unit {unit}"
    return f"another pumpsync ({command}, process {holder.get('pid')}) is using it"


def acquire(port: str, command: str | None = None) -> str:
    """Lock `port` for this process; PortBusy (one sentence) if another pumpsync holds it."""
    path = _lock_path(port)
    key = str(path)
    if key in _HELD:
        _HELD[key][1] += 1
        return key
    if fcntl is None:
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    f = open(path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise PortBusy(f"{port}: port busy ({_describe(path)}); wait for it to finish, or close it") from None
    _HELD[key] = [f, 1]
    _write(f, {"pid": os.getpid(), "command": command, "port": port})
    return key


def note_unit(key: str, unit_id: str):
    """Say which unit the holder is talking to (for the message a second pumpsync shows)."""
    held = _HELD.get(key)
    if held is None:
        return
    f = held[0]
    f.seek(0)
    try:
        holder = json.loads(f.read() or "{}")
    except ValueError:
        holder = {}
    holder["unit_id"] = unit_id
    _write(f, holder)


def _write(f, holder: dict):
    f.seek(0)
    f.truncate()
    f.write(json.dumps(holder))
    f.flush()


def release(key: str):
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        del _HELD[key]
        held[0].close()
