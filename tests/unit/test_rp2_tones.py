"""The emulated Pico's buzzer pin read back as tones: where a note starts and stops.

The board HAL stops the PWM slice the instant a note ends (hal/rp2.py), so the
last cycle of a note is cut short: the end must come from the pin as it was,
not from a whole extra period after the last rising edge.
"""

from pumpsync.emulator.rp2board import BUZZER_PIN, Rp2Emulator

PERIOD_US = 1e6 / 262  # C4


def pin_edges(start_us, periods, duty, cut_us):
    """GP15 edges of a C4 note from `start_us`, cut at `cut_us` (the pin low from then)."""
    edges, t = [(0.0, BUZZER_PIN, 0)], start_us
    for _ in range(periods + 1):
        if t >= cut_us:
            break
        edges.append((t, BUZZER_PIN, 1))
        fall = t + duty * PERIOD_US
        edges.append((min(fall, cut_us), BUZZER_PIN, 0))
        t += PERIOD_US
    return edges


def tones_of(edges):
    emulator = Rp2Emulator.__new__(Rp2Emulator)
    emulator.edges = lambda pins=None: edges
    return emulator.tones()


def test_a_note_cut_while_the_pin_is_low_ends_within_a_fraction_of_a_period_of_the_cut():
    cut = 10_000 + 32.3 * PERIOD_US  # just after the 33rd cycle's fall: the pin low when cut
    (tone,) = tones_of(pin_edges(10_000, 40, 0.25, cut))
    assert abs(tone["start_ms"] - 10.0) < 0.001
    assert abs(tone["end_ms"] * 1000 - cut) <= 0.375 * PERIOD_US
    assert abs(tone["freq_hz"] - 262) < 0.5 and abs(tone["duty"] - 0.25) < 0.01


def test_a_note_cut_while_the_pin_is_high_ends_at_the_fall_the_cut_made():
    cut = 10_000 + 32 * PERIOD_US + 0.1 * PERIOD_US  # during the 33rd cycle's high part
    (tone,) = tones_of(pin_edges(10_000, 40, 0.25, cut))
    assert abs(tone["end_ms"] * 1000 - cut) < 1


def test_each_of_a_bursts_notes_is_its_own_tone_with_its_own_start():
    edges = pin_edges(0, 40, 0.25, 125_000)
    edges += pin_edges(375_000, 40, 0.25, 500_000)[1:]
    first, second = tones_of(edges)
    assert abs(first["end_ms"] - 125) <= 0.375 * PERIOD_US / 1000 + 0.001
    assert abs(second["start_ms"] - 375) < 0.001
    assert abs(second["end_ms"] - 500) <= 0.375 * PERIOD_US / 1000 + 0.001
