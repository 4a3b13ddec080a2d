"""A USB cable between pumpsync and an emulated unit that a test can pull.

`Cable(unit_port)` offers a new pty (`.port`) whose bytes go both ways to the
unit's port; `pull_at(method, nth)` pulls it (closes the pty under pumpsync)
as the nth request frame of that method comes by, before the unit gets it;
with `after=True` the unit gets it and acts, and the cable is pulled as its
answer comes back, so the host never hears it.
"""

from __future__ import annotations

import json
import os
import select
import threading
import tty


class Cable:
    def __init__(self, unit_port: str):
        self.unit = os.open(unit_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.unit)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.pull_method, self.pull_nth, self.pull_after = None, 0, False
        self.seen: dict[str, int] = {}
        self.pulled = threading.Event()
        self._to_unit = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def pull_at(self, method: str, nth: int = 1, after: bool = False):
        self.pull_method, self.pull_nth, self.pull_after = method, nth, after

    def _method_of(self, line: bytes):
        try:
            return json.loads(line.split(b" ", 3)[3]).get("m")
        except (IndexError, ValueError, AttributeError):
            return None

    def _close(self, *names):
        for name in names:  # each once: a number closed twice may by then be someone else's
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)

    def _pull(self):
        self.pulled.set()
        self._stop.set()
        self._close("master", "_slave")

    def _run(self):
        reply_pending = False
        while not self._stop.is_set():
            if self.master is None:
                return
            ready, _, _ = select.select([self.master, self.unit], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    continue
                if fd == self.unit:
                    if reply_pending and b"\n" in data:
                        self._pull()  # the unit acted on it; its answer never reaches the host
                        return
                    os.write(self.master, data)
                    continue
                self._to_unit += data
                *lines, self._to_unit = self._to_unit.split(b"\n")
                for line in lines:
                    method = self._method_of(line.rstrip(b"\r")) if line.startswith(b"PW1 ") else None
                    if method is not None:
                        self.seen[method] = self.seen.get(method, 0) + 1
                        if method == self.pull_method and self.seen[method] == self.pull_nth:
                            if not self.pull_after:
                                self._pull()
                                return
                            reply_pending = True
                    os.write(self.unit, line + b"\n")

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self._close("master", "_slave", "unit")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
