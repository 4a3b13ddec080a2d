"""Small valid settings documents for tests to vary."""

import copy

MINIMAL = {
    "schema": 1,
    "pump": {"model": "SynchroMed II", "reservoir_ml": 20, "low_reservoir_alarm_ml": 2},
    "drug": {"name": "baclofen", "concentration_mcg_per_ml": 2000, "max_days_in_reservoir": 180},
    "refill": {"at": "2026-11-20T10:30:00Z", "volume_ml": 20},
    "therapy": {"steps": [{"start": "00:00", "mcg_per_day": 400}]},
    "clock": {"utc_offset_min": 0},
}


def minimal(**sections):
    """A deep copy of MINIMAL with whole sections replaced or added."""
    doc = copy.deepcopy(MINIMAL)
    doc.update(copy.deepcopy(sections))
    return doc
