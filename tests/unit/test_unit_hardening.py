"""The unit stepped by hand on CPython (fake_hal.py): attacks and faults that
need an exact instant, days of unbroken sound, or a fault at one call.
The same code runs on the emulators and boards; the device tests prove it there."""

from __future__ import annotations

import json

import pytest

from fake_hal import FakeHAL, quiet_step
from pumpwatch import protocol, readback, records, settings, sounds

try:
    from pumpwatch.bootsettings import apply as apply_settings
except ImportError:  # firmware before the boot's settings phase was split out (bench/attacks_before_fix.sh)
    from pumpwatch.startup import apply as apply_settings
from pumpwatch.conditions import EMPTY, SETTINGS_REJECTED
from pumpwatch.events import EVENT_TIMEOUT
from pumpwatch.unit import Unit
from settings_examples import minimal

REFILL = 1_795_000_000 - 10 * 86400


def _unit(tmp_path, doc=None, wall_s=1_795_000_000, **hal_args):
    hal = FakeHAL(tmp_path / "flash", wall_s=wall_s, **hal_args)
    if doc is not None:
        (tmp_path / "flash" / "settings.json").write_text(json.dumps(doc))
    unit = Unit(hal)
    quiet_step(unit)
    return hal, unit


def _empty_soon():
    """A 20 mL pump refilled with 1 mL ten days ago at 400 mcg/day: empty already."""
    return minimal(refill={"at": "2026-11-08T11:06:40Z", "volume_ml": 1})


def _tone_within(hal, unit, ms):
    """Step through `ms` of ticks as the unit asks; the tones it played."""
    start = len(hal.buzz)
    left = ms
    while left > 0:
        wait = unit.step(EVENT_TIMEOUT)
        step = min(left, wait if wait is not None and wait > 0 else left)
        hal.advance(step)
        left -= step
    return [hz for _, hz in hal.buzz[start:] if hz]


def test_an_alarm_sounding_for_a_week_without_a_press_keeps_its_pattern(tmp_path):
    hal, unit = _unit(tmp_path, _empty_soon())
    assert EMPTY in [cid for cid, _ in unit.sounding]
    for day in range(8):  # ticks wrap (2**30 ms) and a 2**29 ms tick difference turns negative on day 6
        hal.advance(86400 * 1000 - 7000)
        tones = _tone_within(hal, unit, 7000)
        assert sounds.C5 in tones and sounds.G5 in tones, f"silent on day {day + 1}"


def test_a_flood_of_frames_is_handled_a_few_per_step_with_the_watchdog_fed_for_each(tmp_path):
    hal, unit = _unit(tmp_path, _empty_soon())
    frame = protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}})
    hal.inbox = frame * 1000
    steps = 0
    while hal.inbox or unit.service is None or unit.service.pending():
        feeds = hal.feeds
        sent = hal.sent.count(b"\n")
        wait = unit.step(2)
        steps += 1
        handled = hal.sent.count(b"\n") - sent
        assert handled <= 16 and hal.feeds - feeds >= handled
        # queued lines: step again at once, unless they wait for the sounding note's next change
        assert wait == 0 or not unit.service.pending() or unit.service.held
    assert hal.sent.count(b"\n") == 1000 and steps >= 1000 // 16


def test_a_reply_too_big_for_memory_becomes_an_error_reply(tmp_path, monkeypatch):
    from pumpwatch import jsonpieces
    hal, unit = _unit(tmp_path, _empty_soon())
    real_dump = json.dump
    passes = []

    def dump(message, sink):
        if message.get("id") == 5 and message.get("ok"):
            passes.append(message)
        if message.get("id") == 5 and message.get("ok") and len(passes) == 2:  # out of memory halfway through sending it
            sink.write(json.dumps(message)[:300])
            raise MemoryError("memory allocation failed")
        return real_dump(message, sink)

    monkeypatch.setattr(jsonpieces.json, "dump", dump)
    hal.send(unit, protocol.encode({"v": 1, "id": 5, "m": "status", "a": {}}))
    torn, last = bytes(hal.sent).strip().split(b"\n")[-2:]
    with pytest.raises(protocol.FrameError):
        protocol.decode(torn, None)  # the host drops the torn frame ...
    reply = protocol.decode(last, None)[0]  # ... and reads why
    assert reply["ok"] is False and reply["err"]["code"] == protocol.FAILED and reply["id"] == 5


def test_a_large_reply_is_sent_exactly_as_encode_would_build_it(tmp_path):
    from pumpwatch.replywriter import ReplyWriter
    sent = bytearray()
    message = {"v": 1, "id": 9, "ok": True, "r": {"lines": ['%08x {"e": "ack", "t": %d} \u00e9\\' % (i, i)
                                                          for i in range(200)]}}
    ReplyWriter(sent.extend).send(message, bytes(range(32)))
    assert bytes(sent) == protocol.encode(message, bytes(range(32)))


@pytest.mark.parametrize("bomb", [
    b"[" * 16000, b"[" + b"[]," * 5000 + b"[]]", b'{"a":' * 3000, b"[" + b"1," * 7000 + b"1]",
    b'{"v":1,"id":1,"m":"hello","a":{"x":' + b"9" * 15000 + b"}}", b'{"v":1,"id":1,"m":"hello","a":"' + b"\\\"" * 50,
])
def test_a_memory_bomb_frame_is_refused_before_it_is_parsed(bomb):
    frame = protocol.MAGIC + protocol._crc(bomb) + b" - " + bomb
    with pytest.raises(protocol.FrameError):
        protocol.decode(bytearray(frame))


def test_settings_text_inside_a_frame_does_not_count_as_structure():
    text = json.dumps(minimal(), indent=1) * 3
    frame = protocol.encode({"v": 1, "id": 1, "m": "settings_put", "a": {"text": text}, "nonce": "00"})
    message = protocol.decode(bytearray(frame.rstrip(b"\n")))[0]
    assert message["a"]["text"] == text


@pytest.mark.parametrize("change, field", [
    ({"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 1e306}]}}, "therapy.steps[0].mcg_per_day"),
    ({"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 0.0001}]}}, "therapy.steps[0].mcg_per_day"),
    ({"drug": {"name": "baclofen", "concentration_mcg_per_ml": 1e-9, "max_days_in_reservoir": 180}},
     "drug.concentration_mcg_per_ml"),
    ({"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 400}], "boluses": [{"time": "08:00", "mcg": 1e300}]}},
     "therapy.boluses[0].mcg"),
    ({"refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": 1e-7}}, "refill.volume_ml"),
])
def test_numbers_that_overflow_or_round_to_zero_are_refused_naming_the_field(change, field):
    doc = minimal(**change)
    doc["confirmed"] = ["dose-range"]
    prescription, errors, _ = settings.check(doc)
    assert prescription is None and any(e.startswith(field + ":") for e in errors), errors


def test_settings_whose_check_raises_are_rejected_and_the_old_ones_stay(tmp_path, monkeypatch):
    hal, unit = _unit(tmp_path, _empty_soon())
    crc = unit.settings_crc

    def explode(doc, now=None, consume=False):
        raise OverflowError("int too large")

    from pumpwatch import plan
    monkeypatch.setattr(plan, "make_plan", explode)
    errors = apply_settings(unit, json.dumps(minimal()), None)
    assert errors == ["settings: could not be checked (OverflowError)"]
    assert unit.settings_crc == crc and readback.read_record(unit.settings_path)["crc"] == crc


def test_a_power_cut_before_the_placed_file_is_removed_never_brings_old_settings_back(tmp_path, monkeypatch):
    hal, unit = _unit(tmp_path, _empty_soon())  # placed settings.json taken at boot
    newer = minimal(refill={"at": "2026-11-10T10:00:00Z", "volume_ml": 20})
    monkeypatch.setattr(records, "remove", lambda path: None)  # the power goes before the old file is removed
    assert apply_settings(unit, json.dumps(newer), None) == []
    monkeypatch.undo()
    hal2 = FakeHAL(tmp_path / "flash", wall_s=1_795_000_000)
    rebooted = Unit(hal2)
    quiet_step(rebooted)
    assert rebooted.plan.refill_at == settings.check(newer)[0].refill_at
    assert SETTINGS_REJECTED not in rebooted.faults


def test_a_clock_set_ahead_then_back_cannot_stretch_a_pause(tmp_path):
    from pumpwatch import clock

    hal, unit = _unit(tmp_path, _empty_soon())
    now = unit.now_s()
    clock.set_time(unit, now + 365 * 86400, True)
    quiet_step(unit)
    unit.acknowledge()  # paused "for 15 minutes" a year from now
    clock.set_time(unit, now, True)
    assert unit.acks and all(until <= now + unit.policy.pause_s(cid) for cid, until in unit.acks.items())
    hal.advance(15 * 60 * 1000 + 1000)
    quiet_step(unit)
    assert EMPTY in [cid for cid, _ in unit.sounding]
    jumps = [e for e in readback.entries(unit.log)[0] if e["e"] == "time_set"]
    assert [(e["from"], e["to"]) for e in jumps] == [(now, now + 365 * 86400), (now + 365 * 86400, now)]


def test_the_unit_refuses_a_big_clock_jump_unless_confirmed(tmp_path):
    from pumpwatch import clock

    hal, unit = _unit(tmp_path, minimal(refill={"at": "2026-11-10T10:00:00Z", "volume_ml": 20}))
    with pytest.raises(ValueError, match="confirm the jump"):
        clock.set_time(unit, unit.now_s() + 4 * 3600, False)
    clock.set_time(unit, unit.plan.refill_at + 60, True)
    with pytest.raises(ValueError, match="before the refill"):
        clock.set_time(unit, unit.plan.refill_at - 60, False)
    assert clock.set_time(unit, unit.now_s() + 600, False)["time"] == unit.now_s()


def test_small_unconfirmed_steps_back_cannot_add_up_to_a_big_jump(tmp_path):
    from pumpwatch import clock

    hal, unit = _unit(tmp_path, minimal(refill={"at": "2026-10-01T10:00:00Z", "volume_ml": 20}))
    now = unit.now_s()
    clock.set_time(unit, now - 3 * 3600 + 1, False)
    with pytest.raises(ValueError, match="already been moved"):
        clock.set_time(unit, unit.now_s() - 3 * 3600 + 1, False)
    clock.set_time(unit, now - 10 * 3600, True)  # the nurse confirmed: a fresh allowance
    clock.set_time(unit, unit.now_s() + 600, False)


def test_moving_the_clock_back_past_the_start_of_a_sounding_alarm_needs_confirmation(tmp_path):
    """A clinic computer whose clock is an hour slow must not end EMPTY without a word."""
    from pumpwatch import clock

    hal, unit = _unit(tmp_path, _empty_soon())
    empty_since = dict(unit.active(unit.now_s()))[EMPTY]
    unit.hal.set_wall_time(empty_since + 600)
    quiet_step(unit)
    with pytest.raises(ValueError, match="would end the empty alarm"):
        clock.set_time(unit, empty_since - 600, False)
    assert EMPTY in [cid for cid, _ in unit.sounding]


def test_bytes_left_in_the_port_while_frames_were_queued_are_read_without_a_new_serial_event(tmp_path):
    """An emulated port signals new bytes once (an edge), a board's poll is a level: the unit must
    not sit on bytes it skipped reading while it still had frames queued."""
    hal, unit = _unit(tmp_path, _empty_soon())
    frame = protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}})
    hal.inbox = frame * 40
    hal.serial_read = lambda budget_ms=None: (lambda d: (setattr(hal, "inbox", hal.inbox[1024:]), d)[1])(hal.inbox[:1024])
    wait = hal.send(unit, b"")  # one serial event, then only the wake-ups the unit asks for
    for _ in range(100):
        if wait != 0:
            break
        wait = unit.step(EVENT_TIMEOUT)
    assert hal.sent.count(b"\n") == 40 and not hal.inbox


def test_running_out_of_memory_reading_the_port_drops_the_sync_service_not_the_unit(tmp_path, monkeypatch):
    hal, unit = _unit(tmp_path, _empty_soon())
    hal.send(unit, protocol.encode({"v": 1, "id": 1, "m": "hello", "a": {}}))
    assert unit.service is not None
    real_read = hal.serial_read

    def no_memory(budget_ms=None):
        raise MemoryError("memory allocation failed, allocating 3088 bytes")

    monkeypatch.setattr(hal, "serial_read", no_memory)
    wait = hal.send(unit, b"x" * 100)  # a step that would have crashed (three of them: safe mode)
    assert unit.service is None and unit.serial_due  # tried again a little later ...
    assert wait is not None and wait > 0  # ... not in a busy loop
    monkeypatch.setattr(hal, "serial_read", real_read)
    sent = len(hal.sent)
    hal.send(unit, b"\n" + protocol.encode({"v": 1, "id": 2, "m": "hello", "a": {}}))
    reply = protocol.decode(bytes(hal.sent[sent:]).strip().split(b"\n")[-1], None)[0]
    assert reply["id"] == 2 and reply["ok"]
    assert EMPTY in [cid for cid, _ in unit.sounding]  # the alarm never stopped
