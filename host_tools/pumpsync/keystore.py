"""Per-unit keys on this computer: which units it may change, and with what.

Owns the key file (JSON, readable by this user only): {"units": {unit_id:
{"key": hex, "name": the name the unit knows this computer by, "paired_at":
ISO}}}.  Default location: the user's config directory (platformdirs);
`--keystore PATH` overrides it.  Written as a new temporary file (O_EXCL,
mode 0600, never through a link someone left there), then renamed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from datetime import datetime, timezone
from pathlib import Path

import platformdirs


def default_path() -> Path:
    return Path(platformdirs.user_config_dir("pumpsync")) / "keys.json"


class Keystore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"units": {}}
        except IsADirectoryError:
            raise OSError(f"the keystore {self.path} is a folder: give the key file's path (--keystore)") from None
        except ValueError:
            raise OSError(f"the keystore {self.path} is not a pumpsync keystore (not JSON); restore it from a "
                          "backup, or move it aside") from None
        except OSError as exc:
            raise OSError(f"the keystore {self.path} cannot be read ({exc.strerror or exc}); fix or move it") from None
        if not isinstance(data, dict) or not isinstance(data.get("units"), dict):
            raise OSError(f"the keystore {self.path} is not a pumpsync keystore; fix or move it")
        return data

    def check(self):
        """OSError (one sentence) if the file exists but is not a keystore; before any port is opened."""
        self._read()

    def _entry(self, unit_id: str) -> dict | None:
        entry = self._read()["units"].get(unit_id)
        if entry is None:
            return None
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("name", ""), str):
                raise ValueError(unit_id)
            bytes.fromhex(entry["key"])
        except (TypeError, KeyError, ValueError):
            raise OSError(f"the keystore {self.path} has a damaged entry for unit {unit_id}: restore the file from "
                          "a backup; otherwise another computer the unit trusts can give this one a new key "
                          "(pumpsync keys add), or the unit can be factory-reset and paired again") from None
        return entry

    def key_for(self, unit_id: str) -> bytes | None:
        entry = self._entry(unit_id)
        return bytes.fromhex(entry["key"]) if entry else None

    def name_for(self, unit_id: str) -> str | None:
        """The name the unit knows this computer's key by (firmware 0.1 keys: "first computer")."""
        entry = self._entry(unit_id)
        return entry.get("name", "first computer") if entry else None

    @staticmethod
    def default_name() -> str:
        """This computer's name as the unit will list it (letters, digits, . _ - and space)."""
        name = re.sub(r"[^A-Za-z0-9 ._-]", "-", socket.gethostname())[:32].strip()
        return name or "pumpsync"

    @staticmethod
    def new_key() -> bytes:
        return secrets.token_bytes(32)

    def store(self, unit_id: str, key: bytes, name: str = "first computer"):
        data = self._read()
        data["units"][unit_id] = {"key": key.hex(), "name": name,
                                  "paired_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._write(data)

    def forget(self, unit_id: str):
        data = self._read()
        if data["units"].pop(unit_id, None) is not None:
            self._write(data)

    def check_writable(self):
        """OSError (one sentence) unless a new key can be stored: the folder takes a new file and an
        existing file can be replaced (not read-only, not immutable)."""
        self._read()
        folder = self.path.parent
        if not folder.is_dir():
            if folder.exists():
                raise OSError(f"{folder} is not a folder")
            return  # made with the first key (mkdir -p), as for a first pairing
        probe = self.path.with_name(self.path.name + f".{os.getpid()}.probe")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
            os.unlink(probe)
            if self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND))  # immutable or read-only: refused here
        except OSError as exc:
            raise OSError(f"the keystore {self.path} cannot be written ({exc.strerror})") from None

    def _write(self, data: dict):
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            os.unlink(tmp)  # a leftover (or a planted link) is removed, never followed
        except FileNotFoundError:
            pass
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
