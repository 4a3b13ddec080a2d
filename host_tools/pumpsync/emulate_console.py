"""`pumpsync emulate` at a terminal: the emulated unit's button on the keyboard,
its buzzer, LED and vibration motor on the screen (and optionally the speaker).

Owns the hand-driven console a nurse uses to learn the unit and to pair it
from the shell: the keys and the button gestures they make (the firmware's
own definitions: pumpwatch.button, pumpwatch.elsewhere), the live panel
(virtual time, the unit's state, buzzer, LED, motor, the last sound heard and
what it is, the port to give pumpsync), naming a sound from the firmware's
patterns, and `--sound` (each note played through aplay/paplay/pw-play/afplay
as a short WAV).  The terminal is put in cbreak mode for the keys and
restored on every way out (q, Ctrl-C, SIGTERM/SIGHUP turned into
KeyboardInterrupt by the caller, an exception).  Plain ANSI: a panel of a few
lines at the bottom, redrawn in place, messages scrolling above it.

It reads the emulator's telemetry (the buzzer/LED/vibration logs) a few times
a second while waiting for a key with select(): no busy loop.  A gesture runs
in a worker thread, so the panel stays live while it plays out.
"""

from __future__ import annotations

import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
import wave
from dataclasses import dataclass
from pathlib import Path

from pumpwatch import button, elsewhere, readout, sounds

from pumpsync import alarm_words, times, wav_preview

_ZONE = times.Zone.of_computer()

# The gestures, from the firmware's thresholds.
SHORT_MS = 150                                   # a short press: under button.LONG_PRESS_MS
LONG_MS = 2000                                   # the 2 s hold: status readout, or "yes, pair"
ELSEWHERE_GAP_S = 0.4                            # between its three short presses
ELSEWHERE_HOLD_MS = elsewhere.CONFIRM_HOLD_MS + 500  # the confirming hold, after the question
assert button.BOUNCE_MS < SHORT_MS < button.LONG_PRESS_MS <= LONG_MS < elsewhere.CONFIRM_HOLD_MS
assert ELSEWHERE_HOLD_MS < button.HOLD_MS  # never the first step of a factory reset
assert elsewhere.PRESSES * (SHORT_MS / 1000 + ELSEWHERE_GAP_S) * 1000 < elsewhere.PRESSES_WITHIN_MS

POLL_S = 0.1          # panel refresh while waiting for a key
BURST_GAP_MS = 900    # a silence this long ends one sound (longer than any gap inside a pattern)
BLINK_WINDOW_MS = 4000

HELP = f"""keys:
  s   short press ({SHORT_MS} ms): acknowledge what sounds (pauses it; see docs/alarms.md)
  l   long press ({LONG_MS / 1000:g} s): the status readout in beeps; right after the pairing trill,
      "yes, pair with the computer that asked" (start `pumpsync pair --port PORT` first)
  r   refilled elsewhere: {elsewhere.PRESSES} short presses, wait for the question (a slow rising pair,
      twice), then a {ELSEWHERE_HOLD_MS / 1000:g} s hold
  h ? this help      q   quit (Ctrl-C too)
(the {button.HOLD_MS // 1000} s factory-reset hold has no key: use `pumpsync factory-reset`)"""

KEY_LINE = "keys: s short press  l long press (2 s)  r refilled elsewhere  h help  q quit"


# ---------------------------------------------------------------- naming a sound
@dataclass(frozen=True)
class _Known:
    label: str
    freqs: tuple
    loud: bool
    note_ms: int


def _known(pattern, label) -> _Known:
    notes = [(hz, ms) for hz, ms in pattern.segments if hz]
    return _Known(label, tuple(hz for hz, _ in notes), bool(pattern.loud), sum(ms for _, ms in notes))


def _catalogue() -> list[_Known]:
    found = [_known(p, f"{alarm_words.WORDS[p.name].title}" if p.name in alarm_words.WORDS else p.name)
             for p in sounds.ALARMS]
    found += [_known(sounds.BOOT_CHIRP, "start-up chirp (or: paired)"),
              _known(sounds.PAIRING_CHIRP, "pairing trill: hold 2 s now (l) to pair"),
              _known(sounds.RESET_CHIRP, "factory reset? (a short press cancels)"),
              _known(sounds.ELSEWHERE_CHIRP, "refilled elsewhere? hold 5 s to say yes"),
              _known(sounds.CONFIRM_CHIRP, "confirmed"),
              _known(readout.OVERDUE, "status: overdue / unknown"),
              _known(readout.WITHIN_A_WEEK, "status: due within a week")]
    found += [_known(readout.weeks(n), f"status: {n} week{'s' if n > 1 else ''} to the refill") for n in range(1, 27)]
    return found


_CATALOGUE = _catalogue()


def name_sound(notes: list[tuple[int, int, int]]) -> str:
    """What a burst of notes [(Hz, ms, loud)] is, from the firmware's patterns."""
    freqs = tuple(hz for hz, _, _ in notes)
    loud = any(flag for _, _, flag in notes)
    total = sum(ms for _, ms, _ in notes)
    matches = [k for k in _CATALOGUE if k.freqs == freqs and k.loud == loud]
    if not matches:
        return f"{len(notes)} note{'s' if len(notes) != 1 else ''}"
    return min(matches, key=lambda k: abs(k.note_ms - total)).label


def notes_of(log: list[tuple[int, int, int]], now_ms: int) -> list[tuple[int, int, int, int]]:
    """[(start ms, Hz, ms, loud)] of each note in a buzzer_loud_log (a note still sounding ends `now_ms`)."""
    notes = []
    for i, (at, hz, loud) in enumerate(log):
        if hz:
            end = log[i + 1][0] if i + 1 < len(log) else now_ms
            notes.append((at, hz, max(0, end - at), loud))
    return notes


class Hearing:
    """The last sound the unit made, as a person hears it: a burst of notes ended by a silence."""

    def __init__(self):
        self.last: str | None = None     # what it was
        self.last_at: int | None = None  # virtual ms it began
        self.playing = False             # a burst is under way (named once it is over)

    def update(self, log: list[tuple[int, int, int]], now_ms: int):
        notes = notes_of(log[-200:], now_ms)
        self.playing = False
        if not notes:
            return
        burst = [notes[-1]]
        for note in reversed(notes[:-1]):
            if burst[0][0] - (note[0] + note[2]) > BURST_GAP_MS:
                break
            burst.insert(0, note)
        if log[-1][1] != 0 or now_ms - (notes[-1][0] + notes[-1][2]) <= BURST_GAP_MS:
            self.playing = True
            return
        self.last = name_sound([(hz, ms, loud) for _, hz, ms, loud in burst])
        self.last_at = burst[0][0]


# ---------------------------------------------------------------- the speaker
PLAYERS = ("paplay", "aplay", "pw-play", "afplay")


class Speaker:
    """Plays each note the buzzer sounded through the computer's audio player, if there is one."""

    def __init__(self, folder: Path):
        self.player = next((shutil.which(p) for p in PLAYERS if shutil.which(p)), None)
        self.folder = folder
        self.played_up_to = 0  # virtual ms: notes that began before it were played
        self.count = 0
        self.failed: str | None = None

    def message(self) -> str:
        if self.player is None:
            return (f"--sound: no audio player found on PATH ({', '.join(PLAYERS)}); the buzzer is shown "
                    "on the screen only")
        return f"--sound: playing the buzzer through {self.player}"

    def play_new(self, log: list[tuple[int, int, int]], now_ms: int):
        """Play the notes that ended since the last call."""
        if self.player is None or self.failed:
            return
        for start, hz, ms, loud in notes_of(log[-50:], now_ms):
            if start < self.played_up_to or (log[-1][1] and start == log[-1][0]):
                continue  # played already, or still sounding (its length is not known yet)
            self.played_up_to = start + 1
            self._play(hz, min(ms, 2000), loud)

    def _play(self, hz: int, ms: int, loud: int):
        if ms <= 0 or self.player is None:
            return
        self.count += 1
        path = self.folder / f"note-{self.count % 8}.wav"
        data = wav_preview.samples(sounds.Pattern("note", ((hz, ms),), None, None, loud=bool(loud)))
        if sys.byteorder == "big":
            data.byteswap()
        try:
            with wave.open(str(path), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(wav_preview.RATE)
                f.writeframes(data.tobytes())
            subprocess.Popen([self.player, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        except OSError as exc:
            self.failed = f"--sound: {self.player} could not be started ({exc}); the buzzer is shown only"


# ---------------------------------------------------------------- the panel
def _since(log, now_ms, window_ms) -> list:
    return [entry for entry in log if entry[0] >= now_ms - window_ms]


def panel(emu, backend: str, hearing: Hearing, busy: str | None) -> list[str]:
    """The lines of the live panel."""
    now_ms = int(emu.now() * 1000)
    stats = emu.stats()
    state = stats.get("state", "?")
    loud_log = emu.buzzer_loud_log()
    led_log = emu.led_log()
    if loud_log and loud_log[-1][1]:
        buzzer = f"SOUNDING {loud_log[-1][1]} Hz{' loud' if loud_log[-1][2] else ''}"
    else:
        buzzer = "silent"
    led_on = bool(led_log) and led_log[-1][1] == 1
    blinks = sum(1 for _, on in _since(led_log, now_ms, BLINK_WINDOW_MS) if on)
    led = ("ON" if led_on else "off") + (" (flashing)" if blinks >= 2 else "")
    if not emu.vibration:
        motor = "not fitted"
    else:
        vib = emu.vibration_log()
        motor = "RUNNING" if vib and vib[-1][1] else "still"
    clock = _ZONE.local_seconds(now_ms // 1000)  # this computer's zone, as every time a nurse reads
    speed = f"x{emu.speed:g}" if emu.speed else "frozen"
    first = f"unit {state:<8} virtual {clock} ({speed})   port {emu.port}"
    if stats.get("error"):
        first += f"   ERROR: {stats['error']}"
    hearing.update(loud_log, now_ms)
    if hearing.last is None:
        last = "-"
    else:
        last = f"{hearing.last}  (at {_ZONE.local_seconds((hearing.last_at or 0) // 1000)[11:19]})"
    if hearing.playing:
        last = "(playing...)  before: " + last
    lines = [first,
             f"buzzer {buzzer:<22} LED {led:<16} vibration {motor}",
             f"last sound: {last}",
             (f"pressing: {busy}" if busy else KEY_LINE)]
    return lines


class Screen:
    """A panel of lines at the bottom of the terminal, redrawn in place; messages scroll above it."""

    def __init__(self, out):
        self.out = out
        self.drawn = 0
        self.lines: list[str] = []

    def _clear(self):
        if self.drawn:
            self.out.write(f"\r\x1b[{self.drawn}A\x1b[J")
        self.drawn = 0

    def _draw(self):
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        for line in self.lines:
            self.out.write(line[:width] + "\x1b[K\n")
        self.drawn = len(self.lines)
        self.out.flush()

    def show(self, lines: list[str]):
        if lines == self.lines and self.drawn:
            return
        self._clear()
        self.lines = lines
        self._draw()

    def say(self, text: str):
        self._clear()
        self.out.write(text.rstrip("\n") + "\n")
        self._draw()

    def close(self):
        self.out.write("\x1b[?25h")  # the cursor, in case a terminal hid it
        self.out.flush()


# ---------------------------------------------------------------- the gestures
def _wait(emu, seconds: float):
    """Let `seconds` of the unit's time pass: live at its speed, or advanced when time is frozen."""
    if emu.speed > 0:
        time.sleep(seconds / emu.speed)
    else:
        emu.advance(seconds)


def short_press(emu):
    emu.press(SHORT_MS)


def long_press(emu):
    emu.press(LONG_MS)


def refilled_elsewhere(emu):
    """Three short presses, the unit's question, then the 5 s hold (docs/alarms.md)."""
    for i in range(elsewhere.PRESSES):
        if i:
            _wait(emu, ELSEWHERE_GAP_S)
        emu.press(SHORT_MS)
    _wait(emu, sounds.ELSEWHERE_CHIRP.length_ms / 1000 + 0.3)  # the question ends; only a later hold counts
    emu.press(ELSEWHERE_HOLD_MS)


GESTURES = {
    "s": ("short press", short_press),
    "l": (f"long press ({LONG_MS / 1000:g} s)", long_press),
    "r": ("refilled elsewhere (3 short presses, the question, a 5 s hold)", refilled_elsewhere),
}


class Presser:
    """Runs the gestures one after another in a thread, so the panel stays live."""

    def __init__(self, emu, say):
        self.emu, self.say = emu, say
        self.todo: queue.Queue = queue.Queue()
        self.busy: str | None = None
        self.thread = threading.Thread(target=self._run, name="pumpsync-emulate-keys", daemon=True)
        self.thread.start()

    def add(self, key: str):
        self.todo.put(key)

    def _run(self):
        from pumpsync.emulator import EmulatorError

        while True:
            key = self.todo.get()
            if key is None:
                return
            what, gesture = GESTURES[key]
            self.busy = what
            try:
                gesture(self.emu)
                self.say(f"pressed: {what}")
            except EmulatorError as exc:
                self.say(f"could not press the button: {exc}")
            except Exception as exc:  # noqa: BLE001 - a key never ends the console
                self.say(f"could not press the button: {exc!r}")
            finally:
                self.busy = None

    def stop(self):
        self.todo.put(None)


# ---------------------------------------------------------------- the console
def interactive() -> bool:
    """Whether stdin and stdout are a terminal (else `pumpsync emulate` just runs)."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def run(emu, backend: str, sound: bool = False) -> None:
    """Drive `emu` from the keyboard until q (returns) or Ctrl-C (KeyboardInterrupt)."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    screen = Screen(sys.stdout)
    presser = None
    with tempfile.TemporaryDirectory(prefix="pumpsync-sound-") as folder:
        try:
            tty.setcbreak(fd)  # keys one at a time, no echo; Ctrl-C still interrupts
            speaker = Speaker(Path(folder)) if sound else None
            if speaker is not None:
                screen.say(speaker.message())
            screen.say("press h for the keys")
            messages: queue.Queue = queue.Queue()
            presser = Presser(emu, messages.put)
            hearing = Hearing()
            while True:
                while not messages.empty():
                    screen.say(messages.get())
                if speaker is not None:
                    speaker.play_new(emu.buzzer_loud_log(), int(emu.now() * 1000))
                    if speaker.failed:
                        screen.say(speaker.failed)
                        speaker = None
                screen.show(panel(emu, backend, hearing, presser.busy))
                ready, _, _ = select.select([fd], [], [], POLL_S)
                if not ready:
                    continue
                keys = os.read(fd, 64).decode("latin1")
                if not keys:
                    return  # the terminal went away
                for key in keys:
                    key = key.lower()
                    if key == "q":
                        return
                    if key in ("h", "?"):
                        screen.say(HELP)
                    elif key in GESTURES:
                        presser.add(key)
                    elif key.strip():
                        screen.say(f"key {key!r} does nothing here (h: the keys)")
        finally:
            if presser is not None:
                presser.stop()
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            screen.close()
