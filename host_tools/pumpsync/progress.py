"""A progress bar on stderr for anything that takes more than a second.

Shown only on a terminal, and only once the work has taken a second.
"""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: float, label: str, stream=None):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.shown = False
        self.enabled = self.stream.isatty()

    def update(self, done: float):
        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        width = 30
        filled = int(width * min(done, self.total) / self.total) if self.total else width
        self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (width - filled)}] "
                          f"{min(done, self.total):.0f}/{self.total:.0f}")
        self.stream.flush()
        self.shown = True

    def done(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
