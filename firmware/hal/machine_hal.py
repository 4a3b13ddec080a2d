"""HAL for real boards, on MicroPython's `machine` module (ESP32 and RP2040).

Owns what both ports share: a PWM buzzer (duty 0 for silence, so no click
and no re-init; a normal and a loud duty), the optional vibration motor
(a plain output pin, or PWM to cap its average voltage; off at start and
whenever the unit goes quiet for a reset or maintenance), a debounced
button on a pin interrupt, the LED, the RTC
(with "time valid" = a plausible year, since both boards lose the time on
power loss), the watchdog (kept fed while the unit sleeps), battery voltage
through an ADC divider, USB serial through sys.stdin/stdout with select.poll,
and os.urandom.  Pins come from /board.json (boards/*.json).  Subclasses
(hal/esp32.py, hal/rp2.py) add how the board sleeps and wakes.
"""

import gc
import hashlib
import json
import os
import select
import sys
import time

import machine
import micropython
from micropython import const

from hal.base import HAL
from pumpwatch.events import EVENT_BUTTON, EVENT_SERIAL, EVENT_TIMEOUT

_DEBOUNCE_MS = 20
_MAX_EDGES = const(8)  # button edges kept for the unit between two of its steps
# For this long after the buzzer last changed the wait sleeps in short slices: on USB the port's
# poll() is not ended by the button's interrupt, and a patient pressing to silence an alarm must
# hear it stop at once, not at the end of a 4 s slice.  A quiet day keeps its long slices.
_ALERT_WINDOW_MS = const(20000)
_ALERT_SLICE_MS = const(200)
# A wait at least this long starts with a garbage collection: one the heap forced in the
# middle of an alarm burst held a note up 8 ms (measured on the emulated Pico's GP15)
_COLLECT_BEFORE_WAIT_MS = const(100)
_VALID_FROM_YEAR = 2025  # an RTC reading earlier than this was reset by a power loss
_EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0  # ports with a 2000 epoch
_RESET_CAUSES = {machine.PWRON_RESET: "power_on", machine.WDT_RESET: "watchdog"}
_FULL_DUTY = const(65535)
# The motor's PWM rate when board.json gives a duty but no vibration_pwm_freq.
# The rotor of a coin (ERM) motor takes tens of ms to change speed, so it
# runs on the average voltage at any rate above ~100 Hz; the rate decides
# only what is heard.  Below ~20 kHz the motor's coil sings at the PWM rate
# on top of the alarm tones, whose pitch and rhythm carry their meaning; at
# 20 kHz it is silent, and still slow for a 2N2222 or AO3400 switched from a
# GPIO (~0.2 us to switch in a 50 us period) and within both ports' PWM.
_VIBRATION_PWM_FREQ = const(20000)


def load_config(path="/board.json"):
    with open(path) as f:
        return json.load(f)


class MachineHAL(HAL):
    def __init__(self, config, watchdog=None):
        self.config = config
        self.board = config["name"]
        pwm_pin = machine.Pin(config["buzzer_pin"], machine.Pin.OUT)
        self._pwm = machine.PWM(pwm_pin, freq=1000, duty_u16=0)
        self._duty = config.get("buzzer_duty_u16", 32768)
        self._loud_duty = config.get("buzzer_loud_duty_u16", 32768)  # 50 %: a square wave's loudest
        self._motor_pin = None  # the motor switched on/off (no motor: both None)
        self._motor_pwm = None  # or driven with PWM
        self._motor_on = 1  # the pin level or PWM duty that runs the motor
        self._motor_off = 0
        if config.get("vibration_pin") is not None:
            self._init_motor(config)
        self._led = machine.Pin(config["led_pin"], machine.Pin.OUT)
        self._led_low = config.get("led_active_low", False)
        self.led(False)
        pull = machine.Pin.PULL_UP if config.get("button_pull") == "up" else machine.Pin.PULL_DOWN
        self._button = machine.Pin(config["button_pin"], machine.Pin.IN, pull)
        self._button_low = config.get("button_active_low", True)
        self._down = self._read_button()  # the state the unit was last given, and since when
        self._changed_at = time.ticks_ms()
        self._level = self._down  # the level last taken from the pin, and since when
        self._level_at = self._changed_at
        self._edges = []  # (down, ticks) taken from the pin, not yet given to the unit, oldest first
        self._bounced = False  # an edge came inside the bounce time: the level is read again after it
        self._sounded_at = None  # ticks of the last buzzer change: an alarm is about
        self._buzzing = False  # a note sounds now (the RP2040 must not light-sleep under it)
        self._motor_pwm_on = False  # a PWM motor runs now (the same)
        self._serial_held_until = None  # ticks until which waiting bytes do not end a wait
        self._button.irq(self._on_button, machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING)
        self._rtc = machine.RTC()
        self._wdt = watchdog  # started by main.py at 8 s before any import
        self._wdt_ms = 8000 if watchdog is not None else 0
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._adc = None
        if config.get("battery_adc_pin") is not None:
            self._adc = machine.ADC(machine.Pin(config["battery_adc_pin"]))
        self._hold_timer = None
        self._random_counter = 0

    def _init_motor(self, config):
        """The motor's driver (a transistor) on vibration_pin, switched off."""
        low = config.get("vibration_active_low", False)
        duty = config.get("vibration_pwm_duty_u16")
        pin = machine.Pin(config["vibration_pin"], machine.Pin.OUT, value=1 if low else 0)
        if duty is None:
            self._motor_on, self._motor_off = (0, 1) if low else (1, 0)
            self._motor_pin = pin
            return
        # active low: "off" is 100 % duty, a steady high on both ports
        self._motor_on, self._motor_off = (_FULL_DUTY - duty, _FULL_DUTY) if low else (duty, 0)
        self._motor_pwm = machine.PWM(pin, freq=config.get("vibration_pwm_freq", _VIBRATION_PWM_FREQ),
                                      duty_u16=self._motor_off)

    # button --------------------------------------------------------------
    def _read_button(self):
        level = self._button.value()
        return level == 0 if self._button_low else level == 1

    def _on_button(self, pin):
        now = time.ticks_ms()
        if self.ticks_age(self._level_at) < _DEBOUNCE_MS:
            self._bounced = True  # not taken: the wait reads the level again once the bounce time is over
            return
        self._take_level(now)

    def _take_level(self, now):
        """Keep the pin's new level as an edge with its time: a whole press can fall inside one
        sleep slice (a poll() the interrupt does not end), and the unit still gets both edges."""
        down = self._read_button()
        if down == self._level:
            return
        self._level, self._level_at = down, now
        if len(self._edges) >= _MAX_EDGES:
            del self._edges[0:2]  # a press and its release: the edges still alternate from the unit's state
        self._edges.append((down, now))

    def _settle_button(self):
        """ms until the button's level may be read again (None: it is read now). Debounced by level,
        not only by edge: a glitch or chatter whose last edge fell inside the bounce time would
        otherwise leave a state the pin no longer shows (review 28: a 5 ms glitch during EMPTY
        left the unit "held", and the patient's next press armed the factory reset)."""
        left = _DEBOUNCE_MS - self.ticks_age(self._level_at)
        if left > 0:
            return left if self._bounced else None
        self._bounced = False
        self._take_level(time.ticks_ms())
        return None

    def button_down(self):
        return self._down

    def button_changed_at(self):
        return self._changed_at

    # clock -----------------------------------------------------------------
    def wall_time(self):
        if self._rtc.datetime()[0] < _VALID_FROM_YEAR:
            return None
        return time.time() + _EPOCH_OFFSET

    def wall_time_ms(self):
        seconds = self.wall_time()
        return None if seconds is None else seconds * 1000

    def set_wall_time(self, epoch):
        y, mo, d, h, mi, s, wd, _ = time.gmtime(epoch - _EPOCH_OFFSET)
        self._rtc.datetime((y, mo, d, wd, h, mi, s, 0))

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, later, earlier):
        return time.ticks_diff(later, earlier)

    def ticks_add(self, ticks, delta_ms):
        return time.ticks_add(ticks, delta_ms)

    # sleeping ----------------------------------------------------------------
    def wait(self, timeout_ms):
        """Sleep in slices short enough to keep the watchdog fed, until the
        deadline, a button change or serial bytes."""
        deadline = None if timeout_ms is None else time.ticks_add(time.ticks_ms(), timeout_ms)
        if timeout_ms is None or timeout_ms >= _COLLECT_BEFORE_WAIT_MS:
            gc.collect()  # inside the wait's deadline: the next note still starts on time
        while True:
            events = self._pending_events()
            if events:
                return events
            if self._wdt is not None:
                self._wdt.feed()
            self.before_sleep()  # its work is not added to the sleep: `left` is read after it
            left = 3600000 if deadline is None else time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                return EVENT_TIMEOUT
            if self._wdt is not None:
                left = min(left, self._wdt_ms // 2)
            settle = self._settle_button()
            if settle is not None:
                left = min(left, settle)
            if self._sounded_at is not None:
                if self.ticks_age(self._sounded_at) < _ALERT_WINDOW_MS:
                    left = min(left, _ALERT_SLICE_MS)  # a press to silence it is answered soon
                else:
                    self._sounded_at = None
            self.sleep(left)

    def before_sleep(self):
        """Each board's work before a slice of sleep (the RP2040 keeps its time)."""

    def _pending_events(self):
        events = 0
        self._settle_button()
        if self._edges:  # one edge a step: the unit's step reads button_down() and button_changed_at()
            self._down, self._changed_at = self._edges.pop(0)
            events |= EVENT_BUTTON
        if not self._serial_held() and self._poll.poll(0):
            events |= EVENT_SERIAL
        return events

    def hold_serial(self, ms):
        self._serial_held_until = time.ticks_add(time.ticks_ms(), ms)

    def _serial_held(self):
        """ms the port is still held for (0: not held)."""
        if self._serial_held_until is None:
            return 0
        left = time.ticks_diff(self._serial_held_until, time.ticks_ms())
        if left <= 0:
            self._serial_held_until = None
            return 0
        return left

    def sleep(self, ms):
        """Wait up to `ms` for serial input or an interrupt (light sleep where may_light_sleep); while the port is
        held, bytes waiting do not cut the sleep short (a poll would return at once)."""
        if self.may_light_sleep():
            machine.lightsleep(ms)  # the button's pin interrupt ends it (rp2; esp32 wakes on ext0)
            return
        held = self._serial_held()
        if held:
            time.sleep_ms(min(ms, held))
        else:
            self._poll.poll(ms)

    def usb_connected(self):
        pin = self.config.get("usb_present_pin")
        if pin is None:
            return True  # cannot tell: assume a host may be talking to us
        return machine.Pin(pin, machine.Pin.IN).value() == 1

    # user interface -------------------------------------------------------------
    def buzzer(self, freq_hz, loud=False):
        self._buzzing = bool(freq_hz)
        self._sounded_at = time.ticks_ms()
        if freq_hz:
            self._pwm.freq(freq_hz)
            self._pwm.duty_u16(self._loud_duty if loud else self._duty)
        else:
            self._pwm.duty_u16(0)

    def has_vibration(self):
        return self._motor_pin is not None or self._motor_pwm is not None

    def vibration(self, on):
        level = self._motor_on if on else self._motor_off
        self._motor_pwm_on = bool(on) and self._motor_pwm is not None
        if self._motor_pwm is not None:
            self._motor_pwm.duty_u16(level)
        elif self._motor_pin is not None:
            self._motor_pin.value(level)

    def may_light_sleep(self):
        """The board asks for light sleep, no host is on USB, and nothing sounds: a light sleep
        under a note or a PWM motor slows or stops its PWM (the RP2040 runs clk_sys from the
        12 MHz crystal: EMPTY came out at 50-75 Hz, review 28; the ESP32 stops its LEDC clock).
        A plain-pin motor keeps its level through any sleep."""
        return self.config.get("sleep") == "lightsleep" and not self._buzzing and not self._motor_pwm_on \
            and not self.usb_connected()

    def _quiet(self):
        """Buzzer silent and motor stopped: nothing may keep sounding or
        shaking through a reset or in maintenance."""
        self.buzzer(0)
        self.vibration(False)

    def led(self, on):
        self._led.value(1 if bool(on) != self._led_low else 0)

    # serial ----------------------------------------------------------------------
    def serial_read(self, budget_ms=None):
        data = bytearray()
        stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        start = time.ticks_ms()
        while self._poll.poll(0) and len(data) < 4096:
            if budget_ms is not None and not len(data) & 31 and time.ticks_diff(time.ticks_ms(), start) >= budget_ms:
                break  # byte by byte is slow: the sounding note's next change comes first
            chunk = stream.read(1)
            if not chunk:
                break
            data.extend(chunk if isinstance(chunk, bytes) else chunk.encode())
        return bytes(data)

    def serial_write(self, data):
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
        stream.write(data)

    def set_interrupt_char(self, char):
        micropython.kbd_intr(char)

    # safety --------------------------------------------------------------------------
    def watchdog_start(self, timeout_ms):
        if self._wdt is None:  # main.py normally started it already; one WDT per boot
            self._wdt_ms = min(timeout_ms, self.config.get("watchdog_max_ms", 8300))
            self._wdt = machine.WDT(timeout=self._wdt_ms)
        self._wdt.feed()

    def watchdog_feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def enter_maintenance(self, ms):
        """Stop the loop (main.py ends: the REPL) and keep the watchdog fed for
        `ms` from a timer; then it resets the unit back to monitoring.  Ctrl-C stays
        off until main.py's last line: a KeyboardInterrupt in the loop is a crash."""
        self._quiet()
        until = time.ticks_add(time.ticks_ms(), ms)
        wdt = self._wdt

        def feed(timer):
            if wdt is not None and time.ticks_diff(until, time.ticks_ms()) > 0:
                wdt.feed()
                self.kept_alive()

        self._hold_timer = machine.Timer(-1)
        self._hold_timer.init(period=max(500, self._wdt_ms // 3), mode=machine.Timer.PERIODIC, callback=feed)
        self.stopping = True

    def kept_alive(self):
        """Called at each feed of the maintenance timer (a board may keep state over the coming reset)."""

    def reset(self):
        self._quiet()  # not left to the reset: the motor would run through the 100 ms below
        time.sleep_ms(100)  # let the last reply leave the USB or UART buffer first
        machine.reset()

    def reset_cause(self):
        return _RESET_CAUSES.get(machine.reset_cause(), "hard")

    # power, randomness ------------------------------------------------------------------
    def battery_mv(self):
        if self._adc is None:
            return None
        raw = self._adc.read_u16()
        return int(raw * self.config.get("adc_vref_mv", 3300) * self.config.get("battery_divider", 1) // 65535)

    def random_bytes(self, count):
        """os.urandom through SHA-256 with a counter and the ticks: a weak or stuck
        hardware source (rp2040js's ROSC returned a constant) cannot repeat a nonce."""
        self._random_counter += 1
        seed = os.urandom(32) + self._random_counter.to_bytes(8, "little") + \
            time.ticks_us().to_bytes(8, "little") + machine.unique_id()
        out = b""
        block = 0
        while len(out) < count:
            out += hashlib.sha256(seed + bytes((block,))).digest()
            block += 1
        return out[:count]
