"""The before/after table a nurse reads before new settings go onto a unit.

Owns which fields appear (every one that changes what the unit does or when
it sounds), their words, and the layout: a rich Table (field, on the unit
now, new settings, a mark on each changed row) whose long lists wrap inside
their column; as wide as the terminal, or plain ASCII at a fixed width when
printed elsewhere (terminal.render).  Times are the patient's local time with
the zone name (times.Zone).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from pumpwatch import timecalc

from pumpsync import terminal, times

CHANGED = "<- changed"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"


def _mcg(ng) -> str:
    return f"{ng / 1000:g}"


def _program(steps) -> str:
    return ", ".join(f"{_hhmm(s)} {_mcg(r)}" for s, r in steps)


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    return f"UTC{sign}{abs(seconds) // 3600:02d}:{abs(seconds) // 60 % 60:02d}"


def rows_of(p, zone: times.Zone, daily_mcg: str) -> dict:
    """label -> words, for one set of settings (p None: nothing on the unit)."""
    at = zone.local
    week = ("; ".join(f"{_DAYS[i]} {_program(day)}" for i, day in enumerate(p.week)) if p.week else
            f"every day {_program(p.steps)}")
    return {
        "pump": f"{p.pump_model} {p.reservoir_ul / 1000:g} mL",
        "alarm volumes": f"low {p.low_alarm_ul / 1000:g} mL" + (f", warning {p.warning_ul / 1000:g} mL"
                                                                  if p.warning_ul else ""),
        "flow tolerance": f"{p.tolerance_centipct / 100:g} %",
        "minimum rate": f"{_mcg(p.minimum_rate_ng)} mcg/day" if p.minimum_rate_ng else "none",
        "drug": f"{p.drug_name} {p.concentration_milli / 1000:g} mcg/mL",
        "drug stability": f"{p.max_days} days in the reservoir",
        "filled": f"{p.refill_volume_ul / 1000:g} mL",
        "refilled at": at(p.refill_at),
        "average dose": daily_mcg,
        "program (start mcg/day)": week,
        "boluses (time mcg)": ", ".join(f"{_hhmm(t)} {_mcg(m)}" for t, m in p.boluses) or "none",
        "periodic boluses": ", ".join(f"{_mcg(ng)} mcg every {every / 3600:g} h from {at(first)}"
                                      for first, every, ng in p.periodic) or "none",
        "events": ", ".join(f"{kind} {_mcg(ng)} at {at(utc)}" for utc, kind, ng in p.events) or "none",
        "patient boluses": (f"{_mcg(p.patient_bolus_ng)} mcg x{p.patient_bolus_max}/day"
                            + (f", lockout {p.lockout_min} min" if p.lockout_min else "")
                            if p.patient_bolus_max else "none"),
        "time zone": f"{zone.name + ' ' if zone.name else ''}{_offset(p.utc_offset_s)}"
                     + (f", {len(p.transitions)} changes" if p.transitions else ""),
        "reminders": (", ".join(str(d) for d in p.reminder_days) + f" days before, at {_hhmm(p.reminder_at_s)}"
                      if p.reminder_days else "none"),
        "alarm day window": f"{_hhmm(p.day_window[0])}-{_hhmm(p.day_window[1])}",
        "quiet hours": f"{_hhmm(p.quiet_hours[0])}-{_hhmm(p.quiet_hours[1])}" if p.quiet_hours else "none",
        "clinic margin": f"{p.clinic_margin_days} days",
        "next appointment": at(p.next_appointment) if p.next_appointment else "none",
        "withdrawal risk": "HIGH" if p.high_withdrawal_risk else "usual",
        "spasticity origin": p.spasticity_origin or "not given",
        "hearing impaired": "yes (vibration)" if p.hearing_impaired else "no",
        "implant replacement": (timecalc.format_date(p.implant_eri_day)
                                + (" (estimated)" if p.implant_eri_estimated else "")
                                if p.implant_eri_day is not None else "not given"),
        "patient label": p.label or "none",
    }


def table(before: dict | None, after: dict, extra_rows=(), stream=None) -> str:
    """The table's text for `stream` (stdout unless given): field, on the unit
    now, new settings, and CHANGED on every row whose value changes."""
    rows = [(label, before.get(label, "-") if before else "-", value) for label, value in after.items()]
    rows += list(extra_rows)
    grid = Table(box=terminal.table_box(stream), show_edge=True, pad_edge=True, expand=True)
    grid.add_column("field", no_wrap=True)
    grid.add_column("on the unit now", ratio=1, overflow="fold")
    grid.add_column("new settings", ratio=1, overflow="fold")
    grid.add_column("changed", no_wrap=True, min_width=len(CHANGED))
    for label, old, new in rows:
        changed = old != new
        style = "bold" if changed else ""
        grid.add_row(Text(str(label), style=style), Text(str(old)), Text(str(new), style=style),
                     Text(CHANGED if changed else "", style="bold yellow"))
    return terminal.render(grid, stream)
