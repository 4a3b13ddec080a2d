"""HAL.ticks_age: how long ago a stored ticks stamp was taken, where a stamp older than 2**29 ms
(6.2 days) reads as long ago, not as just now (review 28: a nonce that old read as fresh, as did
the refusal summary's stamp; ticks_diff wraps negative there)."""

from __future__ import annotations

from fake_hal import FakeHAL

HALF = 2**29


def test_a_stamp_older_than_the_wrap_half_reads_as_long_ago(tmp_path):
    hal = FakeHAL(tmp_path)
    hal.ticks = 2**30 - 100  # just before a wrap
    stamp = hal.ticks_ms()
    hal.ticks = (hal.ticks + 5000) & (2**30 - 1)
    assert hal.ticks_age(stamp) == 5000  # across the wrap
    hal.ticks = (stamp + HALF + 5000) & (2**30 - 1)
    assert hal.ticks_diff(hal.ticks_ms(), stamp) < 0  # what the nonce check used to read as fresh
    assert hal.ticks_age(stamp) >= HALF > 60000  # NONCE_LIFETIME_MS: expired
