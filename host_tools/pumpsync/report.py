"""Human-readable text of a forecast, for the nurse at the refill visit.

Owns wording and layout only (the nominal/conservative columns are a rich
grid, as wide as the terminal: terminal.render); every figure comes from the core forecast
(and clinical.py's clinical due date, reminders and programmer cross-check).
Every time is the patient's local time with its zone name (clock.tz of the
settings, else the UTC offset in force).
"""

from __future__ import annotations

import os
import sys

from pumpwatch import timecalc
from pumpwatch.forecast import REASON_DRUG_STABILITY, Forecast

from pumpsync import terminal
from pumpsync.times import Zone

_REASONS = {
    REASON_DRUG_STABILITY: "drug stability limit",
    "low_reservoir": "low-reservoir alarm volume reached (conservative)",
}
RED, BOLD, RESET = "\033[31m", "\033[1m", "\033[0m"


def _colour(stream=sys.stdout) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


def red(text: str) -> str:
    """Text a nurse must not miss; plain when the output is not a terminal."""
    return f"{RED}{BOLD}{text}{RESET}" if _colour() else text


def when(forecast: Forecast, utc: int | None, zone: str | None = None) -> str:
    """'2027-01-29 10:00 Europe/Berlin (UTC+01:00)' of an instant, or 'never' (beyond the forecast)."""
    if utc is None:
        return "never (the pump is stopped until the end of the forecast)"
    return Zone.of_clock(forecast.clock, zone).local(utc)


def _days_from(forecast: Forecast, utc: int | None) -> str:
    if utc is None:
        return "-"
    days = (utc - forecast.as_of) / 86400
    if days >= 0:
        return f"in {days:.1f} days"
    return f"{-days:.1f} days ago"


def forecast_text(forecast: Forecast, warnings: list[str], zone: str | None = None) -> str:
    p = forecast.prescription
    ml = lambda ul: f"{ul / 1000:.3f} mL"  # noqa: E731
    num, den = forecast.average_ng_per_day
    program_num, program_den = forecast.program_ng_per_day
    at = lambda utc: when(forecast, utc, zone)  # noqa: E731
    label = f" — {p.label}" if p.label else ""
    lines = [
        f"PumpWatch refill forecast{label} — {p.pump_model}, {p.reservoir_ul / 1000:g} mL reservoir, "
        f"{p.drug_name} {p.concentration_milli / 1000:g} mcg/mL",
        f"  as of               {at(forecast.as_of)}",
        f"  refilled            {at(p.refill_at)} with {ml(p.refill_volume_ul)}",
        f"  programmed dose     {program_num / program_den / 1000:.1f} mcg/day"
        + (" (average over the week)" if p.week is not None else ""),
        f"  average dose        {num / den / 1000:.1f} mcg/day (with every allowed patient bolus)",
    ]
    if p.concentration_milli % 1000 or p.concentration_milli // 1000 not in (50, 500, 2000):
        lines.append("  " + red(f"DILUTION            {p.concentration_milli / 1000:g} mcg/mL "
                                "(not a commercial strength: confirmed in the file)"))
    rows = [("", "nominal", f"conservative (+{p.tolerance_centipct / 100:g} % flow)"),
            ("remaining now", ml(forecast.volume_ul_nominal), ml(forecast.volume_ul)),
            ("low reservoir", at(forecast.low_reservoir_at_nominal), at(forecast.low_reservoir_at)),
            ("empty", at(forecast.empty_at_nominal), at(forecast.empty_at))]
    if forecast.warning_at is not None and p.warning_ul is not None:
        rows.append((f"warning at {ml(p.warning_ul)}", "", at(forecast.warning_at)))
    lines.append("")
    lines.extend(_columns(rows))
    lines += [
        f"  {'drug stability':20}{at(forecast.stability_limit_at)}",
        "",
        f"  latest refill       {at(forecast.refill_due_at)} — {_REASONS[forecast.refill_due_reason]}",
        f"  REFILL DUE          {at(forecast.clinical_due_at)} ({p.clinic_margin_days} days before the pump's "
        f"alarm, or the stability limit), {_days_from(forecast, forecast.clinical_due_at)}",
    ]
    if p.next_appointment is not None:
        verdict = red("AFTER THE DUE DATE — book earlier") if forecast.appointment_after_due else "before the due date"
        lines.append(f"  next appointment    {at(p.next_appointment)}: {verdict}")
    lines.extend(programmer_lines(forecast, zone))
    reminders = [f"{at(t)}  {days} day{'' if days == 1 else 's'} before due" for t, days in forecast.reminders]
    if forecast.appointment_reminder_at is not None:
        reminders.append(f"{at(forecast.appointment_reminder_at)}  the appointment is tomorrow")
    for t, days in forecast.implant_reminders:
        reminders.append(f"{at(t)}  implant battery: {days} days before its replacement indicator")
    for i, line in enumerate(sorted(reminders)):
        lines.append(f"  {'the unit reminds' if i == 0 else '':20}{line}")
    lines.extend(alarm_lines(forecast, zone))
    if warnings:
        lines.append("")
        lines.extend(f"WARNING {w}" for w in warnings)
    return "\n".join(lines)


def _columns(rows: list[tuple[str, str, str]]) -> list[str]:
    """Label, nominal, conservative: each column as wide as its longest entry (a long
    zone name never runs into the next column), wrapped only on a narrow terminal."""
    from rich.padding import Padding
    from rich.table import Table

    grid = Table.grid(padding=(0, 3, 0, 0))
    grid.add_column(min_width=17, no_wrap=True)  # 20 with its padding, as the lines around it
    grid.add_column(overflow="fold")
    grid.add_column(overflow="fold")
    for row in rows:
        grid.add_row(*row)
    # off a terminal never wrapped: as wide as the longest row needs, and at least PLAIN_WIDTH
    needed = 2 + sum(max(len(row[i]) for row in rows) + 3 for i in range(3)) + 3
    return [line.rstrip() for line in terminal.render(Padding(grid, (0, 0, 0, 2)),
                                                       plain_width=max(terminal.PLAIN_WIDTH, needed)).splitlines()]


def alarm_lines(forecast: Forecast, zone: str | None = None) -> list[str]:
    """When each alarm first sounds, where the day window holds one back (the unit's own rule)."""
    from pumpwatch.descriptions import DESCRIPTION
    from pumpwatch.conditions import kind_of
    days = forecast.days
    lines = [f"  {'day window':20}{timecalc.format_hhmm(days.start)}-{timecalc.format_hhmm(days.end)} local: "
             "forecasts a day or more before empty sound only then"]
    for alarm in forecast.alarm_instants():
        kind = kind_of(alarm["condition"])
        if kind not in ("low_reservoir", "refill_overdue", "empty") or alarm["starts_at"] == alarm["sounds_at"]:
            continue
        starts, sounds = timecalc.parse_iso(alarm["starts_at"]), timecalc.parse_iso(alarm["sounds_at"])
        lines.append(f"  {'':20}{DESCRIPTION[kind].split(':')[0]}: reached {when(forecast, starts, zone)}, "
                     f"sounds {when(forecast, sounds, zone)}")
    return lines


def programmer_lines(forecast: Forecast, zone: str | None = None) -> list[str]:
    """The cross-check against the clinician programmer's printout, side by side."""
    check = forecast.programmer_check
    if check["ok"] is None:
        return ["  " + red("programmer check    none: no printout in the file (--confirm no-printout to sync)")]
    lines = ["  programmer check    " + ("agrees (12 h / 1 %)" if check["ok"] else red("DISAGREES"))]
    ours, printed, diff = check["ours"], check["printed"], check["diff"]
    if "low_reservoir_alarm_at" in printed:
        printed_at = timecalc.parse_iso(printed["low_reservoir_alarm_at"])
        ours_at = timecalc.parse_iso(ours["low_reservoir_alarm_at"]) if ours["low_reservoir_alarm_at"] else None
        hours = diff.get("low_reservoir_alarm_at_h")
        lines.append(f"    alarm date        printed {when(forecast, printed_at, zone)}; PumpWatch "
                     f"{when(forecast, ours_at, zone)}" + ("" if hours is None else f" ({hours:+.1f} h)"))
    for name, words, unit in (("daily_dose_mcg", "daily dose", "mcg/day"), ("reservoir_volume_ml", "volume", "mL")):
        if name in printed:
            key = name.rsplit("_", 1)[0] + "_pct"
            lines.append(f"    {words:<18}printed {printed[name]:g} {unit}; PumpWatch "
                         f"{ours[name]:g} {unit} ({diff[key]:+.2f} %)")
    return lines
