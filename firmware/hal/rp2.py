"""HAL for RP2040 boards (Raspberry Pi Pico, Pico W): MachineHAL + light sleep off USB.

The RP2040's USB stops in light sleep, so the unit light-sleeps only when
VBUS is absent (GP24 on the Pico); on USB it waits for an interrupt instead.
The watchdog's longest timeout is 8.3 s: MachineHAL sleeps in slices and
feeds it.  The RTC does not survive power loss.

machine.reset() on the RP2040 is a forced watchdog trigger, so
machine.reset_cause() says WDT_RESET for a deliberate reset (mpremote's
reset after a deploy, a restart to apply settings) as for a watchdog that
bit.  The watchdog's REASON register tells them apart (TIMER: it bit; FORCE:
machine.reset()), so the crash-loop count sees only real watchdog resets.

The RTC does not survive any reset either, but the watchdog's SCRATCH0-2
registers do (not a power loss, not the RUN pin): the time is kept there at
every slice of sleep and read back at boot, so a unit reset by its watchdog
or restarted to apply settings knows the time again (seconds late at most)
instead of sounding "clock lost".  SCRATCH4-7 belong to the bootrom.

The PWM slice's new frequency and duty take effect only when its counter
next wraps, so a note set through machine.PWM started up to one period of
its tone late (3.8 ms at C4, measured on the emulated Pico's GP15) and ended
up to one period late.  buzzer() restarts the slice's period at each change:
the note starts and stops within microseconds of the step that asks for it.
"""

import machine
from micropython import const

from hal.machine_hal import MachineHAL

_WATCHDOG_REASON = const(0x40058008)
_REASON_TIMER = const(1)
_REASON_FORCE = const(2)
_SCRATCH_MAGIC = const(0x4005800C)  # SCRATCH0
_SCRATCH_EPOCH = const(0x40058010)  # SCRATCH1
_SCRATCH_CHECK = const(0x40058014)  # SCRATCH2
_TIME_KEPT = const(0x2A6E7C11)
_WATCHDOG_MAX_S = const(9)  # the time between the last record and a watchdog reset, at most
_PWM_BASE = const(0x40050000)  # slice n's CSR at _PWM_BASE + 0x14 n; then DIV, CTR, CC, TOP
_PWM_SLICE_BYTES = const(0x14)
_PWM_CTR = const(0x08)
_PWM_TOP = const(0x10)
_PWM_ENABLE = const(1)


def _check_of(epoch):
    return (epoch * 7 + 12345) & 0x3FFFFFFF


class Rp2HAL(MachineHAL):
    def __init__(self, *args, **kwargs):
        MachineHAL.__init__(self, *args, **kwargs)
        self._buzzer_csr = _PWM_BASE + _PWM_SLICE_BYTES * ((self.config["buzzer_pin"] >> 1) & 7)
        self._restore_time()

    def buzzer(self, freq_hz, loud=False):
        """The note (or the silence) from now, not from the slice's next wrap: with the slice
        stopped the new settings are written, and its counter is put at the wrap value, so it
        wraps on its next count and applies them then."""
        csr = self._buzzer_csr
        enabled = machine.mem32[csr] | _PWM_ENABLE
        machine.mem32[csr] = enabled & ~_PWM_ENABLE
        MachineHAL.buzzer(self, freq_hz, loud)
        machine.mem32[csr + _PWM_CTR] = machine.mem32[csr + _PWM_TOP]
        machine.mem32[csr] = enabled

    def _restore_time(self):
        if MachineHAL.wall_time(self) is not None:
            return
        if machine.mem32[_SCRATCH_MAGIC] != _TIME_KEPT:
            return
        epoch = machine.mem32[_SCRATCH_EPOCH] & 0x7FFFFFFF
        if machine.mem32[_SCRATCH_CHECK] & 0x3FFFFFFF != _check_of(epoch):
            return
        late = _WATCHDOG_MAX_S if machine.mem32[_WATCHDOG_REASON] & _REASON_TIMER else 1
        MachineHAL.set_wall_time(self, epoch + late)

    def _keep_time(self):
        epoch = MachineHAL.wall_time(self)
        if epoch is None:
            machine.mem32[_SCRATCH_MAGIC] = 0  # a lost clock is not kept
            return
        machine.mem32[_SCRATCH_EPOCH] = epoch
        machine.mem32[_SCRATCH_CHECK] = _check_of(epoch)
        machine.mem32[_SCRATCH_MAGIC] = _TIME_KEPT

    def set_wall_time(self, epoch):
        MachineHAL.set_wall_time(self, epoch)
        self._keep_time()

    def kept_alive(self):
        self._keep_time()  # in maintenance: the reset at its end finds the time fresh

    def watchdog_feed(self):
        MachineHAL.watchdog_feed(self)
        self._keep_time()  # long work feeds without sleeping: the kept time stays seconds fresh

    def before_sleep(self):
        self._keep_time()


    def reset_cause(self):
        reason = machine.mem32[_WATCHDOG_REASON]
        if reason & _REASON_TIMER:
            return "watchdog"
        if reason & _REASON_FORCE:
            return "hard"  # machine.reset()
        return MachineHAL.reset_cause(self)
