"""The unit's job, one wake-up at a time: watch the reservoir, remind, alarm.

Owns the behaviour the patient wears the unit for (docs/alarms.md): loading
the settings, knowing which conditions are in force, sounding the highest
one, the button (short press acknowledges, long press reads the status out
in beeps), the event log, and how long to sleep next.  Hardware only through
the HAL it is given; `step(events)` is called once per wake-up and returns
the milliseconds to sleep.  Flash is written only when something changes.

Serial traffic goes to console.py (loaded on first use).
"""

import os

from pumpwatch import VERSION, records, sounds
from pumpwatch.alarm_policy import AlarmPolicy
from pumpwatch.conditions import BATTERY_LOW, REMINDER, SETTINGS_REJECTED, STORAGE_CORRUPT, TIME_UNKNOWN, kind_of
from pumpwatch.events import EVENT_BUTTON, EVENT_SERIAL

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

WATCHDOG_MS = const(8000)
HEARTBEAT_MS = const(12 * 3600 * 1000)  # battery check on quiet days
BOUNCE_MS = const(30)
LONG_PRESS_MS = const(1500)
BATTERY_LOW_MV = const(3450)
BATTERY_OK_MV = const(3550)

INBOX = "settings.json"  # a settings file placed on the flash (e.g. with mpremote)


class Unit:
    def __init__(self, hal):
        self.hal = hal
        root = hal.flash_root()
        self.data_dir = root + "data"
        self.inbox_path = root + INBOX
        self.settings_path = self.data_dir + "/settings.rec"
        self.state_path = self.data_dir + "/state.rec"
        self.log = records.EventLog(self.data_dir + "/events.log")
        self.booted = False
        self.plan = None
        self.schedule = None
        self.policy = AlarmPolicy()
        self.settings_crc = None
        self.acks = {}  # persisted: {condition id: until s | DONE}
        self.volatile_acks = {}  # faults acknowledged while the time is unknown
        self.faults = {}  # {fault id: since}
        self.active_ids = None
        self.sounding = []
        self.top = 0
        self.pattern = None
        self.pattern_started = 0
        self.readout = None  # (pattern, started ticks)
        self.pressed_at = None
        self.buzzer_hz = -1
        self.led_on = None
        self.service = None
        self.healthy_at = None
        self.maintenance_ms = None  # set by a maintenance request: leave the loop after this step
        self.reset_requested = False

    # ------------------------------------------------------------------ wake-up
    def step(self, events):
        """Handle one wake-up; return ms to sleep (None: until an event)."""
        hal = self.hal
        hal.watchdog_feed()
        if not self.booted:
            self._boot()
        if events & EVENT_BUTTON:
            self._button()
        if events & EVENT_SERIAL:
            self._serial()
        self._check_battery()
        wake_in = self._evaluate()
        if self.reset_requested:
            hal.reset()
        if self.maintenance_ms is not None:
            self._output(0, False)
            hal.enter_maintenance(self.maintenance_ms)
            return None
        if self.healthy_at is not None:
            left = hal.ticks_diff(self.healthy_at, hal.ticks_ms())
            if left <= 0:
                from pumpwatch import bootguard
                bootguard.mark_healthy(hal)
                self.healthy_at = None
            else:
                wake_in = _sooner(wake_in, left)
        return _sooner(wake_in, HEARTBEAT_MS)

    # ------------------------------------------------------------------ boot and settings
    def _boot(self):
        hal = self.hal
        self.booted = True
        hal.watchdog_start(WATCHDOG_MS)
        hal.set_interrupt_char(-1)  # stray bytes and Ctrl-C must not stop monitoring
        _makedirs(self.data_dir)
        from pumpwatch import bootguard  # boot-time only: dropped again by startup.run()
        if bootguard.watchdog_resets(hal):
            self.healthy_at = hal.ticks_ms() + bootguard.HEALTHY_AFTER_MS
        self.readout = (sounds.BOOT_CHIRP, hal.ticks_ms())
        now = self.now_s()
        if now is None:
            self.faults[TIME_UNKNOWN] = self.since()
        from pumpwatch import startup  # boot-time only: dropped again by startup.run()
        startup.run(self, now)
        cause = hal.reset_cause()
        self.log_event({"e": "boot", "cause": cause, "fw": VERSION, "board": hal.board})

    def _save_state(self):
        records.write_record(self.state_path, {"v": 1, "settings_crc": self.settings_crc, "acks": self.acks})

    # ------------------------------------------------------------------ time
    def now_s(self):
        ms = self.hal.wall_time_ms()
        return None if ms is None else ms // 1000

    def since(self):
        """A start time for a fault: wall seconds, or boot-relative while the time is unknown."""
        now = self.now_s()
        return now if now is not None else self.hal.ticks_ms() // 1000

    # ------------------------------------------------------------------ conditions and sound
    def active(self, now):
        found = []
        if now is not None and self.schedule is not None:
            found = self.schedule.active(now)
        for fault in self.faults:
            found.append((fault, self.faults[fault]))
        return found

    def _evaluate(self):
        """Work out what sounds now; drive buzzer and LED; ms until this changes."""
        hal = self.hal
        wall_ms = hal.wall_time_ms()
        now = None if wall_ms is None else wall_ms // 1000
        policy_now = now if now is not None else hal.ticks_ms() // 1000
        active = self.active(now)
        self._log_changes(active, now)
        acks = self.acks if now is not None else self.volatile_acks
        top, sounding, change_at = self.policy.sounding(active, acks, policy_now)
        self.sounding = sounding
        wake_in = None
        if change_at is not None:
            wake_in = (change_at - policy_now) * 1000 - (wall_ms % 1000 if wall_ms is not None else 0)
        if now is not None and self.schedule is not None:
            start = self.schedule.next_start(now)
            if start is not None:
                wake_in = _sooner(wake_in, start * 1000 - wall_ms)
        ticks = hal.ticks_ms()
        if top != self.top:
            self.top = top
            self.pattern = sounds.BY_PRIORITY.get(top)
            self.pattern_started = ticks
        pattern, started = self.pattern, self.pattern_started
        if self.readout is not None:
            if sounds.finished(self.readout[0], hal.ticks_diff(ticks, self.readout[1])):
                self.readout = None
            else:
                pattern, started = self.readout
        if pattern is None:
            self._output(0, False)
            return wake_in
        freq, led, change = sounds.play(pattern, hal.ticks_diff(ticks, started))
        self._output(freq, led)
        if change is None and pattern is not self.pattern and self.pattern is not None:
            change = 1  # a readout just ended: resume the alarm
        return _sooner(wake_in, change)

    def _output(self, freq, led):
        if freq != self.buzzer_hz:
            self.hal.buzzer(freq)
            self.buzzer_hz = freq
        if led != self.led_on:
            self.hal.led(led)
            self.led_on = led

    def _log_changes(self, active, now):
        ids = [cid for cid, _ in active]
        if self.active_ids is None:
            self.active_ids = ids
            if ids:
                self.log_event({"e": "active", "c": ids})
            return
        for cid in ids:
            if cid not in self.active_ids:
                self.log_event({"e": "raised", "c": cid})
        for cid in self.active_ids:
            if cid not in ids and kind_of(cid) != REMINDER:
                self.log_event({"e": "resolved", "c": cid})
        self.active_ids = ids

    # ------------------------------------------------------------------ button
    def _button(self):
        hal = self.hal
        at = hal.button_changed_at()
        if hal.button_down():
            self.pressed_at = at
            return
        if self.pressed_at is None:
            return
        held = hal.ticks_diff(at, self.pressed_at)
        self.pressed_at = None
        if held < BOUNCE_MS:
            return
        if held < LONG_PRESS_MS:
            self.acknowledge()
        elif self.service is not None and self.service.pairing_pending():
            self.service.confirm_pairing()
            self.readout = (sounds.BOOT_CHIRP, self.hal.ticks_ms())
        else:
            self._read_out_status()

    def acknowledge(self):
        """Acknowledge what sounds now (a short press, or remotely); the ids."""
        if not self.sounding:
            return []
        now = self.now_s()
        if now is None:
            self.volatile_acks = self.policy.acknowledge(self.sounding, self.volatile_acks,
                                                         self.hal.ticks_ms() // 1000)
            return [cid for cid, _ in self.sounding]
        self.acks = self.policy.acknowledge(self.sounding, self.acks, now)
        self._save_state()
        ids = [cid for cid, _ in self.sounding]
        self.log_event({"e": "ack", "c": ids, "until": [self.acks[cid] for cid in ids]})
        for cid in ids:  # a one-off fault is over once acknowledged
            if cid == STORAGE_CORRUPT or cid == SETTINGS_REJECTED:
                self.faults.pop(cid, None)
        return ids

    def _read_out_status(self):
        from pumpwatch import readout

        due = None if self.plan is None else self.plan.refill_due_at
        pattern = readout.pattern_for(self.now_s(), due)
        self.readout = (pattern, self.hal.ticks_ms())
        self.log_event({"e": "readout", "pattern": pattern.name})

    # ------------------------------------------------------------------ battery
    def _check_battery(self):
        mv = self.hal.battery_mv()
        if mv is None:
            return
        if mv < BATTERY_LOW_MV and BATTERY_LOW not in self.faults:
            self.faults[BATTERY_LOW] = self.since()
        elif mv >= BATTERY_OK_MV and BATTERY_LOW in self.faults:
            del self.faults[BATTERY_LOW]

    # ------------------------------------------------------------------ serial (sync protocol)
    def _serial(self):
        if self.service is None:
            from pumpwatch.service import Service
            self.service = Service(self)
        self.service.feed(self.hal.serial_read())

    # ------------------------------------------------------------------ log
    def log_event(self, entry):
        entry["t"] = self.now_s()
        self.log.append(entry)


def _sooner(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a if a < b else b


def _makedirs(path):
    try:
        os.mkdir(path)
    except OSError:
        pass
