"""Progress is drawn on a terminal's stderr only, and taken down however the
work ends; the log download shows what it knows (pages and entries so far),
never a bar against its page cap."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from pumpwatch.readback import crc_text

from pumpsync import terminal, unit_log


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system=None), out


def test_a_bar_is_drawn_on_a_terminal_and_taken_down_after():
    console, out = _terminal()
    with terminal.progress("waiting for the long press", total=30, unit="s", console=console,
                           show_after_s=0) as task:
        task.update(12, description="waiting for the long press: 18 s left")
        task.progress.refresh()
    drawn = out.getvalue()
    assert "waiting for the long press: 18 s left" in drawn and "12/30 s" in drawn
    assert drawn.endswith("\x1b[?25h") or "\x1b[?25h" in drawn  # the cursor is given back
    assert task.progress is None


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_the_bar_is_taken_down_on_an_error_or_ctrl_c(failure):
    console, out = _terminal()
    with pytest.raises(failure):
        with terminal.progress("downloading", console=console, show_after_s=0) as task:
            task.update(3, count="3 pages, 40 entries")
            raise failure()
    assert task.progress is None and "\x1b[?25h" in out.getvalue()


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(monkeypatch):
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert terminal.progress_console() is None
    with terminal.progress("downloading", total=10, show_after_s=0) as task:
        task.update(5)
    assert piped.getvalue() == "" and task.progress is None


def test_quick_work_shows_nothing_even_on_a_terminal():
    console, out = _terminal()
    with terminal.progress("downloading", total=10, console=console, show_after_s=60) as task:
        task.update(5)
    assert out.getvalue() == ""


class _PagingUnit:
    """A unit whose log is `pages` pages of two lines."""

    def __init__(self, pages: int):
        self.pages = pages

    def call(self, method, args, verified=False):
        page = args["cursor"] or 0
        bodies = [f'{{"t": {1_790_000_000 + page * 10 + i}, "e": "boot"}}' for i in range(2)]
        lines = [f"{crc_text(body.encode())} {body}" for body in bodies]
        return {"lines": lines, "cursor": page + 1, "done": page + 1 >= self.pages}


def test_the_log_download_counts_pages_and_entries_never_against_the_cap(monkeypatch):
    console, out = _terminal()
    real = terminal.progress

    def on_terminal(description, total=None, **kwargs):
        assert total is None  # the unit does not say how long its log is
        return real(description, total, console=console, show_after_s=0)

    monkeypatch.setattr(unit_log, "progress", on_terminal)
    monkeypatch.setattr(terminal.Task, "update", _refreshing(terminal.Task.update))
    entries = unit_log.download_log(_PagingUnit(5))  # type: ignore[arg-type]
    assert len(entries) == 10
    drawn = out.getvalue()
    assert "downloading the events log" in drawn and "4 pages, 8 entries" in drawn
    assert str(unit_log.MAX_LOG_PAGES) not in drawn


def _refreshing(update):
    def wrapped(self, *args, **kwargs):
        update(self, *args, **kwargs)
        if self.progress is not None:
            self.progress.refresh()
    return wrapped
