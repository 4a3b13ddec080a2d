"""A nurse's computer and an emulated unit for CLI tests: `Clinic` runs pumpsync
as a nurse types it (own keystore, history and lock folder), `settings_for_now`
writes an example refilled an hour ago with its programmer printout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pumpsync.emulator import Emulator
from pumpwatch import timecalc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from printout import with_printout  # noqa: E402


def settings_for_now(tmp_path: Path, name="visit.json", example="simple-continuous.json", change=None,
                     refilled_ago_s: int = 3600) -> Path:
    """The example refilled `refilled_ago_s` ago, with its printout (as the nurse copies it)."""
    now = int(time.time())
    doc = json.loads((EXAMPLES / example).read_text())
    doc["refill"]["at"] = timecalc.format_iso(now - refilled_ago_s)
    if "next_appointment" in doc["refill"]:
        doc["refill"]["next_appointment"] = timecalc.format_iso(now + 60 * 86400)
    if change:
        change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(with_printout(doc)))
    return path


class Clinic:
    """A nurse's computer (keystore, history) and one emulated unit whose clock runs in real time."""

    def __init__(self, tmp_path: Path, emu: Emulator):
        self.tmp, self.emu = tmp_path, emu
        self.keystore, self.db = tmp_path / "keys.json", tmp_path / "history.sqlite"
        self.env = dict(os.environ, PUMPSYNC_RUNTIME_DIR=str(tmp_path / "run"))

    def run(self, *args, port=None, check=False, db=None, timeout=120):
        command = [sys.executable, "-m", "pumpsync", *args, "--port", port or self.emu.port,
                   "--keystore", str(self.keystore), "--db", str(db or self.db)]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=self.env)

    def pair(self):
        proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", self.emu.port, "--keystore",
                                 str(self.keystore), "--db", str(self.db)], stdout=subprocess.PIPE, text=True,
                                env=self.env)
        proc.stdout.readline()
        time.sleep(1.2)  # the pairing trill ends; the press that counts begins after it
        self.emu.press(2000)
        assert proc.wait(timeout=30) == 0

    def pair_on_chip_time(self, *options):
        """pair() for an emulated chip whose time may run slower than the wall clock (the emulated
        Pico on a loaded machine): the trill's end is waited for on the unit's own clock, since a
        press begun within the trill confirms nothing (as it must)."""
        proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", self.emu.port, "--keystore",
                                 str(self.keystore), "--db", str(self.db), *options], stdout=subprocess.PIPE,
                                text=True, env=self.env)
        assert "press and HOLD" in proc.stdout.readline()
        self.emu.advance(1.5)
        self.emu.press(2000)
        assert proc.wait(timeout=120) == 0

    def history(self):
        return json.loads(subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", str(self.db),
                                          "--json"], capture_output=True, text=True, check=True).stdout)


def clinic_with_unit(tmp_path, clock_offset_s=0):
    emu = Emulator(state_dir=tmp_path / "unit", start_time=time.time() + clock_offset_s, speed=1)
    emu.start()
    emu.advance(2)
    clinic = Clinic(tmp_path, emu)
    clinic.pair()
    return clinic


