"""The WAV previews play the unit's own pattern data: read back, every pulse
starts and lasts as the pattern says (±3 ms) at its frequency (±1 %), the
second burst starts one repeat after the first, and loud patterns are louder."""

from __future__ import annotations

import math
import wave
from array import array

import pytest

from pumpsync import alarm_words, wav_preview
from pumpsync.cli import main
from pumpwatch import sounds


def _read(path):
    with wave.open(str(path), "rb") as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, 22050)
        data = array("h", f.readframes(f.getnframes()))
    return data, f.getframerate()


def _tones(data, rate):
    """[(start ms, length ms, Hz, peak)] of each stretch whose 1 ms RMS is above 5 % of full scale."""
    def at(ms):
        return round(ms * rate / 1000)

    loud = [math.sqrt(sum(x * x for x in data[at(ms):at(ms + 1)]) / (at(ms + 1) - at(ms))) > 0.05 * 32767
            for ms in range(len(data) * 1000 // rate)]
    found, start = [], None
    for ms, on in enumerate(loud + [False]):
        if on and start is None:
            start = ms
        elif not on and start is not None:
            found.append((start, ms - start, *_frequency_and_peak(data[at(start):at(ms)], rate)))
            start = None
    return found


def _frequency_and_peak(chunk, rate):
    """Hz from the rising zero crossings (interpolated), and the peak sample."""
    crossings = [i + chunk[i] / (chunk[i] - chunk[i + 1]) for i in range(len(chunk) - 1)
                 if chunk[i] < 0 <= chunk[i + 1]]
    hz = (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])
    return hz, max(abs(x) for x in chunk)


def _expected(pattern):
    """[(start ms, length ms, Hz)] of the pulses the unit plays: two bursts a repeat apart."""
    found = []
    for burst in (0, pattern.repeat_ms):
        position = burst
        for hz, ms in pattern.segments:
            if hz:
                found.append((position, ms, hz))
            position += ms
    return found


def _read_written(pattern, folder):
    path = folder / wav_preview.file_name(pattern)
    wav_preview.write_wav(pattern, path)
    return _read(path)


@pytest.mark.parametrize("pattern", sounds.ALARMS, ids=lambda p: p.name)
def test_each_pulse_is_where_and_what_the_pattern_says(pattern, tmp_path):
    path = tmp_path / wav_preview.file_name(pattern)
    seconds = wav_preview.write_wav(pattern, path)
    data, rate = _read(path)
    assert seconds == pytest.approx((pattern.repeat_ms + pattern.length_ms) / 1000, abs=0.001)
    tones, expected = _tones(data, rate), _expected(pattern)
    assert len(tones) == len(expected)
    for (start, length, hz, _), (want_start, want_length, want_hz) in zip(tones, expected):
        assert abs(start - want_start) <= 3 and abs(length - want_length) <= 3, (start, length, want_start)
        assert hz == pytest.approx(want_hz, rel=0.01)
    first_of_second_burst = len(expected) // 2
    assert tones[first_of_second_burst][0] - tones[0][0] == pytest.approx(pattern.repeat_ms, abs=3)


def test_loud_patterns_are_louder_than_the_others(tmp_path):
    peaks = {}
    for pattern in sounds.ALARMS:
        data, _ = _read_written(pattern, tmp_path)
        peaks[pattern.name] = max(abs(x) for x in data)
    assert min(peaks["high"], peaks["strong"]) > 1.5 * max(peaks["medium"], peaks["technical"], peaks["low"])


def test_preview_writes_every_alarm_and_the_words_and_never_overwrites_without_force(tmp_path, capsys):
    folder = tmp_path / "phone" / "sounds"  # made if missing
    assert main(["alarm", "preview", "--wav", str(folder)]) == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"pumpwatch-{n}.wav" for n in alarm_words.names()] + ["README.txt"])
    assert "pumpwatch-high.wav  10.1 s" in printed
    readme = (folder / "README.txt").read_text()
    assert all(w.title in readme and w.do in readme for w in alarm_words.WORDS.values())
    before = (folder / "pumpwatch-low.wav").stat().st_mtime_ns
    assert main(["alarm", "preview", "--wav", str(folder), "low"]) == 2
    err = capsys.readouterr().err
    assert str(folder / "pumpwatch-low.wav") in err and "--force" in err
    assert (folder / "pumpwatch-low.wav").stat().st_mtime_ns == before
    assert main(["alarm", "preview", "--wav", str(folder), "low", "--force"]) == 0


def test_the_words_cover_exactly_the_alarms_and_count_their_notes():
    assert set(alarm_words.WORDS) == set(alarm_words.names())
    counts = {1: "one", 2: "two", 3: "three", 10: "ten"}
    for pattern in sounds.ALARMS:
        notes = sum(1 for hz, _ in pattern.segments if hz)
        assert counts[notes] in alarm_words.WORDS[pattern.name].sound, pattern.name
        assert alarm_words.spoken(pattern.name).startswith(f"This is the {alarm_words.WORDS[pattern.name].title}: ")
