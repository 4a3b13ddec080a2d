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


def test_a_whole_press_inside_one_sleep_slice_still_reaches_the_unit_as_a_press(machine_hal):
    """Review 28, finding 3: on USB the HAL sleeps in poll() slices of up to 4 s, which a pin
    interrupt does not end; only the latest state was kept, so a 150 ms press whose both edges fell
    in one slice came out as a lone release and was dropped (EMPTY not silenced, the three-press
    gesture never seen).  Each edge is now kept with its time and given to the unit in turn."""
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    clock.now = 1000
    pin.drive(0)
    clock.now = 1150
    pin.drive(1)  # both edges before the unit's loop looked
    assert hal.wait(60000) & EVENT_BUTTON and hal.button_down() and hal.button_changed_at() == 1000
    assert hal.wait(60000) & EVENT_BUTTON and not hal.button_down() and hal.button_changed_at() == 1150


def test_three_quick_presses_inside_one_slice_are_six_edges_in_order(machine_hal):
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    for start in (1000, 1550, 2100):
        clock.now = start
        pin.drive(0)
        clock.now = start + 150
        pin.drive(1)
    seen = []
    for _ in range(6):
        assert hal.wait(60000) & EVENT_BUTTON
        seen.append((hal.button_down(), hal.button_changed_at()))
    assert seen == [(True, 1000), (False, 1150), (True, 1550), (False, 1700), (True, 2100), (False, 2250)]


def test_right_after_a_sound_the_wait_sleeps_in_short_slices_so_a_press_is_answered_soon(machine_hal):
    """While an alarm is about (a note in the last 20 s), a press on USB is answered within 200 ms,
    not at the end of a 4 s slice: a patient pressing to silence EMPTY hears it stop."""
    hal, clock = machine_hal.MachineHAL(BASE), machine_hal.time
    slices = []
    real_poll = machine_hal.select.poll().poll
    hal._poll = type("Poll", (), {"poll": lambda self, ms=0: slices.append(ms) or real_poll(ms)})()
    hal._wdt, hal._wdt_ms = type("WDT", (), {"feed": lambda self: None})(), 8000
    clock.now = 1000
    hal.buzzer(523)
    hal.buzzer(0)
    hal.wait(4000)
    assert slices and max(slices) <= 200, slices[:5]
    clock.now = 60000  # a quiet minute later: long slices again (a quiet day stays two wake-ups)
    slices.clear()
    hal.wait(10000)
    assert max(slices) == 4000, slices[:5]


def test_a_press_six_days_after_the_last_is_still_a_press(machine_hal):
    """Review 28, finding 5: the debounce compared ticks_diff(now, last change) < 20 ms; 2**29 ms
    (6.2 days) after the last press that diff wraps negative, so every edge read as a bounce and the
    button was dead until day 12.4: no pausing EMPTY, no readout, no pairing."""
    hal, pin, clock = machine_hal.MachineHAL(BASE), board.pins[14], machine_hal.time
    clock.now = 1000
    pin.drive(0)
    clock.now = 1150
    pin.drive(1)
    hal.wait(0), hal.wait(0)
    for days in (6.3, 9, 12.3):
        clock.now = 1150 + int(days * 86400 * 1000)
        pin.drive(0)
        assert hal.wait(60000) & EVENT_BUTTON and hal.button_down(), days
        clock.now += 150
        pin.drive(1)
        assert hal.wait(60000) & EVENT_BUTTON and not hal.button_down(), days
