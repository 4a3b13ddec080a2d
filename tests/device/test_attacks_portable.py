"""The attacks of issue 9, each performed with only what the unit's port and
pumpsync offered before the fix (ee1f021) and still offer now.

tests/device/test_attacks.py pins the same attacks, but many of its tests
go through protocol features added by the fix (`press_after_ms`, named keys,
MAC'd replies, settings sent in pieces, log cursors): on the old firmware
they stop at a KeyError, not at the attack.  The tests here speak the
common subset -- raw frames on the port, `pair` with just a key, a write
MAC'd over a fresh nonce, a settings file placed on the flash, the
emulator's button and clock -- and assert only what the attack is about,
so each fails on the firmware before the fix *because the attack works*,
and passes now.  bench/attacks_before_fix.sh runs them against both.

What both versions accept is used as both accept it: extra request fields
(`name`, `kid`, `jump_ok`) that the old firmware ignores are sent, because
the new one needs them; a reply is read without requiring the new MAC,
unless the MAC is what the test is about.
"""

from __future__ import annotations

import binascii
import json
import os
import time
from pathlib import Path

import pytest

from pumpsync.client import open_serial
from pumpsync.emulator import Emulator, install_firmware
from pumpwatch import protocol, readback, sounds

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHORT_CYCLE = EXAMPLES / "partial-refill.json"  # low in ~4 days, empty in ~5
START = "2026-11-20T10:35:00Z"  # shortly after SHORT_CYCLE's refill
KEY_NAME = "test bench"


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("needs the emulator's control API (virtual time, power, button)")


# ---------------------------------------------------------------------- the common subset
def _schema_1_document(path: Path = SHORT_CYCLE) -> dict:
    """An example as a schema-1 file both firmwares accept (the programmer's
    printout block came with schema 2)."""
    doc = json.loads(path.read_text())
    doc.pop("programmer", None)
    return doc


def _placed_unit(state_dir: Path, doc: dict | None = None, compiled: bool = False) -> dict:
    """A factory-fresh unit with a settings file placed on its flash (as with mpremote)."""
    doc = _schema_1_document() if doc is None else doc
    flash = Path(state_dir) / "flash"
    flash.mkdir(parents=True, exist_ok=True)
    install_firmware(flash, compiled=compiled)
    (flash / "settings.json").write_text(json.dumps(doc))
    return doc


def _epoch(doc: dict, field: str = "at") -> int:
    from pumpwatch import timecalc
    return timecalc.parse_iso(doc["refill"][field])


def _forecast(doc: dict):
    from pumpwatch import settings
    from pumpwatch.forecast import Forecast

    prescription = settings.check(doc)[0]
    return Forecast(prescription, prescription.refill_at)


class Port:
    """Raw frames over the unit's port: requests in the v1 envelope, replies with their MAC."""

    def __init__(self, path: str, timeout: float = 5):
        self.link = open_serial(path, timeout)
        self.timeout = timeout
        self.next_id = 100
        self.pending = b""
        self.link.write(b"\n")

    def close(self):
        self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.link.write(data)
        self.link.flush()

    def line(self, deadline: float) -> bytes | None:
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.link.timeout = min(left, 0.2)
            self.pending += self.link.read(max(1, self.link.in_waiting))
        line, self.pending = self.pending.split(b"\n", 1)
        return line.rstrip(b"\r")

    def frames(self, timeout: float, idle: float = 0.3) -> list[tuple[dict, bytes | None, bytes]]:
        """Every reply frame until the port is quiet for `idle` s (at most `timeout` s)."""
        deadline, got = time.monotonic() + timeout, []
        while True:
            line = self.line(min(deadline, time.monotonic() + idle))
            if line is None:
                return got
            if line.startswith(protocol.MAGIC):
                try:
                    got.append(_decode(line))
                except protocol.FrameError:
                    got.append(({"_undecodable": line}, None, b""))

    def request(self, method: str, args: dict | None = None, key: bytes | None = None, **extra):
        """(reply, mac, body) of one request; with `key`, a write MAC'd over a fresh nonce."""
        body = {"m": method, "a": args or {}, **extra}
        if key is not None:
            body["nonce"] = self.call("nonce")["nonce"]
            body["kid"] = KEY_NAME
        self.next_id += 1
        message = {"v": protocol.VERSION, "id": self.next_id, **body}
        self.send(b"\n" + protocol.encode(message, key))
        deadline = time.monotonic() + self.timeout
        while True:
            line = self.line(deadline)
            assert line is not None, f"no reply to {method}"
            if not line.startswith(protocol.MAGIC):
                continue
            reply, mac, reply_body = _decode(line)
            if reply.get("id") in (self.next_id, None):
                return reply, mac, reply_body

    def call(self, method: str, args: dict | None = None, key: bytes | None = None, **extra) -> dict:
        """The result of a request that must succeed."""
        reply = self.request(method, args, key, **extra)[0]
        assert reply.get("ok"), f"{method}: {reply.get('err')}"
        return reply["r"]

    def refused(self, method: str, args: dict | None = None, key: bytes | None = None) -> str | None:
        """The error code of a request, None if it succeeded."""
        reply = self.request(method, args, key)[0]
        return None if reply.get("ok") else reply["err"]["code"]


def _decode(line: bytes):
    message, mac, body = protocol.decode(bytearray(line), limits=None)
    return message, mac, bytes(body)


def _pair(emu: Emulator, port: Port) -> bytes:
    """Pair with `pair` and a long press after the chirp, as both firmwares confirm it."""
    key = os.urandom(32)
    started = port.call("pair", {"key": key.hex(), "name": KEY_NAME})
    emu.advance(started.get("press_after_ms", 1000) / 1000)  # the chirp ends (older units: no chirp length)
    emu.press(2000)
    assert port.call("pair_status")["state"] == "paired"
    return key


def _evidence(emu: Emulator) -> list[dict]:
    """Every entry of the unit's event log on its flash, oldest first, for either
    file naming (events.N.log now; events.log, events.log.1.. before)."""
    def order(name):
        parts = name.split(".")
        if parts[-1] == "log" and parts[1].isdigit():
            return int(parts[1])
        return -(int(parts[-1]) if parts[-1].isdigit() else 0)

    names = sorted((n for n in emu.list_flash("/data") if n.startswith("events.")), key=order)
    entries = []
    for name in names:
        data = emu.read_flash("/data/" + name) or b""
        entries += [readback.parse_line(line) for line in data.split(b"\n") if line]
    return [e for e in entries if e is not None]


def _flash_text(emu: Emulator, folder: str = "/data") -> bytes:
    return b"".join(emu.read_flash(f"{folder}/{name}") or b"" for name in emu.list_flash(folder))


def _tones(emu: Emulator, seconds: float) -> set[int]:
    start = emu.now() * 1000
    emu.advance(seconds)
    return {hz for t, hz in emu.buzzer_log() if t >= start and hz}


def _press_down(emu: Emulator, down: bool):
    """The button held down (or let go) with no release yet: Emulator.press() cannot
    leave it down while a request arrives, so the button event is delivered directly,
    under the emulator's lock as press() does (its live loop is reading the port)."""
    with emu._lock:  # noqa: SLF001 - the emulator's own button event
        emu._deliver({"ev": "button", "down": down})  # noqa: SLF001


# ---------------------------------------------------------------------- crash to REPL: memory bombs
BOMBS = [b"[" * 16000, b"[" + b"[]," * 5000 + b"[]]", b'{"a":' * 3000]


@pytest.mark.parametrize("bomb", BOMBS, ids=["brackets", "empty-lists", "nested-objects"])
def test_a_memory_bomb_frame_gets_an_error_reply_never_the_repl(tmp_path, bomb):
    """Attack: a 16 KB frame of `[` (or nested lists/objects) made protocol.decode raise
    MemoryError, which left the loop: main.py ended in the REPL.  On a fixed heap
    (unix backend, 128 KB) the unit must answer with an error and keep monitoring."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix", heap_kb=128) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            assert port.call("hello")["protocol"] == protocol.VERSION
            port.send(protocol.MAGIC + protocol._crc(bomb) + b" - " + bomb + b"\n")
            for _ in range(40):  # the port delivers 16 KB to the unit in pieces
                emu.advance(0.05)
            replies = [r for r, _, _ in port.frames(3)]
            stats = emu.stats()
            assert stats["state"] == "sleeping" and stats["crashes"] == 0, stats.get("error")
            assert replies and all(not r.get("ok") for r in replies), replies
            assert port.call("hello")["protocol"] == protocol.VERSION
        assert emu.stats()["boots"] == 1
        emu.advance(60)
        assert _tones(emu, 10)  # the factory-fresh unit still sounds its "no settings" fault


# ---------------------------------------------------------------------- Ctrl-C in safe mode
def test_ctrl_c_in_safe_mode_never_reaches_a_repl(tmp_path):
    """Attack: SafeMode never turned the interrupt character off, so a unit that had
    crashed three times (safe mode: still sounding) dropped to the REPL on Ctrl-C."""
    _placed_unit(tmp_path / "unit")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        for _ in range(3):  # three crashes in a row: safe mode, however the unit restarted
            emu.inject_exception()
            emu.advance(10)
        emu.advance(10)
        assert emu.stats()["state"] == "sleeping"
        assert any(e.get("c") == "safe_mode" for e in _evidence(emu)), "not in safe mode"
        with Port(emu.port) as port:
            port.send(b"\x03\x03\r\n\x03")  # Ctrl-C, as a terminal sends it
        emu.advance(5)
        assert emu.stats()["state"] == "sleeping", "Ctrl-C in safe mode opened the REPL"
        assert sounds.C5 in _tones(emu, 10)


# ---------------------------------------------------------------------- pairing stolen
def test_a_paired_unit_cannot_be_paired_again_from_the_port(tmp_path):
    """Attack: `pair` on a paired unit replaced its key without proof of the old one;
    the long press that confirmed it is the patient's own status gesture."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            clinic = _pair(emu, port)
            stranger = os.urandom(32)
            port.request("pair", {"key": stranger.hex(), "name": "laptop"})  # refused now; "waiting" before
            emu.advance(1)
            emu.press(2000)  # the patient checks their status the usual way
            assert port.refused("alarm_test", {"priority": "low"}, stranger) == protocol.UNAUTHORISED, \
                "a stranger's key replaced the clinic's"
            assert port.refused("alarm_test", {"priority": "low"}, clinic) is None


def test_a_press_held_since_before_the_pairing_request_confirms_nothing(tmp_path):
    """Attack: a long press that began before the `pair` request (the patient already
    holding the button to hear their status) confirmed a stranger's key on release."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            _press_down(emu, True)
            emu.advance(0.5)
            port.request("pair", {"key": os.urandom(32).hex(), "name": "laptop"})
            emu.advance(2)
            _press_down(emu, False)
            emu.advance(0.5)
            assert port.call("hello")["paired"] is False, "a press begun before the request paired a key"


def test_an_abandoned_pairing_request_is_not_confirmed_by_a_press_days_later(tmp_path):
    """Attack: a `pair` request abandoned on the host (Ctrl-C: nobody asks pair_status,
    nobody presses) stayed pending on the unit, and its 30 s window was a ticks
    deadline compared with ticks_diff: once ticks moved half their period on (2**29 ms,
    6.2 days), the window was open again, for 6.2 days, and the patient's next long
    press (their status gesture) paired the stranger's key."""
    doc = _placed_unit(tmp_path / "unit", _schema_1_document(EXAMPLES / "large-pump-500.json"))  # quiet for weeks
    with Emulator(state_dir=tmp_path / "unit", start_time=_epoch(doc) + 600, speed=0, measure_heap=False) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            port.call("pair", {"key": os.urandom(32).hex(), "name": "abandoned"})
        emu.advance(7 * 86400)  # no press, no poll: a week later
        emu.press(2000)  # the patient checks their status the usual way
        with Port(emu.port) as port:
            assert port.call("hello")["paired"] is False, "a week-old abandoned pairing request was confirmed"


# ---------------------------------------------------------------------- unauthenticated replies
def test_replies_to_a_paired_computer_carry_the_units_mac_over_its_challenge(tmp_path):
    """Attack (the unit's half): replies carried no MAC, so a device claiming a paired
    unit's id could answer anything.  Now a write's reply, and a status read that
    names the key and a challenge, are MAC'd over the request's nonce/challenge."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            key = _pair(emu, port)
            challenge = os.urandom(16).hex()
            reply, mac, body = port.request("status", {}, None, challenge=challenge, kid=KEY_NAME)
            assert reply["ok"] and reply.get("n") == challenge and protocol.mac_valid(key, body, mac), \
                f"status reply not MAC'd over the challenge: n={reply.get('n')!r}, mac={mac!r}"
            reply, mac, body = port.request("alarm_test", {"priority": "low"}, key)
            assert reply["ok"] and protocol.mac_valid(key, body, mac)


# ---------------------------------------------------------------------- clocks
def test_a_clock_set_a_year_ahead_an_ack_and_back_cannot_silence_empty(tmp_path):
    """Attack: set the unit's clock a year ahead, acknowledge EMPTY (paused "15
    minutes" from then), set the right time again: EMPTY stayed silent for a year."""
    doc = _placed_unit(tmp_path / "unit")
    empty_at = _forecast(doc).empty_at
    with Emulator(state_dir=tmp_path / "unit", start_time=empty_at + 60, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            key = _pair(emu, port)
            right = int(emu.now())
            port.call("time_set", {"epoch": right + 365 * 86400, "jump_ok": True}, key)
            emu.advance(1)
            port.call("ack", {}, key)
            port.call("time_set", {"epoch": int(emu.now()), "jump_ok": True}, key)
        emu.advance(15 * 60 + 2)
        assert {sounds.C5, sounds.G5} <= _tones(emu, 8), "EMPTY silent after its 15-minute pause"


def test_an_unconfirmed_clock_jump_of_a_day_is_refused(tmp_path):
    """Attack (the guard): `time_set` took any epoch, so a host clock a day (or a year)
    off moved the unit's without a word.  A jump of more than a few hours now needs
    `jump_ok`, and the clock stays where it was."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            key = _pair(emu, port)
            before = port.call("hello")["time"]
            assert port.refused("time_set", {"epoch": before + 86400}, key) == protocol.BAD_REQUEST, \
                "an unconfirmed jump of a day was taken"
            assert abs(port.call("hello")["time"] - before) < 5


# ---------------------------------------------------------------------- maintenance is not a crash
def test_three_maintenance_windows_do_not_put_a_healthy_unit_in_safe_mode(tmp_path):
    """Attack: each authenticated maintenance window ends by the watchdog, and the boot
    guard counted those resets as crashes: three windows and the unit was in safe mode."""
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            key = _pair(emu, port)
        for _ in range(3):
            with Port(emu.port) as port:
                port.call("maintenance", {"minutes": 1}, key)
            emu.advance(70)  # the window ends by the watchdog, as on a board
            emu.advance(2)
            assert emu.stats()["state"] == "sleeping"
        assert not any(e.get("c") == "safe_mode" for e in _evidence(emu)), \
            "three maintenance windows put a healthy unit in safe mode"


# ---------------------------------------------------------------------- settings that crash-loop
@pytest.mark.parametrize("change", [
    {"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 1e306}]}},
    {"drug": {"name": "baclofen", "concentration_mcg_per_ml": 1e-9, "max_days_in_reservoir": 180}},
    {"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 0.0001}]}},
], ids=["dose-1e306", "tiny-concentration", "rate-rounds-to-0"])
def test_a_placed_settings_file_that_overflows_is_rejected_with_the_fault_alarm(tmp_path, change):
    """Attack: a settings file with 1e306 mcg/day, a tiny concentration or a rate that
    rounds to 0 ng raised Overflow/ZeroDivision at boot: a crash loop into safe mode.
    The unit must refuse the file, boot once and sound the fault."""
    doc = dict(_schema_1_document(), **change, confirmed=["dose-range"])
    _placed_unit(tmp_path / "unit", doc)
    with Emulator(state_dir=tmp_path / "unit", start_time=_epoch(doc) + 300, speed=0) as emu:
        emu.advance(30)
        stats = emu.stats()
        assert stats["boots"] == 1 and stats["crashes"] == 0 and stats["state"] == "sleeping", stats.get("error")
        assert any(e.get("c") == "settings_rejected" for e in _evidence(emu))
        assert sounds.C5 in _tones(emu, 10)


# ---------------------------------------------------------------------- the log as evidence
def test_a_day_of_refused_writes_cannot_rotate_the_boot_and_pairing_evidence_away(tmp_path):
    """Attack: one forged write a minute for 25 h rotated every boot and pairing entry
    out of the unit's log, with no key.  (The old unit logged at most one auth_rejected
    a minute -- "more than 60 s" since the last -- so the writes come 61 s apart.)"""
    _placed_unit(tmp_path / "unit")  # configured and quiet: the minutes pass without alarms
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, measure_heap=False) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            _pair(emu, port)
            forged = bytes(32)
            for minute in range(25 * 3600 // 61):
                port.send(b"\n" + protocol.encode({"v": 1, "id": minute, "m": "log_clear", "a": {},
                                                   "nonce": "00" * 16, "kid": KEY_NAME}, forged))
                assert port.line(time.monotonic() + 10) is not None  # refused: then the next minute
                emu.advance(61)
        kinds = [e["e"] for e in _evidence(emu)]
        assert "boot" in kinds and "paired" in kinds, \
            f"boot/pairing evidence rotated away: the oldest entries are {kinds[:3]}"


def test_log_clear_and_factory_reset_leave_no_earlier_patients_log(tmp_path):
    """Attack: log_clear and factory_reset removed events.log, .1 and .2 but the log
    rotates into events.log.3 too: the previous patient's entries stayed readable."""
    _placed_unit(tmp_path / "unit")
    data = tmp_path / "unit" / "flash" / "data"
    data.mkdir()
    line = b'{"e": "old patient", "t": 1790000000}'
    for name in ("events.log.3", "events.log.2", "events.log.1", "events.log"):
        (data / name).write_bytes(b"%08x " % (binascii.crc32(line) & 0xFFFFFFFF) + line + b"\n")
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            key = _pair(emu, port)
            port.call("log_clear", {}, key)
            assert b"old patient" not in _flash_text(emu), "log_clear left an older log file"
            port.call("factory_reset", {}, key)
        emu.advance(5)
        assert b"old patient" not in _flash_text(emu), "factory_reset left an older log file"


def _fill_old_style_log(data: Path, entries: int) -> int:
    """`entries` acknowledgements in the log files of firmware 0.1 (events.log and
    its rotations, 32 KB each), which the fixed firmware takes over at boot."""
    data.mkdir(parents=True, exist_ok=True)
    files = [data / name for name in ("events.log.3", "events.log.2", "events.log.1", "events.log")]
    t, written, current = 1_795_000_000, 0, 0
    for _ in range(entries):
        t += 3600
        body = json.dumps({"e": "ack", "c": ["low_reservoir"], "until": [t + 14400], "t": t}).encode()
        line = b"%08x " % (binascii.crc32(body) & 0xFFFFFFFF) + body + b"\n"
        if files[current].exists() and files[current].stat().st_size + len(line) > 32000:
            current += 1
            if current == len(files):
                break
        with open(files[current], "ab") as f:
            f.write(line)
        written += 1
    return written


def _download_log(port: Port) -> list[dict]:
    """The whole evidence log, page by page, whichever paging the unit speaks
    (`from`/`next`/`total` before, `cursor`/`done` now); every page must succeed."""
    entries, start, cursor = [], 0, None
    for _ in range(500):
        reply = port.request("log", {"from": start, "limit": 400, "cursor": cursor})[0]
        assert reply.get("ok"), f"a log page failed: {reply.get('err')}"
        page = reply["r"]
        entries += [e for e in (readback.parse_line(line.encode()) for line in page["lines"]) if e]
        if "total" in page:
            start = page["next"]
            if start >= page["total"] or not page["lines"]:
                return entries
        else:
            cursor = page["cursor"]
            if page["done"]:
                return entries
    raise AssertionError("log paging did not end")


def test_the_whole_log_downloads_on_a_board_sized_heap(tmp_path):
    """Attack: `log` read every log file into RAM for every page: with a full log
    (about 1000 entries) the download needed ~240 KB of heap and failed on a board.
    Unix backend, 128 KB heap, the .mpy build: every page answers, nothing crashes."""
    _placed_unit(tmp_path / "unit", compiled=True)
    written = _fill_old_style_log(tmp_path / "unit" / "flash" / "data", 1000)
    with Emulator(state_dir=tmp_path / "unit", start_time=START, speed=0, backend="unix", heap_kb=128,
                  compiled=True, measure_heap=False) as emu:
        emu.advance(2)
        with Port(emu.port) as port:
            assert port.call("hello")["protocol"] == protocol.VERSION  # it boots at this heap
            entries = _download_log(port)
        stats = emu.stats()
        assert stats["crashes"] == 0 and stats["state"] == "sleeping", stats.get("error")
    assert sum(1 for e in entries if e.get("e") == "ack") >= written - 5


# ---------------------------------------------------------------------- ticks wrap with the clock lost
def test_with_the_clock_lost_the_alarm_returns_after_every_pause_across_a_tick_wrap(tmp_path):
    """Attack: with the clock lost the unit used ticks_ms()//1000 as its clock; ticks
    wrap on a board (2**30 ms; the emulated HAL starts 10 minutes before the wrap), so
    the last acknowledgement before the wrap paused "clock lost" for ~12 days."""
    doc = _placed_unit(tmp_path / "unit", _schema_1_document(EXAMPLES / "large-pump-500.json"))
    with Emulator(state_dir=tmp_path / "unit", start_time=_epoch(doc) + 600, speed=0, rtc_backup=False,
                  measure_heap=False) as emu:
        emu.advance(5)
        emu.power_cut()
        emu.boot()  # the time is unknown: the medium "clock lost" fault sounds until it is set
        emu.advance(30)
        emu.press(150)  # acknowledged: paused for its nominal 4 hours
        emu.advance(4 * 3600 + 120)  # the pause ends well past the tick wrap
        assert _tones(emu, 30), "still silent after the 4-hour pause"
        assert emu.stats()["state"] == "sleeping"
