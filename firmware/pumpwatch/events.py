"""Why the unit woke up: bits passed from the HAL's sleep to the unit's step."""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

EVENT_TIMEOUT = const(0)  # only the requested time ran out (or first step after boot)
EVENT_BUTTON = const(1)  # the button changed state (HAL.button_down())
EVENT_SERIAL = const(2)  # bytes are waiting (HAL.serial_read())
