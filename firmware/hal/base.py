"""The hardware abstraction: everything the unit does to the outside world.

Owns the interface only.  One subclass per target (hal/emulator.py,
hal/esp32.py, hal/rp2.py) is the only code that knows which board it runs
on; the firmware loop and the core are handed an instance and nothing else.

Time: `wall_time()` is UTC epoch seconds from the real-time clock, or None
when the clock is not known (an RP2040 after power loss); `ticks_ms()` is a
millisecond counter that WRAPS every 2**30 ms (12.4 days) as on rp2 and
esp32, so it is only ever compared with `ticks_diff()` and moved with
`ticks_add()`, never subtracted or divided.  `wait(timeout_ms)` sleeps until
the timeout or an event and returns the event bits that woke it.
"""

from pumpwatch.events import EVENT_TIMEOUT

TICKS_PERIOD = 1 << 30  # time.ticks_ms() period on the boards' ports
_TICKS_MAX = TICKS_PERIOD - 1
_TICKS_HALF = TICKS_PERIOD >> 1


class HAL:
    """Base of every target's HAL.  A target implements:

    clock      wall_time() -> UTC s or None, wall_time_ms(), set_wall_time(s),
               ticks_ms(), ticks_diff(later, earlier), ticks_add(ticks, ms)
    sleeping   run(step) (inherited: the event loop), wait(timeout_ms) -> EVENT_* bits
    interface  buzzer(hz; 0 = silent, loud=False: the board's loud duty), led(on),
               button_down(), button_changed_at() (ticks)
    vibration  has_vibration() -> a motor is fitted (boards/*.json vibration_pin),
               vibration(on): the motor runs the buzzer's rhythm (optional: the default has none)
    serial     serial_read(budget_ms=None) -> bytes (reading for at most budget_ms), serial_write(data),
               set_interrupt_char(-1 | 3), hold_serial(ms): waiting bytes do not end a wait for ms
               (the unit keeps a note on time; the port's buffer holds them)
    storage    flash_root() -> "/" (where PumpWatch keeps its files)
    safety     watchdog_start(ms), watchdog_feed(), reset(), reset_cause()
               ("power_on", "watchdog", "hard", "soft")
    power      battery_mv() -> mV or None
    random     random_bytes(n)
    maintenance enter_maintenance(ms): leave the loop for the REPL, watchdog held off
    Only the defaults below live here (RAM on the unit is scarce); the board
    HALs are type-checked against the MicroPython stubs by `make typecheck`.
    """

    board = "unknown"
    stopping = False  # set by enter_maintenance(): leave the loop for the REPL

    def run(self, step):
        """The unit's event loop: `step(events)` does the work of one wake-up
        and returns how long to sleep (ms, None = until an event).  Returns only
        for maintenance on a board; the emulator calls `step` itself."""
        events = EVENT_TIMEOUT
        while not self.stopping:
            events = self.wait(step(events))  # type: ignore  # each target defines wait()

    def hold_serial(self, ms):
        """Emulated ports signal new bytes once, not for as long as they wait: nothing to hold."""

    def ticks_diff(self, later, earlier):
        """Signed ms from `earlier` to `later` across a wrap (time.ticks_diff on a board)."""
        return ((later - earlier + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF

    def ticks_age(self, stamp):
        """ms since `stamp` (ticks) was taken; a stamp so old that ticks_diff wraps negative (after
        2**29 ms, 6.2 days) reads as long ago, never as just now (review 28)."""
        age = self.ticks_diff(self.ticks_ms(), stamp)  # type: ignore  # each target defines ticks_ms()
        return age if age >= 0 else _TICKS_HALF

    def ticks_add(self, ticks, delta_ms):
        return (ticks + delta_ms) & _TICKS_MAX

    def wall_time_ms(self):
        seconds = self.wall_time()  # type: ignore  # each target defines wall_time()
        return None if seconds is None else seconds * 1000

    def flash_root(self):
        return "/"

    def battery_mv(self):
        return None

    def has_vibration(self):
        return False

    def vibration(self, on):
        pass

    def reset_cause(self):
        return "power_on"
