"""HAL for ESP32 boards (e.g. ESP32 DevKitC): MachineHAL + light sleep with button wake.

Light sleep only while no host is connected (the USB-UART bridge cannot wake
the chip); the button wakes it through ext0.  The ESP32 keeps its RTC across
light sleep, not across power loss.
"""

import esp32

from hal.machine_hal import MachineHAL


class Esp32HAL(MachineHAL):
    def __init__(self, config, watchdog=None):
        MachineHAL.__init__(self, config, watchdog)
        if config.get("button_wakes_from_sleep", True):
            pressed_level = 0 if config.get("button_active_low", True) else 1
            esp32.wake_on_ext0(self._button, pressed_level)

