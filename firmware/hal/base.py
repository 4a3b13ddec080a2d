"""The hardware abstraction: everything the unit does to the outside world.

Owns the interface only.  One subclass per target (hal/emulator.py,
hal/esp32.py, hal/rp2.py) is the only code that knows which board it runs
on; the firmware loop and the core are handed an instance and nothing else.

Time: `wall_time()` is UTC epoch seconds from the real-time clock, or None
when the clock is not known (an RP2040 after power loss); `ticks_ms()` is a
monotonic millisecond counter for sound timing, compared with
`ticks_diff()`.  `wait(timeout_ms)` sleeps until the timeout or an event
and returns the event bits that woke it.
"""

from pumpwatch.events import EVENT_TIMEOUT


class HAL:
    """Interface; every method must be overridden by a target."""

    board = "unknown"

    # clock -------------------------------------------------------------
    def wall_time(self):
        """UTC epoch seconds, or None while the clock is not set."""
        raise NotImplementedError

    def set_wall_time(self, epoch):
        raise NotImplementedError

    def ticks_ms(self):
        raise NotImplementedError

    def ticks_diff(self, later, earlier):
        return later - earlier

    # sleeping ------------------------------------------------------------
    def run(self, step):
        """The unit's event loop: `step(events)` does the work of one wake-up
        and returns how long to sleep (ms, None = until an event).  Never returns
        on a board; the emulator calls `step` itself, once per wake-up."""
        events = EVENT_TIMEOUT
        while True:
            events = self.wait(step(events))

    def wait(self, timeout_ms):
        """Sleep until `timeout_ms` has passed (None: no deadline) or an event;
        return EVENT_* bits (EVENT_TIMEOUT when only the time ran out)."""
        raise NotImplementedError

    # user interface --------------------------------------------------------
    def buzzer(self, freq_hz):
        """Sound `freq_hz` until told otherwise; 0 silences."""
        raise NotImplementedError

    def led(self, on):
        raise NotImplementedError

    def button_down(self):
        """Debounced button level: True while pressed."""
        raise NotImplementedError

    def button_changed_at(self):
        """ticks_ms() of the last debounced button change."""
        raise NotImplementedError

    # serial (USB) ----------------------------------------------------------
    def serial_read(self):
        """Bytes received since the last call (b"" when none)."""
        raise NotImplementedError

    def serial_write(self, data):
        raise NotImplementedError

    def set_interrupt_char(self, char):
        """-1: Ctrl-C is data; 3: Ctrl-C interrupts to the REPL."""
        raise NotImplementedError

    # storage, power, safety --------------------------------------------------
    def flash_root(self):
        """Directory on the unit's flash where PumpWatch keeps its files."""
        return "/"

    def watchdog_start(self, timeout_ms):
        raise NotImplementedError

    def watchdog_feed(self):
        raise NotImplementedError

    def battery_mv(self):
        """Battery voltage in millivolts, or None when the board cannot tell."""
        return None

    def random_bytes(self, count):
        raise NotImplementedError

    def reset(self):
        """Hard reset of the unit."""
        raise NotImplementedError
