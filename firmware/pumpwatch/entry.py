"""The unit's life from power-on: pick the HAL, choose the unit or safe mode,
and run it so that nothing ends in the REPL.

Owns the crash guard: an exception in a step, or while starting, is logged,
counted for the boot guard (bootguard.py) and ends in a reset back into
monitoring.  Only an authenticated `maintenance` request leaves the loop
(the HAL's run() then returns, and so does run() here).  main.py has already
disabled Ctrl-C and started the watchdog, and turns Ctrl-C on again only
after run() returned for maintenance.
"""


def _reset(board):
    try:
        board.reset()
    except Exception:  # noqa: BLE001 - no HAL yet, or it failed: the HAL package resets the chip
        import hal
        hal.reset_now()


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


def _start(early_watchdog):
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
        from pumpwatch.safemode import SafeMode
        app = SafeMode(board)
    else:
        from pumpwatch import bootsettings, unload
        prepared = bootsettings.prepare(board)  # before the unit's code is in RAM: room to check a weekly program
        unload(bootsettings.MODULES)
        del bootsettings
        from pumpwatch.unit import Unit
        app = Unit(board, prepared)

    def guarded_step(events):
        try:
            return app.step(events)
        except BaseException as exc:  # noqa: BLE001 - MemoryError, a bug: never the REPL
            _crashed(board, exc)

    return board, guarded_step


def run(early_watchdog):
    """Returns (True) only when the unit left its loop for maintenance."""
    board = None
    try:
        board, step = _start(early_watchdog)
        board.run(step)
        return True
    except BaseException as exc:  # noqa: BLE001
        if board is None:
            _reset(None)
        _crashed(board, exc)
