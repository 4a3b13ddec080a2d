"""The emulated units `pumpsync emulate` is running, where `--port auto` finds them.

Owns the folder `emulated/` in pumpsync's runtime folder
(`port_lock.runtime_dir()`, so `$PUMPSYNC_RUNTIME_DIR` moves it too): one
small JSON file per running `pumpsync emulate` (`{"port", "pid", "backend",
"state_dir", "started"}`), written once its unit is on and removed when it
stops.  Only the command registers its unit (`register`); an `Emulator()` a
test or a benchmark makes is never seen here.  An entry whose process is gone,
or whose pty no longer exists, is stale (a `pumpsync emulate` killed with
SIGKILL): `running()` ignores it and removes its file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pumpsync.port_lock import runtime_dir


def folder() -> Path:
    return runtime_dir() / "emulated"


def board_name(entry: dict) -> str:
    """What `pumpsync ports` calls it."""
    return f"PumpWatch emulated unit ({entry.get('backend') or 'wasm'})"


def register(port: str, backend: str, state_dir) -> Path:
    """Announce this process's emulated unit on `port`; the entry's path (for unregister)."""
    where = folder()
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = where / f"{os.getpid()}.json"
    entry = {"port": port, "pid": os.getpid(), "backend": backend, "state_dir": str(state_dir),
             "started": int(time.time())}
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(entry))
    os.replace(temp, path)  # a reader sees the whole entry or none
    return path


def unregister(path: Path | None):
    if path is None:
        return
    try:
        path.unlink()
    except OSError:
        pass


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there; the pty test below decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def _stale(entry: dict) -> bool:
    port = entry.get("port")
    return not isinstance(port, str) or not _alive(entry.get("pid")) or not os.path.exists(port)


def running() -> list[dict]:
    """The live entries, sorted by port; stale and unreadable ones are removed."""
    where = folder()
    try:
        names = sorted(where.glob("*.json"))
    except OSError:
        return []
    found = []
    for path in names:
        try:
            entry = json.loads(path.read_text())
        except FileNotFoundError:
            continue  # its emulator just stopped
        except (OSError, ValueError):
            entry = None
        if not isinstance(entry, dict) or _stale(entry):
            unregister(path)
            continue
        found.append(entry)
    return sorted(found, key=lambda e: e["port"])
