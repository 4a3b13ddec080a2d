"""Human-readable text of a forecast, for the nurse at the refill visit.

Owns wording and layout only; every figure comes from the core forecast.
"""

from __future__ import annotations

from pumpwatch import timecalc
from pumpwatch.forecast import REASON_DRUG_STABILITY, Forecast

_REASONS = {
    REASON_DRUG_STABILITY: "drug stability limit",
    "low_reservoir": "low-reservoir alarm volume reached",
}


def _when(forecast: Forecast, utc: int) -> str:
    offset = forecast.clock.offset_at(utc)
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{timecalc.format_local(utc, offset)} (UTC{sign}{hours:02d}:{minutes:02d})"


def _days_from(forecast: Forecast, utc: int) -> str:
    days = (utc - forecast.as_of) / 86400
    if days >= 0:
        return f"in {days:.1f} days"
    return f"{-days:.1f} days ago"


def forecast_text(forecast: Forecast, warnings: list[str]) -> str:
    p = forecast.prescription
    ml = lambda ul: f"{ul / 1000:.3f} mL"  # noqa: E731
    num, den = forecast.average_ng_per_day
    lines = [
        f"PumpWatch refill forecast — {p.pump_model}, {p.reservoir_ul / 1000:g} mL reservoir, "
        f"{p.drug_name} {p.concentration_milli / 1000:g} mcg/mL",
        f"  as of               {_when(forecast, forecast.as_of)}",
        f"  refilled            {_when(forecast, p.refill_at)} with {ml(p.refill_volume_ul)}",
        f"  average dose        {num / den / 1000:.1f} mcg/day (all boluses and allowed patient boluses)",
        f"  remaining now       {ml(forecast.volume_ul)} (nominal {ml(forecast.volume_ul_nominal)})",
        f"  low reservoir       {_when(forecast, forecast.low_reservoir_at)} at "
        f"{ml(p.low_alarm_ul)}, {_days_from(forecast, forecast.low_reservoir_at)}",
        f"  empty               {_when(forecast, forecast.empty_at)}, "
        f"{_days_from(forecast, forecast.empty_at)}",
        f"  drug stability      {_when(forecast, forecast.stability_limit_at)}",
        "",
        f"  REFILL DUE          {_when(forecast, forecast.refill_due_at)} — "
        f"{_REASONS[forecast.refill_due_reason]}, {_days_from(forecast, forecast.refill_due_at)}",
    ]
    if p.next_appointment is not None:
        verdict = "AFTER THE DUE DATE — book earlier" if forecast.appointment_after_due else "before the due date"
        lines.append(f"  next appointment    {_when(forecast, p.next_appointment)}: {verdict}")
    if forecast.reminders:
        lines.append("  reminders           " + "; ".join(
            f"{timecalc.format_local(at, forecast.clock.offset_at(at))} ({days} d before)"
            for at, days in forecast.reminders))
    if warnings:
        lines.append("")
        lines.extend(f"WARNING {w}" for w in warnings)
    return "\n".join(lines)
