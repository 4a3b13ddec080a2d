"""The one-page summary (`summary.pdf`) for the patient's file and the emergency department.

Owns what the page says (`summary_blocks`: a list of blocks, the text model
the page is drawn from) and how it is laid out on one A4 page (matplotlib's
PDF backend, text only, TrueType fonts so the text can be copied and
searched).  The figures are the core forecast's and the prescription's; the
sounds' words are alarm_words'; the warning signs are withdrawal_signs'.
Every time is the patient's local time with its zone name.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass

from pumpwatch import sounds, timecalc

from pumpsync import alarm_words, withdrawal_signs
from pumpsync.times import Zone

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
A4_IN = (8.27, 11.69)
MARGIN_IN = 0.55


@dataclass(frozen=True)
class Block:
    kind: str       # title, subtitle, heading, row, para, bullet, sound, alert
    text: str
    label: str = ""  # a row's or a sound's name


def _mcg(ng) -> str:
    return f"{ng / 1000:g}"


def _hhmm(seconds: int) -> str:
    return timecalc.format_hhmm(seconds)


def _steps(steps) -> str:
    """'00:00-06:00 480 mcg/day, 06:00-21:00 400 mcg/day, ...' of one day's program."""
    parts = []
    for i, (start, ng) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else 86400
        parts.append(f"{_hhmm(start)}-{'24:00' if end == 86400 else _hhmm(end)} {_mcg(ng)} mcg/day")
    return ", ".join(parts)


def program_rows(forecast, zone: Zone) -> list[Block]:
    """The programmed doses by day, as the clinician set them (rates, boluses), and the average."""
    p = forecast.prescription
    rows = []
    if p.week is None:
        rows.append(Block("row", _steps(p.steps), "every day"))
    else:
        for i, day in enumerate(p.week):
            rows.append(Block("row", _steps(day), _DAYS[i]))
    if p.boluses:
        rows.append(Block("row", ", ".join(f"{_mcg(ng)} mcg at {_hhmm(t)}" for t, ng in p.boluses),
                          "daily boluses"))
    for first, every, ng in p.periodic:
        rows.append(Block("row", f"{_mcg(ng)} mcg every {every / 3600:g} h from {zone.local(first)}",
                          "periodic bolus"))
    for utc, kind, ng in p.events:
        words = f"{_mcg(ng)} mcg bolus" if kind == "bolus" else kind.replace("_", " ")
        rows.append(Block("row", f"{words} at {zone.local(utc)}", "one-off"))
    if p.patient_bolus_max:
        rows.append(Block("row", f"{_mcg(p.patient_bolus_ng)} mcg, at most {p.patient_bolus_max} a day"
                          + (f", {p.lockout_min} min apart" if p.lockout_min else ""), "patient bolus"))
    num, den = forecast.program_ng_per_day
    avg_num, avg_den = forecast.average_ng_per_day
    rows.append(Block("row", f"{num / den / 1000:.1f} mcg/day programmed"
                      + (" (average over the week)" if p.week is not None else "")
                      + (f"; {avg_num / avg_den / 1000:.1f} mcg/day with every allowed patient bolus"
                         if p.patient_bolus_max else ""), "daily dose"))
    return rows


def summary_blocks(forecast, zone: Zone) -> list[Block]:
    """Everything the page says, in order."""
    p = forecast.prescription
    at = zone.local
    phone = p.clinic_phone
    clinic = p.clinic_name or "the clinic"
    blocks = [
        Block("title", "Intrathecal baclofen pump: PumpWatch summary"),
        Block("subtitle", (f"{p.label} - " if p.label else "") + f"issued {at(forecast.as_of)}. "
              "For the patient's file and the emergency department."),
        Block("alert", "This person has an implanted pump that gives baclofen into the spinal fluid. "
              "Stopping it suddenly (empty reservoir, pump or catheter fault) causes withdrawal, which can be "
              "life-threatening." + (f" Clinic: {clinic}, phone {phone}." if phone else
                                     f" Contact {clinic} (no phone number was given in the settings).")),
        Block("heading", "Pump and drug"),
        Block("row", f"{p.pump_model}, {p.reservoir_ul / 1000:g} mL reservoir; its low-reservoir alarm is set at "
              f"{p.low_alarm_ul / 1000:g} mL" + (f", warning at {p.warning_ul / 1000:g} mL" if p.warning_ul else ""),
              "pump"),
        Block("row", f"{p.drug_name} {p.concentration_milli / 1000:g} mcg/mL"
              + (" (a dilution)" if p.concentration_milli % 1000 or p.concentration_milli // 1000
                 not in (50, 500, 2000) else ""), "drug"),
        Block("row", f"{at(p.refill_at)} with {p.refill_volume_ul / 1000:g} mL (at most {p.max_days} days in "
              "the pump)", "refilled"),
        Block("heading", "Programmed doses"),
        *program_rows(forecast, zone),
        Block("heading", "Refill"),
        Block("row", f"by {at(forecast.clinical_due_at)}", "REFILL DUE"),
        Block("row", f"{at(p.next_appointment)}" + (" - AFTER the due date: book earlier"
                                                     if forecast.appointment_after_due else "")
              if p.next_appointment is not None else "none booked", "appointment"),
        Block("row", f"{at(forecast.low_reservoir_at)} at the earliest (conservative); as programmed: "
              f"{at(forecast.low_reservoir_at_nominal)}", "pump's alarm volume"),
        Block("row", f"{at(forecast.empty_at)} at the earliest (conservative)", "reservoir empty"),
    ]
    if forecast.implant_eri_at is not None:
        blocks.append(Block("row", timecalc.format_date(p.implant_eri_day)
                            + (" (estimated)" if p.implant_eri_estimated else ""), "pump battery ERI"))
    blocks.append(Block("heading", "What each PumpWatch sound means"))
    for pattern in sounds.ALARMS:
        if pattern.name == "strong":
            continue  # the refill alarm, louder: said in the refill alarm's row
        w = alarm_words.WORDS[pattern.name]
        text = f"{w.sound[0].upper()}{w.sound[1:]}. It means {w.means} {w.do}"
        if pattern.name == "medium":
            text += " Unanswered for 30 minutes it gets louder and faster: the same message."
        blocks.append(Block("sound", text, w.title))
    blocks += [
        Block("heading", "Withdrawal warning signs"),
        Block("para", withdrawal_signs.INTRO),
        Block("para", "Early signs:"),
        *[Block("bullet", sign) for sign in withdrawal_signs.EARLY],
        Block("para", "Serious signs:"),
        *[Block("bullet", sign) for sign in withdrawal_signs.SERIOUS],
        Block("para", f"{withdrawal_signs.RARE} {withdrawal_signs.HIGHER_RISK}"),
        Block("alert", withdrawal_signs.WHAT_TO_DO + (f" Clinic: {clinic}, phone {phone}." if phone else "")),
        Block("para", withdrawal_signs.FOR_THE_EMERGENCY_DEPARTMENT),
        Block("subtitle", "Times are the patient's local time with the time zone. The forecast assumes every "
              "allowed patient bolus and the pump giving up to "
              f"{p.tolerance_centipct / 100:g} % more than programmed (PumpWatch, pumpsync handout)."),
    ]
    return blocks


def text_of(blocks: list[Block]) -> str:
    """The page's words as plain text (what a reader or a test sees)."""
    lines = []
    for b in blocks:
        lines.append(f"{b.label}: {b.text}" if b.label else ("- " + b.text if b.kind == "bullet" else b.text))
    return "\n".join(lines)


# font size (pt) by block kind, at scale 1; the page shrinks them together until everything fits
_SIZES = {"title": 15, "subtitle": 7.5, "heading": 10.5, "row": 8.5, "para": 8.5, "bullet": 8.5, "sound": 8.5,
          "alert": 9}
_CHAR_EM = 0.53   # DejaVu Sans: average character width, in em (wrapping by characters)
_LABEL_IN = 1.45  # the label column of rows and sounds


def _draw(fig, blocks, scale: float) -> float:
    """Lay the blocks out from the top; returns the last line's baseline (inches from the bottom)."""
    width_in = A4_IN[0] - 2 * MARGIN_IN
    y = A4_IN[1] - MARGIN_IN
    for b in blocks:
        size = _SIZES[b.kind] * scale
        line_in = size * 1.32 / 72
        x, indent, bold, colour = MARGIN_IN, 0.0, b.kind in ("title", "heading", "alert"), "black"
        em = _CHAR_EM * (1.12 if bold else 1.0)  # bold letters are wider
        chars = lambda inches: max(20, int(inches * 72 / (size * em)))  # noqa: E731
        if b.kind == "heading":
            y -= line_in * 0.55
        if b.kind in ("row", "sound"):
            indent = _LABEL_IN
        elif b.kind == "bullet":
            indent = 0.22
        if b.kind == "alert":
            colour = "#a00000"
        text_width = width_in - indent
        lines = textwrap.wrap(b.text, chars(text_width)) or [""]
        if b.kind == "bullet":
            fig.text(x / A4_IN[0] + 0.08 / A4_IN[0], (y - line_in) / A4_IN[1], "\u2022", fontsize=size)
        if b.label:
            fig.text(x / A4_IN[0], (y - line_in) / A4_IN[1], b.label, fontsize=size,
                     fontweight="bold", color="#a00000" if b.label == "REFILL DUE" else "black")
        for line in lines:
            y -= line_in
            fig.text((x + indent) / A4_IN[0], y / A4_IN[1], line, fontsize=size,
                     fontweight="bold" if bold or b.label == "REFILL DUE" else "normal", color=colour)
        if b.kind == "title":
            y -= line_in * 0.15
        elif b.kind in ("alert", "sound"):
            y -= line_in * 0.3
    return y


def write_pdf(forecast, zone: Zone, path, blocks: list[Block] | None = None) -> list[Block]:
    """Draw the summary on one A4 page at `path`; returns the blocks drawn."""
    from matplotlib.figure import Figure

    blocks = blocks or summary_blocks(forecast, zone)
    scale = 1.0
    while True:
        fig = Figure(figsize=A4_IN)
        bottom = _draw(fig, blocks, scale)
        if bottom >= MARGIN_IN * 0.8 or scale <= 0.6:
            break
        scale -= 0.04  # a long weekly program: smaller type, still one page
    if bottom < MARGIN_IN * 0.8:
        raise ValueError("the summary does not fit on one page")
    with warnings.catch_warnings():  # a missing glyph is said by unprintable(), in words, not by matplotlib
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(str(path), format="pdf", metadata={"Title": "PumpWatch summary", "Creator": "pumpsync handout"})
    return blocks


def unprintable(blocks: list[Block]) -> str:
    """The page's characters its font has no glyph for (they print as empty boxes), in order."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    drawn = set(FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())
    missing = []
    for ch in text_of(blocks):
        if not ch.isspace() and ord(ch) not in drawn and ch not in missing:
            missing.append(ch)
    return "".join(missing)
