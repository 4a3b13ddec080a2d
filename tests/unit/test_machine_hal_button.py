"""The board HAL's button never keeps a state the pin no longer shows (review 28, finding 1: on the
emulated Pico a 5 ms contact glitch left the HAL "held down"; the patient's next press to silence
EMPTY then measured 20 s from the glitch and armed the factory reset instead)."""

from __future__ import annotations

from fake_machine import BASE, board, machine_hal  # noqa: F401  (machine_hal: the fixture)
from pumpwatch.events import EVENT_BUTTON


def test_a_glitch_shorter_than_the_debounce_ends_as_a_release_once_the_pin_settles(machine_hal):
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    clock.now = 1000
    pin.drive(0)  # active low: pressed
    assert hal.wait(60000) & EVENT_BUTTON and hal.button_down()  # the unit's step sees the press
    clock.now = 1005
    pin.drive(1)  # released 5 ms later, inside the debounce time: the edge is not taken
    events = hal.wait(60000)
    assert events & EVENT_BUTTON, "the settled level is read once the debounce time has passed"
    assert not hal.button_down()
    assert clock.now <= 1000 + 25, "the wait ends at the re-read, not at its deadline"
    assert hal.button_changed_at() - 1000 < 30  # a press shorter than a short press: ignored by the unit


def test_chatter_that_ends_pressed_is_a_press(machine_hal):
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    clock.now = 1000
    pin.drive(0)
    assert hal.wait(60000) & EVENT_BUTTON
    for at, level in ((1025, 1), (1030, 0)):  # a bounce after the debounce time, then down again at once
        clock.now = at
        pin.drive(level)
    assert hal.wait(60000) & EVENT_BUTTON and not hal.button_down()  # the bounce's release was taken...
    assert hal.wait(60000) & EVENT_BUTTON  # ...and the press inside its bounce time once that is over
    assert hal.button_down(), "the pin reads pressed: the HAL says so"


def test_a_clean_press_and_release_are_two_events_at_their_edges(machine_hal):
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    clock.now = 1000
    pin.drive(0)
    assert hal.wait(60000) & EVENT_BUTTON and hal.button_down() and hal.button_changed_at() == 1000
    clock.now = 1150
    pin.drive(1)
    assert hal.wait(60000) & EVENT_BUTTON and not hal.button_down() and hal.button_changed_at() == 1150
