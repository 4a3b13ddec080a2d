"""Attacks of issue 9 on pumpsync, the host side: performed with only what
pumpsync offered before the fix (ee1f021) and still offers now, so each fails
on the host tools before the fix because the attack works, and passes now
(bench/attacks_before_fix.sh runs them against both).

A rogue device on a pty stands in for a unit; the stray-byte and clock-jump
tests use an emulated unit (running the firmware of the same commit).
"""

from __future__ import annotations

import binascii
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_unit import PtyDevice
from pumpwatch import protocol

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHORT_CYCLE = EXAMPLES / "partial-refill.json"


@pytest.fixture(autouse=True)
def hardware_free(hardware_port):
    if hardware_port:
        pytest.skip("a rogue device or an emulated unit, not a real one")


def _schema_1_document(path: Path = SHORT_CYCLE) -> dict:
    """An example as a schema-1 file both versions of pumpsync accept."""
    doc = json.loads(path.read_text())
    doc.pop("programmer", None)
    return doc


# ---------------------------------------------------------------------- a rogue device, seen from pumpsync
class RogueUnit(PtyDevice):
    """A device on a pty claiming a paired unit's id: it answers every request with
    success, in the paging of both protocols, echoes the settings it is sent, signs
    nothing (it has no key), and puts terminal escape sequences in its text."""

    def __init__(self, unit_id: str, endless_log: bool = False):
        super().__init__(unit_id)
        self.endless_log = endless_log
        self.text = None
        self.pieces: dict[int, str] = {}

    def _crc(self):
        from pumpwatch import records
        return None if self.text is None else records.crc_of(self.text)

    def _result(self, method: str, args: dict) -> dict:
        now = int(time.time())
        due = now + 60 * 86400
        if method == "hello":
            return {"firmware": "0.1.0\x1b[2J\x1b]0;owned\x07", "protocol": 1, "board": "rp2",
                    "unit_id": self.unit_id, "paired": True, "time": now, "pairing": False}
        if method == "nonce":
            return {"nonce": os.urandom(16).hex(), "lifetime_s": 60}
        if method == "settings_put":
            if "offset" in args:  # the fixed pumpsync sends the text in pieces
                self.pieces[args["offset"]] = args["text"]
                self.text = "".join(self.pieces[k] for k in sorted(self.pieces))
            else:
                self.text = args.get("text")
            return {"crc": self._crc(), "refill_due_at": due}
        if method == "settings_result":
            return {"crc": self._crc(), "errors": [], "refill_due_at": due}
        if method == "settings_get":
            if args.get("text") is False:
                return {"crc": self._crc(), "intact": True}
            return {"text": self.text, "crc": self._crc()}
        if method == "time_set":
            return {"time": args.get("epoch"), "was": now}
        if method == "status":
            return {"unit_id": self.unit_id, "time": now, "clock_known": True, "active": [],
                    "sounding": [], "battery_mv": 4000, "forecast": None, "refill_due_at": due}
        if method == "log":
            self.log_pages_served += 1
            body = '{"e": "boot\\u001b]0;owned\\u0007\\u001b[2J", "t": 1795000000}'
            line = "%08x %s" % (binascii.crc32(body.encode()), body)
            n = self.log_pages_served
            if self.endless_log:  # always one more page, in either paging
                return {"lines": [line], "cursor": [n, 0], "done": False, "from": n - 1, "next": n,
                        "total": 10 ** 9}
            return {"lines": [line], "cursor": [1, 0], "done": True, "from": 0, "next": 1, "total": 1}
        return {}


def _pumpsync(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pumpsync", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_pumpsync_sync_never_reports_success_from_a_device_that_cannot_sign(tmp_path):
    """Attack: a rogue device claiming a paired unit's id made `pumpsync sync` print
    "Written and verified" and record the sync as done."""
    from pumpsync.keystore import Keystore

    keystore, db = tmp_path / "keys.json", tmp_path / "h.sqlite"
    Keystore(keystore).store("0123456789ab", os.urandom(32))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(_schema_1_document()))
    with RogueUnit("0123456789ab") as rogue:
        result = _pumpsync("sync", str(settings), "--port", rogue.port, "--keystore", str(keystore),
                           "--db", str(db), "--yes")
    assert result.returncode != 0 and "Written and verified" not in result.stdout, \
        "sync reported success from a device that signs nothing: " + result.stdout.strip().splitlines()[-1]
    history = json.loads(_pumpsync("history", "--db", str(db), "--json").stdout)
    assert all(h["result"] != "ok" for h in history if h["kind"] == "sync"), history


def test_text_from_a_device_never_reaches_the_terminal_raw(tmp_path):
    """Attack: pumpsync printed the unit's firmware name and log text as they came, so
    a device could send terminal escape sequences (clear the screen, retitle it)."""
    db = tmp_path / "h.sqlite"
    with RogueUnit("0123456789ab") as rogue:
        shown = [_pumpsync(command, "--port", rogue.port, "--keystore", str(tmp_path / "none.json"), "--db",
                           str(db)) for command in ("status", "log")]
    for result in shown:
        assert result.returncode == 0, result.stderr
        out = result.stdout + result.stderr
        assert "\x1b" not in out and "\x07" not in out, "printed raw: " + repr(out[:120])
    assert "\\x1b" in shown[0].stdout and "\\x1b" in shown[1].stdout


def test_pumpsync_log_ends_against_a_device_that_never_says_done(tmp_path):
    """Attack: `pumpsync log` paged for as long as the device said there was more:
    a device could keep it paging (and growing its memory) forever."""
    with RogueUnit("0123456789ab", endless_log=True) as rogue:
        try:
            _pumpsync("log", "--port", rogue.port, "--keystore", str(tmp_path / "none.json"), "--db",
                      str(tmp_path / "h.sqlite"), timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"pumpsync log was still paging after 30 s ({rogue.log_pages_served} pages)")
        assert rogue.log_pages_served <= 2 * 2000 + 2


def test_a_stray_byte_on_the_line_does_not_break_the_next_command(tmp_path):
    """Attack: a byte left on the line (a terminal, a half-sent frame) glued onto
    pumpsync's next frame, so the unit ignored it and the command timed out."""
    from pumpsync.client import UnitClient
    from pumpsync.emulator import Emulator

    with Emulator(state_dir=tmp_path / "unit", start_time="2026-11-20T10:35:00Z", speed=0) as emu:
        emu.advance(2)
        with UnitClient(emu.port) as first:
            first.link.write(b"x")  # a byte, no newline
            first.link.flush()
        emu.advance(0.5)
        with UnitClient(emu.port, timeout=2) as client:
            assert client.call("hello")["protocol"] == protocol.VERSION


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@pytest.mark.parametrize("unit_ahead_s, refill_ahead_s", [(86400, None), (2 * 3600, 3600)],
                         ids=["unit-a-day-ahead", "host-before-the-refill"])
def test_pumpsync_time_set_refuses_an_unconfirmed_clock_jump(tmp_path, unit_ahead_s, refill_ahead_s):
    """Attack (the host's half of the clock jumps): `pumpsync time set` moved the unit's
    clock to this computer's whatever the difference -- a day, or back to before the
    refill the unit has on record -- without asking; a computer with a wrong clock
    stretched or cut short the unit's alarms.  Now it refuses without --confirm."""
    from pumpsync.client import UnitClient
    from pumpsync.emulator import Emulator, install_firmware
    from pumpsync.keystore import Keystore

    host_now = int(time.time())
    flash = tmp_path / "unit" / "flash"
    flash.mkdir(parents=True)
    install_firmware(flash)
    if refill_ahead_s is not None:  # settings whose refill is after this computer's "now"
        doc = _schema_1_document()
        doc["refill"].update(at=_iso(host_now + refill_ahead_s), next_appointment=_iso(host_now + 3 * 86400))
        (flash / "settings.json").write_text(json.dumps(doc))
    keystore = tmp_path / "keys.json"
    with Emulator(state_dir=tmp_path / "unit", start_time=host_now + unit_ahead_s, speed=0) as emu:
        emu.advance(2)
        key = os.urandom(32)
        with UnitClient(emu.port) as client:  # pair as both firmwares confirm it
            started = client.call("pair", {"key": key.hex(), "name": "first computer"})
            emu.advance(started.get("press_after_ms", 1000) / 1000)
            emu.press(2000)
            assert client.call("pair_status")["state"] == "paired"
            unit_id = client.call("hello")["unit_id"]
            if refill_ahead_s is not None:
                assert client.call("settings_get")["text"], "the unit did not take the placed settings"
        Keystore(keystore).store(unit_id, key)  # the name the keystore gives by default: "first computer"
        result = _pumpsync("time", "set", "--port", emu.port, "--keystore", str(keystore), "--db",
                           str(tmp_path / "h.sqlite"))
        with UnitClient(emu.port) as client:
            unit_time = client.call("hello")["time"]
    assert abs(unit_time - emu.now()) < 60, \
        f"the unit's clock was moved {unit_time - emu.now():+.0f} s without confirmation: {result.stdout.strip()}"
    assert result.returncode != 0 and "--confirm" in result.stderr, result.stderr[-300:]


@pytest.mark.parametrize("change", [
    {"therapy": {"steps": [{"start": "00:00", "mcg_per_day": 1e306}]}},
    {"drug": {"name": "baclofen", "concentration_mcg_per_ml": 1e-9, "max_days_in_reservoir": 180}},
], ids=["dose-1e306", "tiny-concentration"])
def test_pumpsync_forecast_names_a_number_out_of_range_instead_of_a_traceback(tmp_path, change):
    """Attack (the host's half of the crash-looping settings): `pumpsync forecast` of a file
    with 1e306 mcg/day or a tiny concentration died with a traceback."""
    settings = tmp_path / "bad.json"
    settings.write_text(json.dumps(dict(_schema_1_document(), **change, confirmed=["dose-range"])))
    result = _pumpsync("forecast", str(settings))
    assert result.returncode == 2 and "Traceback" not in result.stderr, \
        "forecast died with a traceback: " + (result.stderr.strip().splitlines() or [""])[-1]
    assert ("mcg_per_day" in result.stderr) or ("concentration_mcg_per_ml" in result.stderr)
