"""A real PostgreSQL server for the tests: initdb into a fresh folder, pg_ctl start on a unix socket
only (no TCP port is opened), stopped and removed at the end.  From Debian's `postgresql` package
(`make setup` installs it); its binaries are under /usr/lib/postgresql/*/bin.  PostgreSQL refuses to
run as root, so as root the server runs as `nobody` (runuser) in a folder given to it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class Unavailable(Exception):
    """Why no server could be started (the tests that need one are skipped with this reason)."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if not found:
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql, or make setup)")
    return Path(found[-1]).parent


class Server:
    def __init__(self):
        self.bin = _bin_dir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise Unavailable("running as root and runuser is missing: PostgreSQL will not run as root")
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="pumpsync-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        if self.prefix:
            os.chown(self.folder, 65534, 65534)
        self.folder.chmod(0o700)
        self.started = False

    def _run(self, *args: str, timeout: float = 60):
        result = subprocess.run(self.prefix + [str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise Unavailable(f"{args[0]} failed: {(result.stderr or result.stdout).strip()[-400:]}")
        return result

    def start(self) -> "Server":
        self._run("initdb", "-D", str(self.data), "-U", "pumpsync", "--auth=trust", "--encoding=UTF8", "--no-sync")
        options = f"-c listen_addresses='' -c unix_socket_directories={self.folder} -c fsync=off -p 5432"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://pumpsync@/{database}?host={self.folder}&port=5432"

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", str(self.folder), "-p", "5432", "-U", "pumpsync", name)
        return self.url(name)

    def stop(self):
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except (Unavailable, subprocess.TimeoutExpired):
                pass
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)
