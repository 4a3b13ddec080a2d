# emuhw.py -- runs INSIDE the MicroPython wasm interpreter of the emulator.
#
# The emulated board's hardware, as the emulator HAL (firmware/hal/emulator.py)
# sees it: the role `machine` plays on a real board.  A thin layer over the
# synchronous JS module `_emuhw` (runner.mjs).  Numbers cross the JS boundary
# inside strings: MicroPython<->JS int conversion is 32-bit, and virtual
# milliseconds since 1970 are far beyond that.

import json
import uctypes
import _emuhw
import machine  # the runner's JS module: reset, soft_reset


def now_ms():
    """Virtual UTC time in ms, as of the event that woke the unit."""
    return int(_emuhw.now())


def run(step):
    """Hand the firmware's step(event_json) -> until_ms text to the emulator,
    which calls it once per wake-up after main.py returns."""
    _emuhw.run(step)


def emit(kind, **fields):
    """Send {"k": kind, ...} to the emulator host (one JSON line)."""
    fields["k"] = kind
    _emuhw.emit(json.dumps(fields))


def watchdog_feed():
    _emuhw.watchdog_feed()


def serial_write(data):
    """Raw bytes to the USB serial port (the same stream as print())."""
    if isinstance(data, str):
        data = data.encode()
    _emuhw.serial_write(uctypes.addressof(data), len(data))


def serial_read():
    """Every serial byte received and not yet read (b"" when none)."""
    count = _emuhw.serial_avail()
    if not count:
        return b""
    buf = bytearray(count)
    _emuhw.serial_take(uctypes.addressof(buf), count)
    return bytes(buf)


def random_bytes(count):
    """`count` bytes from the host's random source (os.urandom is missing here)."""
    buf = bytearray(count)
    _emuhw.random_fill(uctypes.addressof(buf), count)
    return bytes(buf)


def rtc_offset_ms():
    """Offset of the unit's real-time clock from virtual time (ms), None if lost."""
    text = _emuhw.rtc()
    return int(text) if text else None


def battery_mv():
    return _emuhw.battery()


def has_vibration():
    """A vibration motor is fitted (the emulator's `vibration` option)."""
    return bool(_emuhw.vibration())


def reset_cause():
    """Why this boot happened: "power_on", "watchdog", "hard" or "soft"."""
    return _emuhw.reset_cause()


def maintenance(ms):
    """Stop calling the firmware after this step (the unit drops to the REPL);
    the watchdog is held off for `ms`."""
    _emuhw.maintenance(str(ms))


def reset():
    """Hard reset, like machine.reset() on a board: this boot ends here."""
    machine.reset()  # runner.mjs ends the process: never returns
