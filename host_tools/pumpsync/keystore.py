"""Per-unit keys on this computer: which units it may change, and with what.

Owns the key file (JSON, readable by this user only): {"units": {unit_id:
{"key": hex, "paired_at": ISO}}}.  Default location: the user's config
directory (platformdirs); `--keystore PATH` overrides it.
"""

from __future__ import annotations

import json
import os
import secrets
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
        except (OSError, ValueError) as exc:
            raise OSError(f"the keystore {self.path} cannot be read ({exc}); fix or move it") from None
        return data if isinstance(data.get("units"), dict) else {"units": {}}

    def key_for(self, unit_id: str) -> bytes | None:
        entry = self._read()["units"].get(unit_id)
        return bytes.fromhex(entry["key"]) if entry else None

    @staticmethod
    def new_key() -> bytes:
        return secrets.token_bytes(32)

    def store(self, unit_id: str, key: bytes):
        data = self._read()
        data["units"][unit_id] = {"key": key.hex(),
                                  "paired_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
