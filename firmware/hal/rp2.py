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
"""

import machine
from micropython import const

from hal.machine_hal import MachineHAL

_WATCHDOG_REASON = const(0x40058008)
_REASON_TIMER = const(1)
_REASON_FORCE = const(2)


class Rp2HAL(MachineHAL):
    def sleep(self, ms):
        if self.config.get("sleep") == "lightsleep" and not self.usb_connected():
            machine.lightsleep(ms)
        else:
            MachineHAL.sleep(self, ms)

    def reset_cause(self):
        reason = machine.mem32[_WATCHDOG_REASON]
        if reason & _REASON_TIMER:
            return "watchdog"
        if reason & _REASON_FORCE:
            return "hard"  # machine.reset()
        return MachineHAL.reset_cause(self)
