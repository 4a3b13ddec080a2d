"""`pumpsync status`: what the unit is doing, in the words a nurse reads out.

Owns the status record (`--json`: stable keys, UTC ISO times) and its text:
the clock in the patient's local time with a drift warning beyond a minute,
each active or sounding condition in the patient's words, the battery as a
percentage and in mV, and the unit's own forecast (or this computer's of the
settings the unit holds, when the unit's did not fit in its memory).
"""

from __future__ import annotations

import time

from pumpwatch import timecalc
from pumpwatch.conditions import kind_of
from pumpwatch.descriptions import DESCRIPTION
from pumpwatch.forecast import Forecast

from pumpsync import unit_clock
from pumpsync.sync_checks import ALARM_WORDS, DUE_WORDS
from pumpsync.client import printable
from pumpsync.session import Session, print_json

BATTERY_LOW_MV = 3450  # the unit's own threshold (firmware/pumpwatch/unit.py)
# A single Li-ion/LiPo cell at rest: (mV, %); the percentage is a guide for the nurse, not a measure
_CELL_CURVE = ((3300, 0), (3450, 10), (3600, 30), (3700, 50), (3800, 68), (3900, 80), (4000, 89), (4100, 96),
               (4200, 100))


def battery_percent(mv) -> int | None:
    if not isinstance(mv, (int, float)) or isinstance(mv, bool):
        return None
    if mv <= _CELL_CURVE[0][0]:
        return 0
    for (lo_mv, lo_pct), (hi_mv, hi_pct) in zip(_CELL_CURVE, _CELL_CURVE[1:]):
        if mv <= hi_mv:
            return round(lo_pct + (hi_pct - lo_pct) * (mv - lo_mv) / (hi_mv - lo_mv))
    return 100


def words(condition) -> str:
    """'low reservoir: refill now' for 'low_reservoir'; '7 days before due' for a reminder."""
    if not isinstance(condition, str):
        return printable(condition)
    text = DESCRIPTION.get(kind_of(condition), condition.replace("_", " "))
    if kind_of(condition) == "reminder" and ":" in condition:
        text += f" ({condition.split(':')[1]} days before due)"
    return printable(text)


def _iso(epoch):
    return timecalc.format_iso(int(epoch)) if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) \
        and 0 <= epoch < 2**33 else None


def unit_status(session: Session) -> dict:
    status = session.client.call("status", verified=True)
    host_now = time.time()
    unit_now = status.get("time")
    result = {
        "unit_id": session.unit_id, "firmware": session.hello["firmware"], "board": session.hello["board"],
        "paired_here": session.client.key is not None,
        "clock": {"unit": _iso(unit_now), "host": _iso(int(host_now)),
                  "drift_s": None if not isinstance(unit_now, (int, float)) else round(unit_now - host_now, 1)},
        "active": status["active"], "sounding": status["sounding"], "battery_mv": status["battery_mv"],
        "battery_pct": battery_percent(status["battery_mv"]),
        "refill_due_at": _iso(status["refill_due_at"]), "forecast": status["forecast"],
        "forecast_by": "unit" if status["forecast"] is not None else None,
        **_host_forecast(session, status),
    }
    for key in ("vibration", "refilled_elsewhere_until"):
        if key in status:
            result[key] = status[key]
    return result


def _host_forecast(session: Session, status: dict) -> dict:
    """When the unit's own forecast did not fit in its memory, the same core forecast of the
    settings it holds, computed here (and said so)."""
    if status.get("forecast") is not None or not status.get("forecast_error") or status.get("time") is None:
        return {"forecast_error": status.get("forecast_error")} if status.get("forecast_error") else {}
    _, stored, _ = session.unit_settings()
    if stored is None:
        return {"forecast_error": status["forecast_error"]}
    return {"forecast": Forecast(stored, int(status["time"])).as_dict(), "forecast_by": "pumpsync",
            "forecast_error": status["forecast_error"]}


def cmd_status(args) -> int:
    session = Session(args)
    try:
        result = unit_status(session)
        zone = session.zone()
    finally:
        session.close()
    if args.json:
        print_json(result)
        return 0
    for line in status_lines(result, zone):
        print(line)
    return 0


def status_lines(result: dict, zone) -> list[str]:
    clock = result["clock"]
    drift = clock["drift_s"]
    unit_time = timecalc.parse_iso(clock["unit"]) if clock["unit"] else None
    lines = [f"unit {result['unit_id']}  firmware {printable(result['firmware'])}  board "
             f"{printable(result['board'])}  "
             f"{'paired with this computer' if result['paired_here'] else 'NOT paired with this computer'}"]
    if drift is None:
        lines.append("  clock      LOST: the unit does not know the time; run pumpsync time set")
    else:
        lines.append(f"  clock      {zone.local_seconds(unit_time)} ({unit_clock.drift_words(drift)})")
        if abs(drift) > unit_clock.DRIFT_WARNING_S:
            lines.append(f"  WARNING    the unit's clock is {unit_clock.drift_words(drift)}: run pumpsync time set")
    mv, pct = result["battery_mv"], result["battery_pct"]
    battery = "unknown" if pct is None else f"{pct} % ({printable(mv)} mV)"
    if isinstance(mv, (int, float)) and mv < BATTERY_LOW_MV:
        battery += ": LOW, charge or replace it"
    lines.append(f"  battery    {battery}")
    sounding = [f"{words(c)} ({printable(p)})" for c, p in result["sounding"]]
    lines.append(f"  sounding   {'; '.join(sounding) or 'nothing'}")
    lines.append(f"  active     {'; '.join(words(c) for c in result['active']) or 'nothing'}")
    if result.get("vibration") is not None:
        lines.append(f"  vibration  {'motor fitted' if result['vibration'] else 'no motor'}")
    until = result.get("refilled_elsewhere_until")
    if isinstance(until, int) and not isinstance(until, bool):
        lines.append(f"  REFILLED ELSEWHERE (the patient pressed it): refill alarms stand down until "
                     f"{zone.local(until)}; a settings sync ends it")
    forecast = result["forecast"]
    if forecast:
        if result.get("forecast_by") == "pumpsync":
            lines.append("  forecast   the unit's own did not fit in its memory: computed by this computer from "
                         "the settings the unit holds")
        lines.append(f"  remaining  {float(forecast['volume_ml']):.3f} mL (nominal "
                     f"{float(forecast['volume_ml_nominal']):.3f} mL)")
        clinical = _instant(forecast.get("clinical_due_at"))
        alarm = _instant(forecast.get("refill_due_at"))
        lines.append(f"  {DUE_WORDS} {zone.local(clinical, printable(forecast.get('clinical_due_at')))} "
                     "(book the refill by then)")
        lines.append(f"  {ALARM_WORDS} {zone.local(alarm, printable(forecast.get('refill_due_at')))} "
                     f"({printable(forecast.get('refill_due_reason')).replace('_', ' ')})")
    elif result.get("forecast_error"):
        lines.append(f"  forecast   none: {printable(result['forecast_error'])} on the unit")
    return lines


def _instant(iso):
    """Epoch seconds of the unit's ISO time, or None for anything else (a device can send anything)."""
    try:
        return timecalc.parse_iso(str(iso))
    except (TypeError, ValueError):
        return None
