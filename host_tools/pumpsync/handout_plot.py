"""The reservoir plot (`reservoir.png`): drug left in the pump over the refill cycle.

Owns which instants are sampled and how the picture looks.  Every volume is
the core's own (`Forecast.remaining_ul` at the flow tolerance, conservative,
and at none, nominal); the marked instants (low reservoir, warning, due date,
appointment, today) are the forecast's.  `curves()` returns the very data the
plot draws, so a test can check it without reading pixels.  matplotlib with
the Agg canvas only: no display is needed or opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from pumpsync.times import Zone

_MAX_POINTS = 1500
_MIN_STEP_S = 600
_DAY = 86400


@dataclass
class Curves:
    times: list[int]              # UTC epoch seconds, ascending
    conservative_ul: list[int]    # Forecast.remaining_ul(t, flow tolerance)
    nominal_ul: list[int]         # Forecast.remaining_ul(t, 0)
    marks: dict = field(default_factory=dict)  # name -> UTC instant (None: never reached)


def curves(forecast) -> Curves:
    """Both curves from the refill until a day after the nominal reservoir is empty (or the drug's
    time limit, or the appointment, whichever is last; at most 400 days), sampled evenly and at each
    marked instant and the second before it, so a crossing is drawn where the forecast puts it."""
    p = forecast.prescription
    marks = {"today": forecast.as_of, "low_reservoir": forecast.low_reservoir_at,
             "low_reservoir_nominal": forecast.low_reservoir_at_nominal, "warning": forecast.warning_at,
             "empty": forecast.empty_at, "empty_nominal": forecast.empty_at_nominal,
             "due": forecast.clinical_due_at, "appointment": p.next_appointment}
    start = p.refill_at
    known = [t for t in marks.values() if t is not None]
    end = min(max(known + [forecast.stability_limit_at if forecast.empty_at_nominal is None else start]) + _DAY,
              start + 400 * _DAY)
    step = max(_MIN_STEP_S, (end - start) // _MAX_POINTS)
    instants = set(range(start, end + 1, step))
    for t in known:
        if start < t <= end:
            instants.update((t - 1, t))
    times = sorted(instants)
    tolerance = p.tolerance_centipct
    return Curves(times, [forecast.remaining_ul(t, tolerance) for t in times],
                  [forecast.remaining_ul(t, 0) for t in times], marks)


def _local(zone: Zone, utc: int) -> datetime:
    """A naive datetime showing the patient's wall clock at `utc` (the axis is local time)."""
    return datetime.fromtimestamp(utc + zone.offset_at(utc), timezone.utc).replace(tzinfo=None)


def write_png(forecast, zone: Zone, path, data: Curves | None = None) -> Curves:
    """Draw the plot to `path` (PNG); returns the data drawn."""
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    data = data or curves(forecast)
    p = forecast.prescription
    fig = Figure(figsize=(9, 5), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    x_of = lambda utc: float(mdates.date2num(_local(zone, utc)))  # noqa: E731
    xs = [x_of(t) for t in data.times]
    ax.plot(xs, [v / 1000 for v in data.conservative_ul], color="#c0392b", linewidth=2.2,
            label=f"conservative: every allowed patient bolus, pump +{p.tolerance_centipct / 100:g} %")
    ax.plot(xs, [v / 1000 for v in data.nominal_ul], color="#2c6fbb", linewidth=1.6, linestyle="--",
            label="nominal: as programmed")
    white = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
    ax.axhline(p.low_alarm_ul / 1000, color="#e67e22", linewidth=1.2, linestyle=":")
    ax.annotate(f"pump's low-reservoir alarm {p.low_alarm_ul / 1000:g} mL", (xs[0], p.low_alarm_ul / 1000),
                xytext=(4, 3), textcoords="offset points", fontsize=8, color="#a04000", bbox=white)
    if p.warning_ul is not None:
        ax.axhline(p.warning_ul / 1000, color="#d4ac0d", linewidth=1.2, linestyle=":")
        ax.annotate(f"warning volume {p.warning_ul / 1000:g} mL", (xs[0], p.warning_ul / 1000),
                    xytext=(4, 3), textcoords="offset points", fontsize=8, color="#7d6608", bbox=white)
    low = data.marks.get("low_reservoir")
    if low is not None and data.times[0] <= low <= data.times[-1]:
        x = x_of(low)
        ax.plot([x], [forecast.remaining_ul(low, p.tolerance_centipct) / 1000], "o", color="#c0392b", markersize=5)
        ax.annotate(f"alarm volume reached {_local(zone, low):%d %b %H:%M}\n(conservative)", (x, p.low_alarm_ul / 1000),
                    xytext=(-6, -6), textcoords="offset points", fontsize=8, color="#c0392b", ha="right",
                    va="top", bbox=white)
    top = p.reservoir_ul / 1000
    x_end = xs[-1]
    row = 0
    for name, label, colour in (("today", "today", "#555555"), ("appointment", "appointment", "#1e8449"),
                                ("due", "refill due", "#c0392b")):
        at = data.marks.get(name)
        if at is None or not data.times[0] <= at <= data.times[-1]:
            continue
        x = x_of(at)
        ax.axvline(x, color=colour, linewidth=1.3, linestyle="-" if name == "due" else "--")
        right_half = (x - xs[0]) > (x_end - xs[0]) * 0.6  # label on the line's left near the right edge
        ax.annotate(f"{label} {_local(zone, at):%d %b %H:%M}", (x, top * (1.0 - 0.07 * row)),
                    xytext=(-4 if right_half else 4, -3), textcoords="offset points", fontsize=8,
                    color=colour, va="top", ha="right" if right_half else "left", bbox=white)
        row += 1
    ax.set_ylim(0, top * 1.05)
    ax.set_xlim(xs[0], xs[-1] + 0.25)  # date numbers are days
    ax.set_ylabel("drug left in the pump (mL)")
    ax.set_xlabel("the patient's local time, " + zone.local(forecast.as_of).split(" ", 2)[2])
    locator = mdates.AutoDateLocator(minticks=5, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    highest = max(p.low_alarm_ul, p.warning_ul or 0) / 1000  # the legend sits above the volume lines' labels
    ax.legend(loc="lower left", bbox_to_anchor=(0, min(0.5, (highest + top * 0.07) / (top * 1.05))), fontsize=8)
    title = f"Baclofen left in your {p.pump_model} ({top:g} mL), refilled {zone.local(p.refill_at)}"
    ax.set_title(title, fontsize=10)
    fig.savefig(str(path), format="png")
    return data
