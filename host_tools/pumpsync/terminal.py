"""What pumpsync draws on a terminal, through rich: progress and tables.

Owns the two rules every command follows.  Progress goes to stderr, and only
when stderr is a terminal: a pipe, a log file or `--json` output never sees
a byte of it, and the bar is taken down cleanly however the work ends
(done, an error, Ctrl-C).  A table is as wide as the terminal it is printed
on; printed anywhere else (a pipe, a file, a test) it is plain ASCII at a
fixed width (`PLAIN_WIDTH`), with no escape codes, so it reads the same
every time.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeRemainingColumn)

PLAIN_WIDTH = 110  # a table printed off a terminal: stable for pipes, files and tests
SHOW_AFTER_S = 1.0  # work that ends sooner shows no progress at all


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or not a real stream
        return False


def progress_console() -> Console | None:
    """The console progress is drawn on: stderr, only when it is a terminal."""
    if not is_terminal(sys.stderr):
        return None
    return Console(file=sys.stderr)


class Task:
    """One piece of work's progress.  `total` None: nothing says how much is
    left, so a spinner and the count so far ("12 pages, 310 entries") show
    instead of a bar against a made-up end."""

    def __init__(self, description: str, total: float | None, console: Console | None,
                 show_after_s: float, unit: str, eta: bool):
        self.description, self.total, self.unit, self.eta = description, total, unit, eta
        self.console = console
        self.show_after_s = show_after_s
        self.began = time.monotonic()
        self.progress: Progress | None = None
        self.task_id = None

    def _start(self):
        assert self.console is not None
        if self.total is None:
            columns = [SpinnerColumn(), TextColumn("{task.description}"),
                       TextColumn("{task.fields[count]}")]
        else:
            columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn(self.unit)] + ([TimeRemainingColumn()] if self.eta else [])
        # stdout is never redirected through the progress console: it may be a pipe or --json
        self.progress = Progress(*columns, console=self.console, transient=True,
                                 redirect_stdout=False, redirect_stderr=False)
        self.task_id = self.progress.add_task(self.description, total=self.total, count="")
        self.progress.start()  # drawn at once, with its description

    def update(self, completed: float, count: str = "", description: str | None = None,
               total: float | None = None):
        """How far the work is (`completed`, of `total` when known, which may be
        corrected here); `count` is the words shown beside a spinner."""
        if total is not None and self.total is not None:
            self.total = total
        if self.console is None:
            return
        if self.progress is None:
            if time.monotonic() - self.began < self.show_after_s:
                return
            self._start()
        assert self.progress is not None and self.task_id is not None
        shown = completed if self.total is None else min(completed, self.total)
        self.progress.update(self.task_id, completed=shown, count=count, total=self.total,
                             description=description or self.description)

    def close(self):
        if self.progress is not None:
            self.progress.stop()  # takes the bar down and gives the cursor back
            self.progress = None


@contextmanager
def progress(description: str, total: float | None = None, unit: str = "", console: Console | None = None,
             show_after_s: float | None = None, eta: bool = False) -> Iterator[Task]:
    """`with progress("downloading the log") as task: ... task.update(n)`: a bar
    of `total` (in `unit`, with the time left when `eta`), or a spinner when
    nothing says how much is left.  Nothing is drawn off a terminal, nor for
    work that ends within `show_after_s`."""
    task = Task(description, total, console if console is not None else progress_console(),
                SHOW_AFTER_S if show_after_s is None else show_after_s, unit, eta)
    try:
        yield task
    finally:
        task.close()


def table_box(stream: TextIO | None = None):
    """The table's lines: drawn on a terminal, plain ASCII anywhere else."""
    return box.ROUNDED if is_terminal(stream or sys.stdout) else box.ASCII


def render(renderable: RenderableType, stream: TextIO | None = None, plain_width: int = PLAIN_WIDTH) -> str:
    """The text of `renderable` for `stream` (stdout unless given): the terminal's
    width and styles on a terminal; `plain_width` and no escape codes elsewhere."""
    stream = stream or sys.stdout
    terminal = is_terminal(stream)
    width = shutil.get_terminal_size((PLAIN_WIDTH, 24)).columns if terminal else plain_width
    colour = terminal and "NO_COLOR" not in os.environ
    console = Console(file=io.StringIO(), width=width, force_terminal=colour, no_color=not colour,
                      color_system="standard" if colour else None, highlight=False, emoji=False,
                      legacy_windows=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get().rstrip("\n")
