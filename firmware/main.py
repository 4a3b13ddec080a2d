"""PumpWatch firmware entry point: the same on every board.

Before anything is imported: Ctrl-C on the port stops being an interrupt and,
on a board, the hardware watchdog runs.  Then the board's HAL is picked and
the unit runs, or safe mode when it keeps crashing (pumpwatch/bootguard.py).
Nothing that goes wrong ends in the REPL: an exception in a step, or while
starting, is logged, counted as a crash and ends in a reset back into
monitoring.  Only an authenticated `maintenance` request leaves the loop.
"""

import micropython

micropython.kbd_intr(-1)
try:
    from machine import WDT  # type: ignore  # a board; the emulators model their watchdog outside
    early_watchdog = WDT(timeout=8000)
except ImportError:
    early_watchdog = None


def _reset(board):
    try:
        board.reset()
    except Exception:  # noqa: BLE001 - no HAL yet, or it failed: reset the chip directly
        import machine  # type: ignore
        machine.reset()


def _crashed(board, exc):
    """Log what broke, count it for the boot guard, and reset into monitoring."""
    import gc
    gc.collect()
    what = type(exc).__name__
    try:
        from pumpwatch import bootguard, records
        bootguard.record_crash(board, what)
        records.EventLog(board.flash_root() + "data").append({"e": "crash", "what": what, "detail": str(exc)[:80],
                                                               "t": board.wall_time()})
    except BaseException:  # noqa: BLE001 - the reset below matters more than the record
        pass
    _reset(board)


def _start():
    import sys

    import hal
    from pumpwatch import bootguard

    board = hal.select(early_watchdog)
    try:
        safe_mode = bootguard.enter_safe_mode(board)
    except Exception:  # noqa: BLE001 - an unreadable boot record must not stop the unit
        safe_mode = False
    # board detection and the boot guard are done: free their code
    del sys.modules["hal"], sys.modules["pumpwatch.bootguard"]
    if safe_mode:
        from pumpwatch.safemode import SafeMode as App
    else:
        from pumpwatch.unit import Unit as App
    app = App(board)

    def guarded_step(events):
        try:
            return app.step(events)
        except BaseException as exc:  # noqa: BLE001 - MemoryError, a bug: never the REPL
            _crashed(board, exc)

    return board, guarded_step


board = None
try:
    board, step = _start()
    board.run(step)
except BaseException as exc:  # noqa: BLE001
    if board is None:
        _reset(None)
    _crashed(board, exc)
