"""The by-hand console of `pumpsync emulate`: each firmware sound is named from the
buzzer log as a person hears it, and --sound plays notes with a player on PATH or says
there is none (the tmux test drives the whole console: tests/device/test_emulate_by_hand.py)."""

from __future__ import annotations

import os
import stat
import time
import wave

import pytest
from pumpwatch import readout, sounds

from pumpsync import emulate_console as console


def _log(pattern, start=1000):
    """The buzzer_loud_log a unit writes while playing `pattern` once: (ms, Hz, loud) at each change."""
    log, at = [], start
    for hz, ms in pattern.segments:
        if not log or log[-1][1] != hz:
            log.append((at, hz, int(bool(hz and pattern.loud))))
        at += ms
    log.append((at, 0, 0))
    return log, at


@pytest.mark.parametrize("pattern, words", [
    (sounds.HIGH_ALARM, "EMPTY alarm"), (sounds.PAIRING_CHIRP, "pairing trill"),
    (sounds.ELSEWHERE_CHIRP, "refilled elsewhere?"), (sounds.BOOT_CHIRP, "start-up chirp"),
    (sounds.CONFIRM_CHIRP, "confirmed"), (sounds.RESET_CHIRP, "factory reset?"),
    (readout.weeks(3), "3 weeks"), (readout.weeks(1), "1 week "), (readout.OVERDUE, "overdue"),
    (readout.WITHIN_A_WEEK, "within a week"),
] + [(p, console.alarm_words.WORDS[p.name].title) for p in sounds.ALARMS])
def test_each_sound_is_named_once_it_is_over(pattern, words):
    log, end = _log(pattern)
    hearing = console.Hearing()
    hearing.update(log[:2], log[1][0])
    assert hearing.playing and hearing.last is None  # still playing: not named yet
    hearing.update(log, end + console.BURST_GAP_MS + 1)
    assert not hearing.playing and words in hearing.last and hearing.last_at == 1000


def test_the_loud_refill_alarm_is_not_the_ordinary_one():
    assert "louder" in console.name_sound([(hz, ms, 1) for hz, ms in sounds.STRONG_ALARM.segments if hz])
    assert "louder" not in console.name_sound([(hz, ms, 0) for hz, ms in sounds.MEDIUM_ALARM.segments if hz])
    assert console.name_sound([(440, 100, 0)]) == "1 note"


def test_no_player_is_said_and_nothing_is_played(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    speaker = console.Speaker(tmp_path)
    assert speaker.player is None and "no audio player found" in speaker.message()
    speaker.play_new(_log(sounds.BOOT_CHIRP)[0], 5000)
    assert speaker.count == 0


def test_each_finished_note_is_played_once_as_a_wav(tmp_path, monkeypatch):
    bin_dir, played = tmp_path / "bin", tmp_path / "played"
    bin_dir.mkdir()
    player = bin_dir / "aplay"
    player.write_text(f"#!/bin/sh\n/bin/cp \"$1\" {played}-$$.wav\n")
    player.chmod(player.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    speaker = console.Speaker(tmp_path)
    assert speaker.player == str(player) and "aplay" in speaker.message()
    log, end = _log(sounds.PAIRING_CHIRP)
    speaker.play_new(log[:3], log[2][0] + 10)  # the first note is over, the second still sounds
    speaker.play_new(log, end)
    speaker.play_new(log, end + 5000)  # nothing new
    assert speaker.count == 4 and not speaker.failed
    for _ in range(100):
        wavs = [f for f in os.listdir(tmp_path) if f.startswith("played-")]
        if len(wavs) == 4:
            break
        time.sleep(0.05)
    with wave.open(str(tmp_path / wavs[0])) as f:
        assert f.getframerate() == console.wav_preview.RATE and f.getnframes() > 0
