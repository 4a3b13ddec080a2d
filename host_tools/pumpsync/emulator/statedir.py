"""An emulated unit's state directory, apart from its flash.

Owns the lock that lets one emulator at a time use a state_dir, the
hardware state that outlives a process but not the unit (hardware.json:
the RTC's offset from virtual time, None once lost) and the runners' log.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from pumpsync.emulator.errors import EmulatorError


class StateDir:
    def __init__(self, path: Path):
        self.path = path
        self.runner_log = path / "runner.log"
        self._hardware = path / "hardware.json"
        self._lock_file = None

    def claim(self):
        """Take the lock, or raise EmulatorError naming its owner."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "another process"
            lock.close()
            raise EmulatorError(f"{self.path} is already used by a running emulator ({owner}); "
                                "stop it or use another state_dir") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        self._lock_file = lock

    def release(self):
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def load_rtc(self, default: int | None) -> int | None:
        try:
            saved = json.loads(self._hardware.read_text())
        except (OSError, ValueError):
            return default
        return saved.get("rtc_offset_ms", 0)

    def save_rtc(self, offset_ms: int | None):
        tmp = self._hardware.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rtc_offset_ms": offset_ms}))
        os.replace(tmp, self._hardware)

    def last_log_line(self) -> bytes | None:
        try:
            lines = [line for line in self.runner_log.read_bytes()[-2000:].splitlines() if line.strip()]
        except OSError:
            return None
        return lines[-1] if lines else None
