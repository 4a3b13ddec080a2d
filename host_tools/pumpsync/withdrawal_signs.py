"""Baclofen withdrawal warning signs, in plain words, for the patient's hand-outs.

Owns the one wording of what to watch for when intrathecal baclofen stops
(the drug monograph's boxed warning, as the project's domain brief gives it):
the early signs, the serious ones, how fast it comes on, who is at higher
risk, and what the emergency department does.  The summary page
(handout_pdf.py) prints these lines; nothing is read from elsewhere at run time.
"""

from __future__ import annotations

INTRO = ("If the pump stops giving baclofen (an empty reservoir, a pump or catheter fault), withdrawal can "
         "start within hours to days. It can be life-threatening.")

EARLY = (
    "the stiffness or spasms you had before the pump come back, or get worse",
    "itching",
    "low blood pressure: feeling faint or dizzy",
    "pins and needles or tingling",
)

SERIOUS = (
    "high fever",
    "confusion, unusual sleepiness or changed behaviour",
    "strong rebound spasms and rigid, stiff muscles",
)

RARE = "Rarely it leads to muscle breakdown, failure of several organs, or death."

HIGHER_RISK = ("Higher risk: a spinal cord injury at T6 or above, difficulty communicating, or an earlier "
               "withdrawal episode.")

WHAT_TO_DO = ("Any of these signs, or the unit's EMPTY alarm: call the clinic now or go to the emergency "
              "department. Do not wait until you feel very unwell.")

FOR_THE_EMERGENCY_DEPARTMENT = ("For the emergency department: suspect intrathecal baclofen withdrawal. "
                                "Treatment is emergency care and restoring intrathecal delivery (check the "
                                "pump's reservoir and catheter).")
