"""A refill cycle on an emulated unit, with a scripted patient, and its timeline.

Owns driving an `Emulator` through virtual time the way a patient lives with
the unit: whenever it starts to sound, the patient presses the button
`ack_after_s` later.  Used by the scenario tests, `make bench` and
`pumpsync simulate` (what `make run` shows).  The timeline is read from the
unit's own event log on its flash, with the core's record reader.  A cycle
never runs away: it stops at a horizon (at most HORIZON_DAYS after the
refill, the span the host resolves the patient's time-zone changes for) and
says what it did not reach (`skipped`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from pumpwatch import readback, records, timecalc
from pumpwatch.conditions import APPOINTMENT_REMINDER, PRIORITY, kind_of
from pumpwatch.descriptions import DESCRIPTION, PRIORITY_NAMES
from pumpwatch.forecast import Forecast


from pumpsync import settings_file
from pumpsync.emulator import Emulator, install_firmware

EVENT_LOG_DIR = "data"
HORIZON_DAYS = 400  # the most a cycle is simulated: settings_file resolves clock.tz for 400 days


def prepare_unit(state_dir: Path, settings_path: Path, compiled: bool = False) -> tuple[dict, Forecast]:
    """A factory-fresh unit with a settings file placed on its flash (as a
    technician does with `mpremote fs cp`); returns the document and its forecast."""
    loaded = settings_file.load(settings_path, None)
    if loaded.errors or loaded.document is None or loaded.prescription is None:
        raise ValueError("; ".join(loaded.errors))
    flash = Path(state_dir) / "flash"
    flash.mkdir(parents=True, exist_ok=True)
    install_firmware(flash, compiled=compiled)
    (flash / "settings.json").write_text(json.dumps(loaded.document))
    return loaded.document, Forecast(loaded.prescription, loaded.prescription.refill_at)


@dataclass
class Press:
    at: float  # virtual epoch seconds of the press
    sounding_since: float  # when the sound the patient answered began


@dataclass
class PatientLog:
    presses: list[Press] = field(default_factory=list)


def live_until(emu: Emulator, end: float, patient: PatientLog | None = None, ack_after_s: float = 30,
               press_ms: int = 150, on_press=None, on_advance=None):
    """Advance to `end`, jumping from one wake-up of the unit to the next; whenever
    it starts sounding, press the button `ack_after_s` later (if `patient` is given).
    Stops early if the unit loses power.  `on_advance(now)` after every jump."""
    seen = len(emu.buzzer_log())
    while emu.now() < end - 0.0005 and emu.stats()["powered"]:
        wake = emu.next_wakeup()
        target = end if wake is None else min(end, max(wake, emu.now()))
        emu.advance(max(0.0, target - emu.now()))
        if on_advance is not None:
            on_advance(emu.now())
        log = emu.buzzer_log()
        started = next((t for t, hz in log[seen:] if hz > 0), None)
        seen = len(log)
        if started is None or patient is None:
            continue
        emu.advance(min(ack_after_s, max(0.0, end - emu.now())))
        if emu.now() >= end - 0.0005:
            break
        if on_press is not None:
            on_press()
        if not emu.stats()["powered"]:
            break
        patient.presses.append(Press(emu.now(), started / 1000))
        emu.press(press_ms)
        seen = len(emu.buzzer_log())


@dataclass
class CycleResult:
    document: dict
    forecast: Forecast
    patient: PatientLog
    log: list[dict]
    buzzer: list[tuple[int, int]]
    stats: dict
    wall_s: float
    started: float
    ended: float
    quiet_days: dict = field(default_factory=dict)
    horizon_days: float | None = None  # set when the cycle stopped at its horizon, before its natural end
    natural_end: float | None = None  # where it would have ended (an hour past empty)

    def skipped(self) -> list[tuple[str, int]]:
        """(what, instant) of the forecast's moments past the horizon, in time order."""
        if self.horizon_days is None:
            return []
        f = self.forecast
        moments = [("refill alarm", f.refill_due_at), ("REFILL DUE", f.clinical_due_at),
                   ("low reservoir", f.low_reservoir_at), ("empty", f.empty_at),
                   ("drug stability limit", f.stability_limit_at)]
        moments += [(f"reminder {days} day{'' if days == 1 else 's'} before due", t) for t, days in f.reminders]
        return sorted(((what, int(at)) for what, at in moments if at is not None and at > self.ended),
                      key=lambda item: item[1])


def pair_and_sync(emu: Emulator, settings_path: Path, work: Path):
    """What the nurse does at the refill visit, with the real pumpsync code over the
    unit's port: pair (the long press is the patient's), then sync.  The emulator's
    clock is the simulation's "now", so the clock the sync sets agrees with it."""
    import argparse

    from pumpsync import unit_commands

    args = argparse.Namespace(port=emu.port, keystore=str(work / "keys.json"), db=str(work / "history.sqlite"),
                              timeout=5.0, confirm=[], yes=True, returned_ml=None, flag_pct=15,
                              settings=str(settings_path))
    session = unit_commands.Session(args)
    try:
        unit_commands.pair_unit(session, while_waiting=lambda: (emu.advance(1), emu.press(2000)))
        loaded, text = unit_commands.checked_settings(args, int(emu.now()))
        unit_commands.sync_unit(session, args, loaded, text, emu.now)
    finally:
        session.close()


def run_cycle(state_dir: Path, settings_path: Path, after_empty_s: float = 3600, ack_after_s: float = 30,
              start_delay_s: float = 300, compiled: bool = False, via_pumpsync: bool = False,
              horizon_days: float = HORIZON_DAYS, on_progress=None) -> CycleResult:
    """From the refill to `after_empty_s` past the conservative empty time, the
    patient acknowledging every alarm `ack_after_s` after it starts, but never
    past `horizon_days` after the refill (the result then says what it skipped).
    The unit is set up by a settings file on its flash, or (`via_pumpsync`)
    paired and synced.  `on_progress(days_done, days_total)` as virtual time passes."""
    if not 0 < horizon_days <= HORIZON_DAYS:
        raise ValueError(f"the horizon is 1 to {HORIZON_DAYS} days, not {horizon_days}")
    state_dir = Path(state_dir)
    document, forecast = prepare_unit(state_dir, settings_path, compiled)
    if via_pumpsync:
        (state_dir / "flash" / "settings.json").unlink()
    refill = forecast.prescription.refill_at
    start = refill + start_delay_s
    natural_end = (forecast.empty_at or forecast.stability_limit_at) + after_empty_s  # empty: never, if stopped
    horizon_end = refill + horizon_days * 86400
    end = min(natural_end, horizon_end)
    progress = None if on_progress is None else (lambda now: on_progress((now - start) / 86400,
                                                                         (end - start) / 86400))
    patient = PatientLog()
    began = time.perf_counter()
    with Emulator(state_dir=state_dir, start_time=start, speed=0) as emu:
        if via_pumpsync:
            pair_and_sync(emu, settings_path, state_dir)
        quiet = _quiet_days(emu, forecast, start, until=end, on_advance=progress)
        live_until(emu, end, patient, ack_after_s, on_advance=progress)
        wall = time.perf_counter() - began
        entries, _ = readback.entries(records.EventLog(str(emu.flash_dir / EVENT_LOG_DIR)))
        cut = natural_end > horizon_end
        return CycleResult(document, forecast, patient, entries, emu.buzzer_log(), emu.stats(), wall,
                           start, end, quiet, horizon_days if cut else None, natural_end)


def _quiet_days(emu: Emulator, forecast: Forecast, start: float, days: int = 100, until: float | None = None,
                on_advance=None) -> dict:
    """Wakeups, flash writes and wall time over quiet days (nothing due), measured
    from the first whole day after the refill up to the first condition or 100 days
    (or `until`).  With `on_advance(now)`, virtual time is advanced a day at a time."""
    from pumpwatch.plan import condition_starts  # what the unit itself will start: reminders, appointment, alarms

    first_condition = min([at for at, _ in condition_starts(forecast.prescription, forecast)]
                          + [forecast.stability_limit_at] + ([until] if until is not None else []))
    day0 = (int(start) // 86400 + 1) * 86400
    available = int((first_condition - day0) // 86400)
    count = max(0, min(days, available))
    if count == 0:
        return {}
    emu.advance(day0 - emu.now())
    before = emu.stats()
    began = time.perf_counter()
    if on_advance is None:
        emu.advance(count * 86400)
    else:
        for _ in range(count):
            emu.advance(86400)
            on_advance(emu.now())
    wall = time.perf_counter() - began
    after = emu.stats()
    return {"days": count, "wakeups_per_day": (after["wakeups"] - before["wakeups"]) / count,
            "flash_writes_per_day": (after["flash_writes"] - before["flash_writes"]) / count,
            "wall_per_100_days_s": wall * 100 / count}


def night_presses(result: CycleResult) -> tuple[int, int]:
    """(presses outside the patient's day window, of them while "empty" was still 24 h
    or more away): what the day window is for, and what `pumpsync simulate` prints."""
    days = result.forecast.days
    night = [p for p in result.patient.presses if not days.inside(int(p.at))]
    return len(night), len([p for p in night if not days.is_urgent(int(p.at))])


def patient_zone(result: CycleResult):
    """The patient's zone (times.Zone) of the simulated settings."""
    from pumpsync.times import Zone
    clock = result.document.get("clock") if isinstance(result.document, dict) else None
    name = clock.get("tz") if isinstance(clock, dict) else None
    return Zone.of_clock(result.forecast.clock, name if isinstance(name, str) else None)


def timeline(result: CycleResult) -> list[str]:
    """Readable lines: each condition raised, its priority, and the patient's presses."""
    forecast = result.forecast
    zone = patient_zone(result)
    lines = []

    def when(t):
        return zone.local(t)

    presses = list(result.patient.presses)
    repeat = None  # (conditions, count, first line index) of a run of identical acknowledgements
    for entry in result.log:
        kind = entry.get("e")
        if kind == "raised":
            cid = entry["c"]
            priority = PRIORITY_NAMES[PRIORITY[kind_of(cid)]].upper()
            text = DESCRIPTION[kind_of(cid)]
            if cid == APPOINTMENT_REMINDER:
                text += " (the refill appointment is tomorrow)"
            elif kind_of(cid) == "reminder":
                days = cid.split(":")[1]
                text += " (%s day%s before due)" % (days, "" if days == "1" else "s")
            elif kind_of(cid) == "implant_eri":
                text += " (%s days before its replacement indicator)" % cid.split(":")[1]
            lines.append(f"{when(entry['t'])}  {priority:<6}  {text}")
        elif kind == "ack":
            press = presses.pop(0) if presses else None
            delay = f" {press.at - press.sounding_since:.0f} s after it began to sound" if press else ""
            names = ", ".join(DESCRIPTION[kind_of(c)].split(":")[0] for c in entry["c"])
            resume = [u for u in entry["until"] if u > 0]
            if repeat is not None and repeat[0] == entry["c"] and resume:
                count = repeat[1] + 1
                repeat = (entry["c"], count, repeat[2])
                lines[repeat[2]] = (f"{when(entry['t'])}          ...acknowledged again each time it "
                                    f"sounded again ({count} more times, last{delay})")
                continue
            again = f"; sounds again at {when(min(resume))[11:16]}" if resume else "; done"
            lines.append(f"{when(entry['t'])}          acknowledged ({names}){delay}{again}")
            repeat = (entry["c"], 0, len(lines)) if resume else None
            if resume:
                lines.append("")
        elif kind in ("fault", "settings", "boot", "time_set", "paired", "refilled_elsewhere"):
            detail = {"boot": "unit started (%s)" % entry.get("cause"),
                      "refilled_elsewhere": "the patient said: refilled elsewhere (refill alarms stand down "
                                            "until %s)" % (when(entry["until"]) if "until" in entry else "?"),
                      "settings": "settings loaded",
                      "time_set": "clock set",
                      "paired": "paired with the clinic's computer (long press)",
                      "fault": "fault: %s" % entry.get("c")}[kind]
            stamp = when(entry["t"]) if entry.get("t") is not None else "(time unknown)  "
            lines.append(f"{stamp}          {detail}")
    return [line for line in lines if line]
