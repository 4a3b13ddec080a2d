"""The unit's job, one wake-up at a time: watch the reservoir, remind, alarm.

Owns the behaviour the patient wears the unit for (docs/alarms.md): which
conditions are in force, sounding the highest one, the button's gestures
(button.py), the event logs, and how long to sleep next.  Hardware only
through the HAL it is given; `step(events)` is called once per wake-up and
returns the milliseconds to sleep.  Flash is written only when something
changes.  Boot-time work is bootsettings.py's and startup.py's, serial traffic service.py's (both
loaded only when needed).

Time: wall time from the HAL's clock (None while it is lost), and `uptime`,
milliseconds since boot summed from tick differences, which never wraps.
Sound timing and, while the clock is lost, pauses run on uptime.
"""

from pumpwatch import button, records, sounds, unload
from pumpwatch.alarm_policy import AlarmPolicy, sooner as _sooner
from pumpwatch.conditions import BATTERY_LOW, REFILL_ALARMS, REFILL_CONDITIONS, REMINDER, SETTINGS_REJECTED, Plan, \
    STORAGE_CORRUPT, kind_of
from pumpwatch.events import EVENT_BUTTON, EVENT_SERIAL
from pumpwatch.unitfiles import UnitFiles

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

WATCHDOG_MS = const(8000)
HEARTBEAT_MS = const(12 * 3600 * 1000)  # battery check on quiet days; also keeps uptime exact
BATTERY_LOW_MV = const(3450)
BATTERY_OK_MV = const(3550)

SERIAL_RETRY_MS = const(250)  # after running out of memory reading the port


class Unit(UnitFiles):
    def __init__(self, hal, prepared=None):
        UnitFiles.__init__(self, hal)
        self.prepared = prepared  # the boot's settings phase, when it ran before this code was loaded (entry.py)
        self.booted = False
        self.plan = None  # type: Plan | None
        self.policy = AlarmPolicy()
        self.settings_crc = None
        self.acks = {}  # persisted: {condition id: until s | DONE}
        self.elsewhere = None  # persisted: (since, until) wall s of a refill elsewhere (elsewhere.py)
        self.shorts = None  # (count, uptime ms of the first) of short presses in a row
        self.volatile_acks = {}  # faults acknowledged while the time is unknown (uptime s)
        self.faults = {}  # {fault id: since (wall s, or uptime s while the time is unknown)}
        self.active_ids = None
        self.sounding = []
        self.top = 0
        self.pattern = None
        self.pattern_started = 0  # uptime ms
        self.readout = None  # (pattern, uptime ms started, None until it sounds): a one-off sound over the alarm
        self.pressed_at = None  # ticks
        self.request = None  # a button.Request (pairing, factory reset) waiting for a press
        self.buzzer_hz = -1
        self.sound_change_at = None  # uptime ms when what sounds next changes (None: nothing sounds)
        self.buzzer_loud = False
        self.led_on = None
        self.motor = hal.has_vibration()
        self.motor_on = False
        self.service = None
        self.last_put = None  # outcome of the settings a sync left for this boot (bootsettings.apply_staged)
        self.serial_due = False  # frames queued, or port bytes not yet read: handle them next step
        self.healthy_at = None  # uptime ms after which the boot guard's count is cleared
        self.maintenance_ms = None  # set by a maintenance request: leave the loop after this step
        self.reset_requested = None  # why the unit must reset after this step
        self.uptime = 0
        self._ticks = hal.ticks_ms()
        self.clock_shift_s = 0  # clock moved without the nurse's confirmation since boot (clock.py)
        self.time_floor = 0  # while the clock is lost: wall s it is surely past at boot (startup.py); 0: none

    # ------------------------------------------------------------------ wake-up
    def step(self, events):
        """Handle one wake-up; return ms to sleep (None: until an event)."""
        hal = self.hal
        hal.watchdog_feed()
        self._tick()
        if not self.booted:
            self.booted = True
            from pumpwatch import startup  # boot-time only: dropped again when done
            startup.boot(self)
        if events & EVENT_BUTTON:
            self._button()
        self._check_battery()
        self._check_storage()
        wake_in = self._evaluate()
        more = False
        if events & EVENT_SERIAL or self.serial_due:
            # after the sound is driven, so the frames fit before its next change (Service.feed);
            # then again, so what they changed (an acknowledgement, a test sound) shows now
            more = self._serial()
            wake_in = self._evaluate()
        held = bool(more) and self.service is not None and self.service.held
        retry = more is None  # the port could not be read for lack of memory: again a little later
        self.serial_due = retry or more
        if retry:
            wake_in = _sooner(wake_in, SERIAL_RETRY_MS)
        if self.reset_requested is not None:
            self._output(0, False)
            from pumpwatch import bootguard
            bootguard.expect_reset(hal, self.reset_requested)
            hal.reset()
        if self.maintenance_ms is not None:
            self._output(0, False)
            from pumpwatch import bootguard
            bootguard.expect_reset(hal, "maintenance")
            hal.enter_maintenance(self.maintenance_ms)
            return None
        if self.healthy_at is not None:
            if self.uptime >= self.healthy_at:
                from pumpwatch import bootguard
                bootguard.mark_healthy(hal)
                self.healthy_at = None
            else:
                wake_in = _sooner(wake_in, self.healthy_at - self.uptime)
        if self.service is not None:
            wake_in = _sooner(wake_in, self.service.next_deadline_ms())
        if more and not held:
            wake_in = 0  # frames are still queued: handle them in the next step
        wake_in = _sooner(wake_in, HEARTBEAT_MS)
        # wake_in counts from the instant _evaluate read the ticks: this step's work since then
        # (driving the buzzer, the port's deadlines) would otherwise hold the next note up
        spent = self.hal.ticks_diff(self.hal.ticks_ms(), self._ticks)
        wake_in = wake_in - spent if wake_in > spent else 0
        if held:
            hal.hold_serial(wake_in)  # the queued frames wait for the note's change, not spin the loop
        return wake_in

    def ms_to_sound_change(self):
        """ms until what sounds next changes (None: nothing sounds): what frames must not overrun."""
        if self.sound_change_at is None:
            return None
        self._tick()
        return self.sound_change_at - self.uptime

    def _tick(self):
        now = self.hal.ticks_ms()
        self.uptime += self.hal.ticks_diff(now, self._ticks)
        self._ticks = now

    def save_state(self):
        state = {"v": 1, "settings_crc": self.settings_crc, "acks": self.acks}
        if self.elsewhere is not None:
            state["elsewhere"] = list(self.elsewhere)
        if not records.try_write_record(self.state_path, state):
            self.storage_failed = True  # held in RAM until the next boot

    # ------------------------------------------------------------------ conditions and sound
    def active(self, now):
        found = []
        if now is not None and self.plan is not None:
            found = self.plan.schedule.active(now)
        elif self.plan is not None and self.time_floor:
            # clock lost: the refill alarms due by the instant it is surely past still sound as themselves
            surely = self.time_floor + self.uptime // 1000
            found = [(cid, since) for cid, since in self.plan.schedule.active(surely)
                     if kind_of(cid) in REFILL_ALARMS]
        period = self.elsewhere
        if period is not None and now is not None and period[0] <= now < period[1]:
            from pumpwatch import elsewhere  # loaded only while a period is in force (RAM)
            found = elsewhere.replace(self, found, now)
        for fault in self.faults:
            found.append((fault, self.faults[fault]))
        return found

    def _evaluate(self):
        """Work out what sounds now; drive buzzer and LED; ms until this changes."""
        wall_ms = self.hal.wall_time_ms()
        now = None if wall_ms is None else wall_ms // 1000
        policy_ms = wall_ms if wall_ms is not None else self.uptime
        policy_now = policy_ms // 1000
        active = self.active(now)
        self._log_changes(active)
        acks = self.acks if now is not None else self.volatile_acks
        top, sounding, change_at = self.policy.sounding(active, acks, policy_now, now is not None)
        self.sounding = sounding
        wake_in = None
        if change_at is not None:
            wake_in = change_at * 1000 - policy_ms
        if now is not None and self.plan is not None:
            start = self.plan.schedule.next_start(now)
            if start is not None:
                wake_in = _sooner(wake_in, start * 1000 - wall_ms)
            if self.elsewhere is not None and now < self.elsewhere[1]:
                wake_in = _sooner(wake_in, self.elsewhere[1] * 1000 - wall_ms)  # then the alarms come back
        # This step's work (a flash write, a reply) took time on a board: a sound that starts
        # now is timed from now, or its first gap is lost (measured on the emulated Pico)
        self._tick()
        if top != self.top:
            self.top = top
            self.pattern = sounds.BY_SOUND.get(top)
            self.pattern_started = self.uptime
        pattern, started = self.pattern, self.pattern_started
        if self.readout is not None and self.readout[1] is None:
            self.readout = (self.readout[0], self.uptime)
        if self.readout is not None:
            if sounds.finished(self.readout[0], self.uptime - self.readout[1]):
                self.readout = None
            else:
                pattern, started = self.readout
        if pattern is None:
            self.sound_change_at = None
            self._output(0, False)
            return wake_in
        freq, led, change = sounds.play(pattern, self.uptime - started)
        # the motor runs every alarm's rhythm; chirps and readouts too for a hearing-impaired patient
        feel = pattern is self.pattern or (self.plan is not None and self.plan.hearing_impaired)
        self._output(freq, led, pattern.loud, feel)
        if change is None and pattern is not self.pattern and self.pattern is not None:
            change = 1  # a readout just ended: resume the alarm
        self.sound_change_at = None if change is None else self.uptime + change
        return _sooner(wake_in, change)

    def play_once(self, pattern):
        """A one-off sound (chirp, readout, test) over whatever sounds now; it starts when
        this step drives the buzzer (_evaluate), after the step's own work."""
        self.readout = (pattern, None)

    def _output(self, freq, led, loud=False, feel=False):
        if freq != self.buzzer_hz or (freq and loud != self.buzzer_loud):
            self.hal.buzzer(freq, loud)
            self.buzzer_hz = freq
            self.buzzer_loud = loud
        if led != self.led_on:
            self.hal.led(led)
            self.led_on = led
        motor = self.motor and feel and freq > 0
        if motor != self.motor_on:
            self.hal.vibration(motor)
            self.motor_on = motor

    def _log_changes(self, active):
        ids = [cid for cid, _ in active]
        if self.active_ids is None:
            self.active_ids = ids
            if ids:
                self.log_event({"e": "active", "c": ids})
            return
        for cid in ids:
            if cid not in self.active_ids:
                self.log_event({"e": "raised", "c": cid})
        now = self.now_s()
        stood_in = self.elsewhere is not None and now is not None and self.elsewhere[0] <= now < self.elsewhere[1]
        for cid in self.active_ids:
            if cid not in ids and kind_of(cid) != REMINDER and not (stood_in and kind_of(cid) in REFILL_CONDITIONS):
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
        pressed_at, self.pressed_at = self.pressed_at, None
        held = hal.ticks_diff(at, pressed_at)
        kind = button.gesture(held)
        request = self.request
        if request is not None and not request.open():
            request = self.request = None
        if kind == button.SHORT:
            if request is not None and request.what == "reset":
                self.request = None  # a short press cancels a factory reset
                self.log_event({"e": "factory_reset_cancelled"})
            elif request is not None and request.what == "elsewhere":
                self.request = None  # ...and a "refilled elsewhere?" question
            self.acknowledge()
            from pumpwatch import elsewhere
            elsewhere.count_short(self, pressed_at)
            asking = self.request is not None and self.request.what == "elsewhere"
            if not asking and not elsewhere.in_force(self, self.now_s()):
                unload(("pumpwatch.elsewhere",))
        elif kind == button.LONG:
            self.shorts = None
            if request is not None and request.what == "pair" and request.confirmed_by(pressed_at) \
                    and self.service is not None:
                self.request = None
                self.service.confirm_pairing()
                self.play_once(sounds.BOOT_CHIRP)
            elif request is not None and request.what == "elsewhere":
                self.request = None
                from pumpwatch import elsewhere
                if request.confirmed_by(pressed_at) and held >= elsewhere.CONFIRM_HOLD_MS:
                    elsewhere.start(self, self.now_s())
                    self.play_once(sounds.CONFIRM_CHIRP)
                else:  # the 2 s status press, from habit: not a yes
                    if not elsewhere.in_force(self, self.now_s()):
                        unload(("pumpwatch.elsewhere",))
                    self._read_out_status()
            else:
                self._read_out_status()
        elif kind == button.HOLD:
            if request is not None and request.what == "reset" and request.confirmed_by(pressed_at):
                from pumpwatch import factory
                factory.erase(self, "button")
            else:
                self.request = button.Request(self, sounds.RESET_CHIRP.length_ms, button.RESET_CONFIRM_WINDOW_MS,
                                              "reset")
                self.play_once(sounds.RESET_CHIRP)
                self.log_event({"e": "factory_reset_armed"})

    def acknowledge(self):
        """Acknowledge what sounds now (a short press, or remotely); the ids."""
        if not self.sounding:
            return []
        now = self.now_s()
        ids = [cid for cid, _ in self.sounding]
        if now is None:
            self.volatile_acks = self.policy.acknowledge(self.sounding, self.volatile_acks, self.uptime // 1000)
            return ids
        self.acks = self.policy.acknowledge(self.sounding, self.acks, now)
        if STORAGE_CORRUPT in ids:
            self.storage_failed = False  # set again if these records cannot be written either
        self.save_state()
        self.log_event({"e": "ack", "c": ids, "until": [self.acks[cid] for cid in ids]})
        for cid in ids:  # a one-off fault is over once acknowledged; a flash still failing stays, paused
            if cid == SETTINGS_REJECTED or (cid == STORAGE_CORRUPT and not self.storage_failed):
                self.faults.pop(cid, None)
        return ids

    def _read_out_status(self):
        from pumpwatch import readout

        plan = self.plan
        # the due date the patient was told (hand-out, board): the clinic's margin before the pump's alarm
        due = None if plan is None else plan.clinical_due_at or plan.refill_due_at
        pattern = readout.pattern_for(self.now_s(), due, None if plan is None else plan.implant_eri_at)
        self.play_once(pattern)
        self.log_noise({"e": "readout", "pattern": pattern.name})

    # ------------------------------------------------------------------ battery
    def _check_storage(self):
        """A flash that could not take a record: the technical sound asks for the clinic (EMPTY and
        the refill alarms, louder, still win)."""
        if self.storage_failed and STORAGE_CORRUPT not in self.faults:
            self.faults[STORAGE_CORRUPT] = self.since()

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
        """Handle a bounded number of frames; True when more are queued, None when the
        port could not be read for lack of memory."""
        try:
            if self.service is None:
                from pumpwatch.service import Service
                self.service = Service(self)
            # Read more only once the queued frames are handled: the port's own buffer holds the
            # rest.  Bytes skipped this way are read at the next step, not at the next serial
            # event: an emulated port signals new bytes once, a board's poll keeps saying so.
            skipped = self.service.pending()
            left = self.ms_to_sound_change()
            budget = None if left is None else max(0, left - self.service.frame_margin_ms())
            data = b"" if skipped else self.hal.serial_read(budget)
        except MemoryError:
            # A flood met a heap in pieces: drop the sync service and what it held, keep
            # monitoring.  A crash here, three times, would put the unit in safe mode.
            self.service = None
            return None  # read the port again a little later, not in a busy loop
        more = self.service.feed(data)
        return more or skipped
