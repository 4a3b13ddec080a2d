"""The emulated PumpWatch unit: real firmware, real MicroPython, virtual time.

Owns the control API the tests, benchmarks and `pumpsync emulate` use:

    with Emulator(state_dir=path, start_time="2026-11-20T10:30:00Z", speed=1.0,
                  backend="wasm" | "unix", heap_kb=128, compiled=None, vibration=False) as emu:
    (backend="rp2", firmware=UF2: an emulated Pico with stock MicroPython, rp2board.py)
        emu.port, emu.now(), emu.advance(s), emu.press(ms=150), emu.power_cut(),
        emu.boot(), emu.buzzer_log(), emu.buzzer_loud_log(), emu.led_log(),
        emu.vibration_log(), emu.stats(), emu.read_flash(path), emu.list_flash(path)

`vibration=True` fits the unit with a vibration motor (hal.has_vibration()
is then true, on every boot of this Emulator).  The logs, each entry at a
change, in virtual ms: buzzer_log() [(ms, Hz)], 0 Hz = silent;
buzzer_loud_log() [(ms, Hz, loud)], the same entries with the loud-duty
flag (1 = loud, never for silence); vibration_log() [(ms, 0|1)], the motor
stopped / running.  A power loss silences the buzzer and stops the motor in
the logs.

and the unit's virtual clock: while nobody drives it, virtual time runs at
`speed` x real time (0 freezes it), so a client on `port` sees a live unit;
`advance(s)` jumps ahead, waking the firmware at each of its deadlines in
order, without waiting.  The unit's clock, battery and watchdog are
modelled here, the same for both backends (backends.py): "wasm" (the
WebAssembly port, flash = the directory state_dir/flash/) and "unix" (the
unix port under a real heap cap, flash = the littlefs image
state_dir/flash.img).  A new state_dir gets the current firmware/ installed.
See docs/emulator.md.
"""

from __future__ import annotations

from typing import cast

import select
import threading
import time
from pathlib import Path

from pumpwatch import timecalc

from pumpsync.emulator import backends
from pumpsync.emulator.board import (EXIT_HARD, EXIT_POWER_CUT, EXIT_SOFT_FRIENDLY, EXIT_SOFT_RAW, RunnerProcess,
                                     SerialInbox, SerialPty, pump)
from pumpsync.emulator.errors import EmulatorError
from pumpsync.emulator.statedir import StateDir
from pumpsync.emulator.telemetry import Telemetry
from pumpsync import firmware_build
from pumpsync.micropython import FIRMWARE_DIR

__all__ = ["Emulator", "EmulatorError", "install_firmware"]

STEP_TIMEOUT_S = 30.0  # a step that takes longer in real time is a hung unit
RESET_LOOP_LIMIT = 10  # boots in a row that never reach a step's end or the REPL
_LIVE_POLL_S = 0.02


def install_firmware(flash_dir: Path, source: Path = FIRMWARE_DIR, compiled: bool = False):
    """Put the firmware onto a unit's flash: sources, or .mpy bytecode."""
    firmware_build.install(Path(flash_dir), source, compiled)


class Emulator:
    def __new__(cls, *args, backend: str = "wasm", **kwargs):
        """backend="rp2": a fresh emulated Raspberry Pi Pico running the official MicroPython
        UF2 (`firmware=`), an Rp2Emulator (rp2board.py); PumpWatch gets onto it by deploy."""
        if backend == "rp2":
            from pumpsync.emulator.rp2board import Rp2Emulator
            # the same control API (press, buzzer, LED, battery, power, reset) on another chip; not a
            # subclass, so Python does not run Emulator.__init__ on it
            return cast("Emulator", Rp2Emulator(*args, **kwargs))
        return super().__new__(cls)

    def __init__(self, state_dir, start_time: str | int | float | None = None, speed: float = 1.0,
                 rtc_backup: bool = True, battery_mv: int = 3900, measure_heap: bool = True,
                 backend: str = "wasm", heap_kb: int = 128, compiled: bool | None = None,
                 vibration: bool = False):
        """state_dir: the unit's persistent state (flash, RTC); created if missing.
        start_time: virtual UTC time at start (ISO text or epoch seconds; default now).
        speed: virtual seconds per real second while not advancing (0 = frozen).
        rtc_backup: the real-time clock survives power cuts (a coin cell); False
        models a bare RP2040, whose time is unknown after power loss.
        backend: "wasm" (default) or "unix" (a real heap of `heap_kb` KB, a
        littlefs flash).  compiled: a new state_dir gets the .mpy build
        (default for unix) or the sources (default for wasm).
        vibration: the unit has a vibration motor (on every boot)."""
        if speed < 0:
            raise EmulatorError("speed must be 0 or more")
        self.state_dir = Path(state_dir).resolve()
        self._dir = StateDir(self.state_dir)
        self._backend = backends.make(backend, self.state_dir, heap_kb, compiled)
        if isinstance(start_time, str):
            epoch = timecalc.parse_iso(start_time)
            if epoch is None:
                raise EmulatorError(f"start_time {start_time!r} is not an ISO 8601 time with Z or an offset")
            start_ms = epoch * 1000
        elif start_time is None:
            start_ms = int(time.time() * 1000)
        else:
            start_ms = int(start_time * 1000)
        self.speed = float(speed)
        self.rtc_backup = rtc_backup
        self.battery_mv = battery_mv
        self.measure_heap = measure_heap
        self.vibration = vibration
        self._lock = threading.RLock()
        self._clock_ms = start_ms
        self._anchor_real = time.monotonic()
        self._anchor_ms = start_ms
        self._advancing = False
        self._runner: RunnerProcess | None = None
        self._port: SerialPty | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._waiting_until: int | None = None  # virtual ms the sleeping unit asked to wake
        self._wait_seq: int | None = None
        self._state = "off"  # off | busy (running a step / booting) | sleeping | repl
        self._rtc_offset_ms: int | None = 0
        self._watchdog_ms: int | None = None
        self._last_feed_ms: int | None = None
        self._pending_reset: dict | None = None
        self._replay = b""
        self._record = Telemetry()
        self._stats = self._record.stats
        self._cut_at_write: int | None = None  # global flash-write index of an armed power cut
        self._cut_torn = False
        self._inbox = SerialInbox(self._backend.serial_window)
        self._unsettled_boots = 0  # boots since the unit last slept or sat in the REPL

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        """Claim state_dir, open the port and power the unit on."""
        self._dir.claim()
        try:
            self._backend.install()
        except BaseException:
            self._dir.release()
            raise
        self._rtc_offset_ms = self._dir.load_rtc(self._rtc_offset_ms)
        self._port = SerialPty()
        self.boot()
        self._thread = threading.Thread(target=self._live_loop, name="pumpwatch-emulator", daemon=True)
        self._thread.start()

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._runner is not None:
                self._runner.kill()
                self._runner = None
            self._state = "off"
            if self._port is not None:
                self._port.close()
                self._port = None
            self._dir.release()

    # ------------------------------------------------------------------ the API
    @property
    def flash_dir(self) -> Path:
        """The wasm backend's flash, a host directory (the unix backend raises:
        its flash is an image; use read_flash() / list_flash())."""
        return self._backend.flash_dir

    @property
    def port(self) -> str:
        """Path of the unit's serial port (a pty): open it like a USB port."""
        if self._port is None:
            raise EmulatorError("the emulator is not started (use it in a with block)")
        return self._port.path

    def now(self) -> float:
        """Virtual UTC time, epoch seconds."""
        with self._lock:
            return self._now_ms() / 1000

    def advance(self, seconds: float):
        """Run the unit through `seconds` of virtual time, every deadline in order."""
        if seconds < 0:
            raise EmulatorError(f"advance() needs a time of 0 or more seconds, not {seconds}")
        with self._lock:
            self._check_started()
            self._advancing = True
            try:
                target = self._now_ms() + int(round(seconds * 1000))
                self._run_until(target)
                self._set_clock(target)
            finally:
                self._advancing = False
                self._reanchor()

    def press(self, ms: int = 150):
        """Press the button for `ms` at the current virtual time (time advances by `ms`)."""
        if ms <= 0:
            raise EmulatorError(f"a press lasts more than 0 ms, not {ms}")
        with self._lock:
            self._require_power("press the button")
            self._deliver({"ev": "button", "down": True})
            self.advance(ms / 1000)
            self._require_power("release the button")
            self._deliver({"ev": "button", "down": False})

    def power_cut(self):
        """Power lost now: RAM gone, flash as of the last completed write."""
        with self._lock:
            self._require_power("cut the power")
            self._power_off()
            self._clock_lost_with_power()

    def boot(self):
        """Power the unit on (after power_cut(), or at start).  No-op if it is on."""
        with self._lock:
            if self._runner is not None:
                return
            self._unsettled_boots = 0
            self._start_runner("main")
            self._settle()

    def cut_power_at_flash_write(self, n: int, torn: bool = False):
        """Arm a power cut during the n-th flash write from now (1 = the next one)
        and the unit is off until boot().  wasm: that file commit never completes
        (a torn temp file is left).  unix: a write is one block program or erase
        of littlefs; it does not happen, or with `torn` half of it does."""
        if n < 1:
            raise EmulatorError(f"flash write index starts at 1, not {n}")
        with self._lock:
            self._cut_at_write = self._stats["flash_writes"] + n
            self._cut_torn = torn
            if self._runner is not None:
                self._runner.send({"ev": "cut", "after": n, "torn": torn})

    def read_flash(self, path: str) -> bytes | None:
        """The bytes of a file on the unit's flash (None if there is none).
        Works while the unit is off, sleeping or in the REPL state."""
        with self._lock:
            return self._backend.read_flash(path)

    def list_flash(self, path: str = "/") -> list[str]:
        """The sorted names in a directory of the unit's flash ([] if none)."""
        with self._lock:
            return self._backend.list_flash(path)

    def inject_exception(self):
        """Make the firmware's next step raise, as a bug would (the watchdog should recover)."""
        with self._lock:
            self._require_power("inject a fault")
            self._deliver({"ev": "inject", "what": "exception"})

    def set_battery(self, millivolts: int):
        with self._lock:
            self.battery_mv = millivolts
            if self._runner is not None:
                self._deliver({"ev": "battery", "mv": millivolts})

    def buzzer_log(self) -> list[tuple[int, int]]:
        """[(virtual ms, frequency Hz)] at every change; 0 Hz = silent."""
        with self._lock:
            return list(self._record.buzzer)

    def buzzer_loud_log(self) -> list[tuple[int, int, int]]:
        """[(virtual ms, frequency Hz, loud 0|1)] at every change: buzzer_log()
        with the loud duty's flag (1 only while sounding loud)."""
        with self._lock:
            return list(self._record.buzzer_loud)

    def led_log(self) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._record.led)

    def vibration_log(self) -> list[tuple[int, int]]:
        """[(virtual ms, 1 running | 0 stopped)] at every change of the motor
        ([] on a unit without one)."""
        with self._lock:
            return list(self._record.vibration)

    def events(self) -> list[dict]:
        """Every other message the unit's hardware reported (rtc, wdt, resets...)."""
        with self._lock:
            return list(self._record.events)

    def serial_output(self) -> bytes:
        """The last 64 KB the unit wrote to its serial port."""
        with self._lock:
            return bytes(self._record.serial)

    def next_wakeup(self) -> float | None:
        """Virtual epoch seconds the sleeping unit asked to be woken, None if it
        waits only for an event (or is not sleeping)."""
        with self._lock:
            if self._state != "sleeping" or self._waiting_until is None:
                return None
            return self._waiting_until / 1000

    def stats(self) -> dict:
        """wakeups, flash_writes (wasm: file commits, renames, removes...;
        unix: littlefs block programs + erases, also flash_block_ops),
        flash_bytes_written, heap_peak (all of the interpreter's live heap
        after a collection between steps), firmware_heap_peak (less the
        emulator's own share, which is C on a board), boots, watchdog_resets,
        crashes (the firmware died: an uncaught exception, a MemoryError, a
        hung step; the last one is `error`), backend, heap_kb (unix)..."""
        with self._lock:
            result: dict = dict(self._record.snapshot(), **self._backend.stats())
            result["powered"] = self._runner is not None
            result["state"] = self._state
            return result

    # ------------------------------------------------------------------ clock
    def _now_ms(self) -> int:
        if not self._advancing and self.speed > 0:
            live = self._anchor_ms + int((time.monotonic() - self._anchor_real) * self.speed * 1000)
            self._clock_ms = max(self._clock_ms, live)
        return self._clock_ms

    def _set_clock(self, ms: int):
        self._clock_ms = max(self._clock_ms, ms)

    def _reanchor(self):
        self._anchor_real = time.monotonic()
        self._anchor_ms = self._clock_ms

    # ------------------------------------------------------------------ running
    def _live_runner(self) -> RunnerProcess:
        if self._runner is None:
            raise EmulatorError("the unit is powered off (call boot() first)")
        return self._runner

    def _live_port(self) -> SerialPty:
        if self._port is None:
            raise EmulatorError("the emulator is not started (use it in a with block)")
        return self._port

    def _check_started(self):
        if self._port is None:
            raise EmulatorError("the emulator is not started (use it in a with block)")

    def _require_power(self, what: str):
        self._check_started()
        if self._runner is None:
            raise EmulatorError(f"cannot {what}: the unit is powered off (call boot() first)")

    def _next_due(self) -> int | None:
        """Virtual ms of the next thing that happens by itself: a wake-up the
        sleeping unit asked for, or the watchdog biting a unit stuck in the REPL."""
        due = None
        if self._state == "sleeping" and self._waiting_until is not None:
            due = self._waiting_until
        if self._state == "repl" and self._watchdog_ms is not None and self._last_feed_ms is not None:
            bite = self._last_feed_ms + self._watchdog_ms
            due = bite if due is None else min(due, bite)
        return due

    def _run_until(self, target: int):
        self._settle()
        while True:
            due = self._next_due()
            if due is None or due > target:
                return
            self._set_clock(due)
            self._fire_due()
            self._settle()

    def _fire_due(self):
        """Wake the sleeping unit, or let the watchdog reset a stuck one."""
        if self._state == "sleeping":
            self._state = "busy"
            self._live_runner().send({"ev": "tick", "now": self._clock_ms, "seq": self._wait_seq})
        else:
            self._stats["watchdog_resets"] += 1
            self._record.events.append({"k": "watchdog_reset", "t": self._clock_ms})
            self._power_off()
            self._start_runner("main", cause="watchdog")

    def _deliver(self, event: dict):
        """Hand an event (button, serial, battery) to the unit at the current time."""
        event["now"] = self._now_ms()
        was_sleeping = self._state == "sleeping"
        self._live_runner().send(event)
        if was_sleeping:
            self._state = "busy"
            self._settle()

    def _settle(self):
        """Process the unit's messages until it sleeps, idles in the REPL or is off."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while self._state == "busy":
            if time.monotonic() > deadline:
                self._record.crashed("the unit did not finish a step within %.0f s (hung): reset" % STEP_TIMEOUT_S,
                                     {"k": "hung", "t": self._clock_ms})
                self._power_off()
                self._start_runner("main", cause="watchdog")
                deadline = time.monotonic() + STEP_TIMEOUT_S
            self._pump(0.05)

    def _pump(self, timeout: float):
        messages, from_port = pump(self._runner, self._live_port(), timeout)
        if from_port and self._runner is not None:
            self._stats["serial_bytes_from_host"] += len(from_port)
            self._deliver_serial(from_port)
        if messages is None:
            self._runner_exited()
            return
        runner = self._runner
        for message in messages:
            if self._runner is not runner:
                break  # the rest is from a boot that has ended (power cut, reset)
            self._handle(message)

    def _deliver_serial(self, data: bytes):
        self._inbox.push(data)
        self._feed_serial()

    def _feed_serial(self):
        """Hand the unit the port input it has room for."""
        if self._runner is None:
            return
        chunk = self._inbox.take()
        if not chunk:
            return
        was_sleeping = self._state == "sleeping"
        if self._backend.serial_as_hex:
            self._runner.send({"ev": "serial", "now": self._now_ms(), "hex": chunk.hex()})
        else:
            self._runner.send({"ev": "serial", "now": self._now_ms(), "data": chunk.decode("latin1")})
        if was_sleeping:
            self._state = "busy"

    def _handle(self, message: dict):
        """What a message means for the unit's state; the rest is only recorded."""
        kind = message.get("k")
        now = self._clock_ms
        if kind == "wait":
            self._record.waited(message.get("heap"))
            self._waiting_until = message["until"]
            self._wait_seq = message["seq"]
            self._state = "sleeping"
            self._unsettled_boots = 0
            if message.get("fed"):
                self._last_feed_ms = now
            self._feed_serial()
        elif kind == "rx":
            self._inbox.taken(message["n"])
            self._feed_serial()
        elif kind == "repl":
            self._state = "repl"
            self._waiting_until = None
            self._unsettled_boots = 0
            self._feed_serial()
        elif kind == "reset":
            self._pending_reset = message
            if message.get("kind") == "hard":
                self._hard_reset()  # the runner ends after this message (unix: it waits to be killed)
        elif kind == "power_cut":
            self._power_cut_during_write()  # no more from this boot: power is gone
        else:
            if kind == "maintenance" and self._watchdog_ms is not None:
                # the board's timer keeps the watchdog fed for the maintenance window
                self._last_feed_ms = now + message["ms"] - self._watchdog_ms
            elif kind == "rtc":
                self._rtc_offset_ms = int(message["offset_ms"])
                self._dir.save_rtc(self._rtc_offset_ms)
            elif kind == "wdt":
                self._watchdog_ms = message["timeout_ms"]
                self._last_feed_ms = now
            data = self._record.note(message, now)
            if data:
                self._live_port().write(data)

    def _runner_exited(self):
        code = self._live_runner().exit_code()
        reset, self._pending_reset = self._pending_reset, None
        self._runner = None
        self._state = "off"
        if code in (EXIT_SOFT_RAW, EXIT_SOFT_FRIENDLY) and reset is not None:
            # A soft reset keeps the hardware watchdog running, as on a board.
            self._replay = reset.get("pending", "").encode("latin1")
            self._start_runner(reset["mode"], cause="soft")
        elif code == EXIT_HARD:
            self._hard_reset()
        elif code == EXIT_POWER_CUT:
            self._power_cut_during_write()
        else:
            last = self._dir.last_log_line() or self._record.last_serial_line() or b"no output"
            self._record.crashed(f"the emulator runner stopped with exit code {code} "
                                 f"({last.decode('utf-8', 'replace').strip()}); see {self._dir.runner_log}",
                                 {"k": "runner_exit", "code": code, "t": self._clock_ms})

    def _power_cut_during_write(self):
        """The armed power cut happened: the runner stopped at that flash write."""
        self._cut_at_write = None
        self._record.events.append({"k": "power_cut", "at_flash_write": self._stats["flash_writes"] + 1,
                             "t": self._clock_ms})
        self._power_off()
        self._clock_lost_with_power()

    def _hard_reset(self):
        if self._runner is not None:
            self._runner.kill()
            self._runner = None
        self._pending_reset = None
        self._watchdog_ms = None  # machine.reset() stops the watchdog too
        self._start_runner("main", cause="hard")

    def _start_runner(self, mode: str, cause: str = "power_on"):
        """Start a boot; the caller settles it (so reset loops iterate, not recurse)."""
        self._unsettled_boots += 1
        if self._unsettled_boots > RESET_LOOP_LIMIT:
            self._record.crashed(f"reset loop: {RESET_LOOP_LIMIT} boots in a row ended before the firmware "
                                 "slept or reached the REPL; the unit is left off (see serial_output())",
                                 {"k": "reset_loop", "t": self._clock_ms})
            self._power_off()
            return
        cut = 0
        if self._cut_at_write is not None:
            cut = max(1, self._cut_at_write - self._stats["flash_writes"])
        boot = backends.Boot(mode=mode, cause=cause, now_ms=self._clock_ms, rtc_offset_ms=self._rtc_offset_ms,
                             battery_mv=self.battery_mv, measure_heap=self.measure_heap, cut_at_write=cut,
                             torn=self._cut_torn, vibration=self.vibration)
        self._runner = RunnerProcess(self._backend.command(boot), mode, self._dir.runner_log,
                                     cwd=self._backend.cwd)
        self._state = "busy"
        self._waiting_until = None
        self._inbox.new_boot(power_lost=False)
        if self._replay:
            self._inbox.push(self._replay, front=True)
            self._replay = b""
        self._feed_serial()

    def _power_off(self):
        if self._runner is not None:
            self._runner.kill()
            self._runner = None
        self._inbox.new_boot(power_lost=True)
        self._state = "off"
        self._waiting_until = None
        self._watchdog_ms = None
        self._pending_reset = None
        self._record.power_lost(self._clock_ms)

    def _clock_lost_with_power(self):
        if not self.rtc_backup:
            self._rtc_offset_ms = None
            self._dir.save_rtc(self._rtc_offset_ms)

    def _live_loop(self):
        """Real-time mode: relay the port and wake the unit as virtual time passes.

        Waits for traffic outside the lock, so advance() and the other API calls
        from the caller's thread are never held up for long."""
        while not self._stop.is_set():
            with self._lock:
                fds = [] if self._port is None else [self._port.master]
                if self._runner is not None:
                    fds.append(self._runner.fileno())
                wait = _LIVE_POLL_S
                if not self._advancing and self.speed > 0:
                    due = self._next_due()
                    if due is not None:
                        wait = max(0.0, min(wait, (due - self._now_ms()) / 1000 / self.speed))
            try:
                select.select(fds, [], [], wait)
            except (OSError, ValueError):
                continue  # a descriptor closed under us: the unit restarted
            with self._lock:
                if self._advancing or self._port is None:
                    continue
                if self._runner is None:
                    self._port.discard_client_output()
                    continue
                self._pump(0)
                due = self._next_due()
                # a unit that asked to wake now (more frames queued) is woken even while time is frozen
                if due is not None and due <= self._now_ms() and (self.speed > 0 or self._state == "sleeping"):
                    self._fire_due()
                self._settle()
