"""`pumpsync emulate` driven by hand in a real terminal (tmux): keys press the button,
the panel shows the buzzer and LED as the unit drives them, pairing works from the
shell, and q or Ctrl-C give the terminal back as it was.  And `--port auto` finds a
running `pumpsync emulate` (its registry entry, in this test's own runtime folder)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

TMUX = shutil.which("tmux")
_names = itertools.count()


@pytest.fixture(autouse=True)
def _emulated_only(hardware_port):
    if hardware_port:
        pytest.skip("starts its own emulated unit (pumpsync emulate); running on hardware")


def _env(tmp_path):
    return dict(os.environ, PUMPSYNC_RUNTIME_DIR=str(tmp_path / "run"))


class Pane:
    """A detached tmux session (its own server) running a plain shell, 120 x 40."""

    def __init__(self, tmp_path):
        if TMUX is None:
            pytest.skip("tmux is not installed (make setup installs it with apt-get where it can)")
        self.server = f"pumpwatch-{os.getpid()}-{next(_names)}"
        shell = f"env PUMPSYNC_RUNTIME_DIR={tmp_path / 'run'} PS1='$ ' bash --norc --noprofile"
        self._tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", shell)

    def _tmux(self, *args) -> str:
        return subprocess.run([TMUX, "-L", self.server, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=True, timeout=10).stdout

    def type(self, text: str):
        self._tmux("send-keys", "-t", "t", "-l", text)

    def key(self, name: str):
        self._tmux("send-keys", "-t", "t", name)

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def wait_for(self, pattern: str, timeout: float = 15, after: str | None = None) -> re.Match:
        """The first match of `pattern` on the screen (below the last `after` if given)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if after is not None:
                screen = screen[screen.rfind(after) + len(after):] if after in screen else ""
            found = re.search(pattern, screen)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on the screen within {timeout} s:\n{self.text()}")
            time.sleep(0.1)

    def close(self):
        subprocess.run([TMUX, "-L", self.server, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def pane(tmp_path):
    p = Pane(tmp_path)
    yield p
    p.close()


def _start_emulate(pane, tmp_path) -> str:
    pane.type(f"{sys.executable} -m pumpsync emulate --state {tmp_path / 'unit'}")
    pane.key("Enter")
    port = pane.wait_for(r"serial port: (/dev/\S+)", timeout=20).group(1)
    pane.wait_for(r"last sound: ", timeout=10)  # the live panel is up
    return port


def _terminal_is_restored(pane):
    """The shell gets its line back: what is typed echoes, and stty shows canonical mode with echo."""
    pane.wait_for(r"\n\$ ?(\n|$)", timeout=10, after="stopping the emulated unit")
    pane.type("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; "
              "echo; echo typed-$((6*7))")
    pane.key("Enter")
    pane.wait_for(r"typed-42", timeout=10, after="echo typed-")
    modes = pane.wait_for(r"\n(.*icanon.*)\n", after="typed-$((6*7))").group(1).split()
    assert sorted(modes) == ["echo", "icanon"], modes


def test_a_nurse_pairs_and_silences_the_unit_from_the_keyboard(pane, tmp_path):
    port = _start_emulate(pane, tmp_path)
    assert len(os.listdir(tmp_path / "run" / "emulated")) == 1  # announced for --port auto

    # pairing from the shell: pumpsync asks, the unit trills, the nurse holds the button (l)
    pair = subprocess.Popen([sys.executable, "-m", "pumpsync", "pair", "--port", port, "--keystore",
                             str(tmp_path / "keys.json"), "--db", str(tmp_path / "history.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    assert "HOLD" in pair.stdout.readline()
    time.sleep(1.2)  # the trill ends; only a hold that starts after it counts
    pane.type("l")
    out, err = pair.communicate(timeout=30)
    assert pair.returncode == 0, out + err
    assert "Paired" in out
    pane.wait_for(r"pressed: long press \(2 s\)")

    # a factory-fresh unit sounds "the unit needs attention" and its LED flashes; the panel shows it
    pane.wait_for(r"last sound: UNIT alarm", timeout=15)
    pane.wait_for(r"LED (ON|off) \(flashing\)", timeout=10)
    pane.type("s")  # a short press acknowledges it: silence, the LED stops flashing
    pane.wait_for(r"pressed: short press")
    pane.wait_for(r"buzzer silent\s+LED off\s+vibration", timeout=8, after="pressed: short press")

    pane.type("h")
    pane.wait_for(r"r\s+refilled elsewhere: 3 short presses")
    pane.type("q")
    _terminal_is_restored(pane)
    assert os.listdir(tmp_path / "run" / "emulated") == []  # its registry entry went with it


def test_ctrl_c_stops_it_and_gives_the_terminal_back(pane, tmp_path):
    _start_emulate(pane, tmp_path)
    pane.key("C-c")
    _terminal_is_restored(pane)
    assert os.listdir(tmp_path / "run" / "emulated") == []


def _emulate_process(tmp_path, name="unit"):
    proc = subprocess.Popen([sys.executable, "-m", "pumpsync", "emulate", "--state", str(tmp_path / name)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(tmp_path))
    line = proc.stdout.readline()
    found = re.search(r"serial port: (\S+)", line)
    assert found, line + proc.stderr.read() if proc.poll() is not None else line
    return proc, found.group(1)


def _pumpsync(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "pumpsync", *args, "--keystore", str(tmp_path / "keys.json"),
                           "--db", str(tmp_path / "history.sqlite")], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=_env(tmp_path))


def test_status_without_port_finds_the_running_emulated_unit(tmp_path):
    proc, port = _emulate_process(tmp_path)
    try:
        listed = json.loads(subprocess.run([sys.executable, "-m", "pumpsync", "ports", "--json"],
                                           capture_output=True, text=True, env=_env(tmp_path),
                                           timeout=30).stdout)
        assert [(p["port"], p["board"]) for p in listed if p.get("emulated")] == \
            [(port, "PumpWatch emulated unit (wasm)")]
        status = _pumpsync(tmp_path, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "unit" in status.stdout.lower()

        second, second_port = _emulate_process(tmp_path, "unit2")  # two units: never guess which
        try:
            refused = _pumpsync(tmp_path, "status")
            assert refused.returncode == 1 and "several possible units" in refused.stderr
            assert port in refused.stderr and second_port in refused.stderr
        finally:
            second.kill()  # no clean-up: its entry is stale, and ignored
            second.wait(timeout=10)
        assert _pumpsync(tmp_path, "status").returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)  # a clean stop removes the entry
        proc.wait(timeout=20)
    assert os.listdir(tmp_path / "run" / "emulated") == []
    gone = _pumpsync(tmp_path, "status")
    assert gone.returncode == 1 and "no PumpWatch unit found" in gone.stderr
