"""PumpWatch firmware core: therapy model, forecast, settings (MicroPython subset).

Nothing in this package touches hardware; the same files run on the unit,
under the emulator and imported by the host tools.
"""

VERSION = "0.1.0"
