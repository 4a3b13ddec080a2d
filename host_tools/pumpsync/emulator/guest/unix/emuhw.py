# emuhw.py -- runs INSIDE MicroPython (unix port), in the emulator's runner.
#
# The emulated board's hardware as the emulator HAL (firmware/hal/emulator.py)
# sees it: the same functions as the wasm runner's guest/emuhw.py, over
# hostlink.py instead of JS.  One difference, and the point of this port:
# run(step) is the firmware's event loop itself (step, report, block until the
# next event, repeat), inside MicroPython, so the garbage collector runs
# during steps as on a board, under the real heap cap (-X heapsize).

import gc
import json
import os

import hostlink

_fed = False
_maintenance_ms = None
_seq = 0


def now_ms():
    """Virtual UTC time in ms, as of the event that woke the unit."""
    return hostlink.now_ms


def run(step):
    """The firmware's loop: step(event_json) -> until_ms text ("" = until an
    event), then sleep until woken.  Returns after a step that asked for
    maintenance; raises KeyboardInterrupt when the interrupt char arrives."""
    global _fed, _seq
    event = json.dumps({"ev": "boot", "now": hostlink.now_ms})
    while True:
        _fed = False
        until = step(event)
        if _maintenance_ms is not None:
            hostlink.send({"k": "maintenance", "ms": _maintenance_ms})
            return
        heap = None
        if hostlink.measure_heap:
            event = None  # garbage now, as on a board
            gc.collect()
            heap = gc.mem_alloc()
        _seq += 1
        hostlink.send({"k": "wait", "until": None if not until else int(until), "seq": _seq,
                       "heap": heap, "fed": _fed})
        event = _sleep(_seq)
        if event is None:
            raise KeyboardInterrupt


def _sleep(seq):
    """Block until the host ends wait `seq`: the wake event as JSON, or None
    when the interrupt char arrived (a board raises KeyboardInterrupt)."""
    while True:
        before = len(hostlink.rx)
        ev = hostlink.read_event()
        kind = ev.get("ev")
        if kind == "tick":
            if ev.get("seq", seq) != seq:
                continue  # a stale tick for an earlier wait
            return json.dumps({"ev": "tick", "now": ev["now"]})
        if kind == "serial":
            if hostlink.drop_interrupts(before):
                return None
            return json.dumps({"ev": "serial", "now": ev["now"], "n": len(hostlink.rx)})
        if kind == "cut":
            continue  # armed a power cut: nothing for the firmware to see
        return json.dumps(ev)  # button, battery, inject: passed through


def emit(kind, **fields):
    """Send {"k": kind, ...} to the emulator host (one JSON line)."""
    fields["k"] = kind
    hostlink.send(fields)


def watchdog_feed():
    global _fed
    _fed = True


def serial_write(data):
    """Raw bytes to the USB serial port."""
    if isinstance(data, str):
        data = data.encode()
    hostlink.send_serial(data)


def serial_read():
    """Every serial byte received and not yet read (b"" when none)."""
    return hostlink.take_rx()


def random_bytes(count):
    """`count` bytes from the host's random source."""
    return os.urandom(count)


def rtc_offset_ms():
    """Offset of the unit's real-time clock from virtual time (ms), None if lost."""
    return hostlink.rtc_offset_ms


def battery_mv():
    return hostlink.battery_mv


def has_vibration():
    """A vibration motor is fitted (the emulator's `vibration` option)."""
    return hostlink.vibration


def reset_cause():
    """Why this boot happened: "power_on", "watchdog", "hard" or "soft"."""
    return hostlink.reset_cause


def maintenance(ms):
    """Leave the loop after this step (the unit drops to the REPL state);
    the watchdog is held off for `ms`."""
    global _maintenance_ms
    _maintenance_ms = int(ms)


def reset():
    """Hard reset, like machine.reset(): this boot ends here, never returns."""
    hostlink.send({"k": "reset", "kind": "hard", "mode": "main", "pending": ""})
    hostlink.stop()
