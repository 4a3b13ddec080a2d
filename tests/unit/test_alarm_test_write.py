"""The unit's alarm_test write: any alarm pattern by name, the old priority names too."""

from __future__ import annotations

import pytest

from pumpwatch import sounds, writes


class _Unit:
    def __init__(self):
        self.played, self.logged = [], []

    def play_once(self, pattern):
        self.played.append(pattern)

    def log_event(self, entry):
        self.logged.append(entry)


class _Service:
    def __init__(self):
        self.unit = _Unit()


@pytest.mark.parametrize("pattern", sounds.ALARMS, ids=lambda p: p.name)
def test_each_alarm_pattern_plays_once_by_name_with_its_loudness(pattern):
    service = _Service()
    assert writes.alarm_test(service, {"pattern": pattern.name}) == {"pattern": pattern.name,
                                                                       "ms": pattern.length_ms}
    played, = service.unit.played
    assert played.segments == pattern.segments and played.led == pattern.led and played.loud == pattern.loud
    assert played.repeat_ms is None and sounds.finished(played, pattern.length_ms)
    assert service.unit.logged == [{"e": "alarm_test", "pattern": pattern.name}]


@pytest.mark.parametrize("priority", ["low", "medium", "high"])
def test_the_old_priority_argument_still_works(priority):
    service = _Service()
    assert writes.alarm_test(service, {"priority": priority})["pattern"] == priority


def test_no_argument_plays_the_high_alarm_as_before():
    assert writes.alarm_test(_Service(), {})["pattern"] == "high"


@pytest.mark.parametrize("args, named", [({"pattern": "boot"}, 'pattern: one of "high", "strong", "medium", '
                                                               '"technical", "low"'),
                                         ({"pattern": 3}, "pattern: one of"),
                                         ({"priority": "strong"}, 'priority: one of "high", "medium", "low"')])
def test_an_unknown_name_is_refused_naming_the_field_and_the_names(args, named):
    service = _Service()
    with pytest.raises(ValueError, match=named):
        writes.alarm_test(service, args)
    assert service.unit.played == [] and service.unit.logged == []
