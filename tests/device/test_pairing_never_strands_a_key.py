"""A unit must never end up trusting a key that no computer holds: a nurse who
presses Ctrl-C while pairing, a key file that cannot be written, or a second
computer given a name already in use would otherwise lock the clinic out of
the unit until it is factory-reset on the unit itself.  And a file for another
patient is never written onto a unit without a confirmation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from clinic import Clinic, settings_for_now
from pumpsync.emulator import Emulator


def _fresh_unit_clinic(tmp_path):
    emu = Emulator(state_dir=tmp_path / "unit", start_time=time.time(), speed=1)
    emu.start()
    emu.advance(2)
    return Clinic(tmp_path, emu)


def _start_pair(clinic, keystore=None):
    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", clinic.emu.port, "--keystore",
                             str(keystore or clinic.keystore), "--db", str(clinic.db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clinic.env)
    return proc


def test_ctrl_c_while_waiting_for_the_press_cancels_the_request_on_the_unit(tmp_path):
    clinic = _fresh_unit_clinic(tmp_path)
    try:
        proc = _start_pair(clinic)
        assert "press and HOLD" in proc.stdout.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        time.sleep(1.2)  # the trill is over: within the window this press would have paired
        clinic.emu.press(2000)
        names = json.loads(clinic.run("status", "--json").stdout)
        assert names["paired"] is False if "paired" in names else True
        keys = clinic.run("keys", "list")
        assert "trusts no computer" in keys.stdout, keys.stdout + keys.stderr
        clinic.pair()  # and the nurse can simply pair again
        assert clinic.run("status").returncode == 0
    finally:
        clinic.emu.close()


def test_a_key_file_that_cannot_be_written_is_found_before_the_unit_takes_a_key(tmp_path):
    """An immutable key file (chattr +i: even root cannot replace it), as a locked-down clinic PC has."""
    clinic = _fresh_unit_clinic(tmp_path)
    clinic.keystore.write_text(json.dumps({"units": {}}))
    if subprocess.run(["chattr", "+i", str(clinic.keystore)], capture_output=True).returncode != 0:
        clinic.emu.close()
        pytest.skip("chattr +i is not available on this file system")
    try:
        result = clinic.run("pair")
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert "cannot be written" in result.stderr and "nothing was sent to the unit" in result.stderr
        assert "press and HOLD" not in result.stdout  # the unit was never asked
    finally:
        subprocess.run(["chattr", "-i", str(clinic.keystore)])
    try:
        assert "trusts no computer" in clinic.run("keys", "list").stdout
    finally:
        clinic.emu.close()


def test_keys_add_refuses_a_name_the_unit_already_trusts(clinic):
    mine = json.loads(clinic.keystore.read_text())["units"]
    my_name = next(iter(mine.values()))["name"]
    result = clinic.run("keys", "add", my_name, "--to", str(clinic.tmp / "other.json"))
    assert result.returncode == 2 and "already trusts a computer called" in result.stderr
    assert not (clinic.tmp / "other.json").exists()
    assert clinic.run("keys", "list").returncode == 0  # this computer still talks to the unit


def test_a_file_for_another_patient_needs_a_confirmation(clinic):
    def labelled(name):
        return lambda doc: doc.setdefault("patient", {}).update(label=name)

    first = settings_for_now(clinic.tmp, name="first.json", change=labelled("ITB clinic 4471"),
                             refilled_ago_s=30 * 86400)
    assert clinic.run("sync", str(first), "--yes").returncode == 0
    other = settings_for_now(clinic.tmp, name="other.json", change=labelled("ITB clinic 9999"))
    refused = clinic.run("sync", str(other), "--yes")
    assert refused.returncode == 2 and "--confirm new-patient" in refused.stderr
    assert "ITB clinic 4471" in refused.stderr and "ITB clinic 9999" in refused.stderr
    assert clinic.run("sync", str(other), "--yes", "--confirm", "new-patient").returncode == 0
