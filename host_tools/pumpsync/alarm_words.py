"""What each alarm sound means, in the words a nurse reads out to the patient.

Owns the one table of patient-facing words for the unit's alarm patterns
(firmware/pumpwatch/sounds.py ALARMS, keyed by `Pattern.name`), and how they
are put together: spoken (`pumpsync alarm test`) and as the README.txt that
goes with the WAV previews on the patient's phone (`pumpsync alarm preview`).
The sounds themselves are the firmware's data, never described twice here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pumpwatch import sounds


@dataclass(frozen=True)
class Words:
    title: str  # what the patient calls it: "the EMPTY alarm"
    sound: str  # how it sounds, in words
    means: str  # what it means (follows "It means")
    do: str     # what to do
    pause: str  # how to pause it, and for how long


WORDS = {
    "high": Words(
        title="EMPTY alarm",
        sound="ten quick loud notes, in two groups of five, repeating every few seconds; the light flashes fast",
        means="your pump may stop giving baclofen: its reservoir may be empty. Withdrawal can start within hours.",
        do="Call your clinic or go to the emergency department now. Do not wait until you feel unwell.",
        pause="A short press of the button pauses it for 15 minutes; it comes back until the pump is refilled."),
    "strong": Words(
        title="REFILL alarm, louder",
        sound="the three notes of the refill alarm, louder and faster",
        means="the same as the refill alarm: your pump needs a refill. It got louder because nobody pressed "
              "the button for 30 minutes (10 minutes if your clinic set a high withdrawal risk).",
        do="Call your clinic today to arrange the refill.",
        pause="A short press pauses it for 4 hours (2 hours if your clinic set a high risk)."),
    "medium": Words(
        title="REFILL alarm",
        sound="three rising notes, repeating every few seconds; the light blinks slowly",
        means="your pump needs a refill now: its reservoir is low, or the drug in it is at its time limit.",
        do="Call your clinic today to arrange the refill.",
        pause="A short press pauses it for 4 hours (2 hours if your clinic set a high risk); then it sounds "
              "again until the refill is done."),
    "technical": Words(
        title="UNIT alarm",
        sound="three short falling notes, every 10 seconds; the light gives a short blink",
        means="this alarm unit itself needs attention, not your pump: its battery is low, it lost its clock "
              "or its settings, it has a storage fault, or it needs to be synced after a refill somewhere else.",
        do="Charge or change the unit's battery if it is low; otherwise call your clinic today to "
           "get the unit checked or synced. Until then it may not warn you about your pump.",
        pause="A short press pauses it for 4 hours."),
    "low": Words(
        title="REMINDER",
        sound="two soft notes, now and then; the light gives a short blink",
        means="a reminder: a refill is coming up, your appointment is tomorrow, or the pump's own battery is "
              "near its end.",
        do="Nothing urgent: check your appointment, or tell your clinic at the next contact.",
        pause="A short press ends it."),
}


def names() -> list[str]:
    """The alarm patterns' names, in the order a nurse teaches them."""
    return [p.name for p in sounds.ALARMS]


def spoken(name: str) -> str:
    """The words for one alarm as one paragraph to read out."""
    w = WORDS[name]
    return f"This is the {w.title}: {w.sound}. It means {w.means} {w.do} {w.pause}"


def readme_text() -> str:
    """The table of every alarm, for a README.txt beside the sound files."""
    lines = ["PumpWatch alarm sounds", "======================", "",
             "Each file pumpwatch-<name>.wav plays the sound as your PumpWatch unit makes it "
             "(two bursts, with the real silence between them).", ""]
    for name in names():
        w = WORDS[name]
        heading = f"{w.title} (pumpwatch-{name}.wav)"
        lines += [heading, "-" * len(heading), f"Sound:      {w.sound}.", f"It means:   {w.means}",
                  f"What to do: {w.do}", f"Pausing it: {w.pause}", ""]
    return "\n".join(lines)
