"""HAL for RP2040 boards (Raspberry Pi Pico, Pico W): MachineHAL + light sleep off USB.

The RP2040's USB stops in light sleep, so the unit light-sleeps only when
VBUS is absent (GP24 on the Pico); on USB it waits for an interrupt instead.
The watchdog's longest timeout is 8.3 s: MachineHAL sleeps in slices and
feeds it.  The RTC does not survive power loss.
"""

import machine

from hal.machine_hal import MachineHAL


class Rp2HAL(MachineHAL):
    def sleep(self, ms):
        if self.config.get("sleep") == "lightsleep" and not self.usb_connected():
            machine.lightsleep(ms)
        else:
            MachineHAL.sleep(self, ms)
