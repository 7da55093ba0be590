"""Fixed vocabularies of the model: legal statuses, offence categories, agent states, outputs.

Codes are small integers so that the vectorised engine can keep them in uint8 arrays;
names are what scenario files, outputs and users see.
"""

from __future__ import annotations

import numpy as np

# Days are counted from the scenario's start date (day 0); NEVER marks an event that does
# not happen (far beyond any horizon, and small enough to add two of them in int32).
NEVER = np.int32(1 << 29)
DAYS_PER_YEAR = 365.25

# Legal status while in custody. A person moves suspect -> defendant -> convicted
# (Russia) or pretrial -> convicted (Ukraine) as the case progresses.
STATUSES = ("convicted", "pretrial", "suspect", "defendant")
STATUS_CODE = {name: code for code, name in enumerate(STATUSES)}
CONVICTED, PRETRIAL, SUSPECT, DEFENDANT = range(4)

# Offence categories, fine enough to express every exclusion in the brief (section 2).
OFFENCES = (
    "theft",  # property crime without violence (UA Art 185)
    "fraud",
    "drug",  # first reported excluded in Ukraine, eligible in practice
    "robbery",
    "assault",  # bodily harm, hooliganism with violence
    "murder_single",  # UA Art 115 part 1: eligible in Ukraine
    "murder_aggravated",  # UA Art 115 part 2: two or more victims, cruelty, with rape
    "sexual",  # UA Arts 152-156-1 against adults; RU sex crimes
    "sexual_minor",  # sexual offences against minors
    "state_security",  # UA Arts 109-114-2 other than treason/espionage; RU constitutional order
    "treason_espionage",  # UA Arts 111, 114; RU treason and espionage
    "terrorism",  # UA Arts 258-258-6; RU terrorism
    "public_security",  # RU crimes against public security (mass riots, extremist groups)
    "smuggling",
    "fatal_drunk_driving",  # UA Art 286-1 part 4
    "corruption_grave",  # especially grave corruption
    "other",
)
OFFENCE_CODE = {name: code for code, name in enumerate(OFFENCES)}

# Violent offences, for `share_violent_among_recruits`.
VIOLENT_OFFENCES = frozenset(
    {
        "robbery",
        "assault",
        "murder_single",
        "murder_aggravated",
        "sexual",
        "sexual_minor",
        "terrorism",
    }
)

SEXES = ("male", "female")

# Mutually exclusive states: everyone who has ever existed is in exactly one of them.
STATES = (
    "incarcerated",  # in custody, not in the recruitment pipeline
    "screening",  # applied; medical, psychological, polygraph, commander checks
    "awaiting_court",  # passed screening; hearing queue, ruling taking effect, training place
    "training",  # contract signed (released to the army), in training
    "deployed",
    "released",  # civilian after an ordinary release at the end of custody
    "dead",
    "veterans",  # civilian after service completed or discharge for wounds
    "awol",  # deserted and at large
    "prisoners_of_war",
)
STATE_CODE = {name: code for code, name in enumerate(STATES)}
(
    INCARCERATED,
    SCREENING,
    AWAITING_COURT,
    TRAINING,
    DEPLOYED,
    RELEASED,
    DEAD,
    VETERANS,
    AWOL,
    PRISONERS_OF_WAR,
) = range(len(STATES))

# Canonical output columns (brief section 3).
STOCK_COLUMNS = ("incarcerated", "eligible", "screening", "awaiting_court", "training", "deployed")
EXTRA_STOCK_COLUMNS = ("released", "dead", "veterans", "awol", "prisoners_of_war", "in_custody")
# The incarcerated stock by legal status and sex (they sum to `incarcerated` every day).
CUSTODY_GROUP_COLUMNS = tuple(
    f"incarcerated_{status}_{sex}" for status in STATUSES for sex in SEXES
)
FLOW_COLUMNS = (
    "admissions",
    "sentence_releases",
    "applications",
    "rejected_screening",
    "rejected_health",  # the part of rejected_screening on health grounds
    "rejected_court",
    "released_to_army",
    "deployed_total",
    "killed",
    "wounded_discharged",
    "deserted",
    "captured",
    "service_completed",
    "returned_to_custody",
    "reoffended",
    # people who come back (issue 12; docs/model.md, "Loops")
    "reapplications",  # applications by people who applied before (part of applications)
    "reenlisted",  # second and later contracts of a person (part of released_to_army)
    "returned_to_duty",  # wounded back in their unit after treatment
    "returned_to_unit",  # deserters back in their unit of their own accord
    "executed",  # caught deserters executed (Wagner)
)
FLOW_CODE = {name: code for code, name in enumerate(FLOW_COLUMNS)}

# Outcomes of deployment, in the order their hazards are listed in a regime.
DEPLOYMENT_HAZARDS = (
    "killed_per_day",
    "wounded_discharged_per_day",
    "deserted_per_day",
    "captured_per_day",
    "award_release_per_day",
    "wounded_returned_per_day",
)
# Deployment outcome -> (state entered, flow counted), in DEPLOYMENT_HAZARDS order; the
# award ends service like its completion; the wounded who return stay deployed.
OUTCOMES = (
    (DEAD, "killed"),
    (VETERANS, "wounded_discharged"),
    (AWOL, "deserted"),
    (PRISONERS_OF_WAR, "captured"),
    (VETERANS, "service_completed"),
    (DEPLOYED, "returned_to_duty"),  # treated, then deployed again (same spell of service)
)
AWARD, WOUNDED_RETURNED = 4, 5  # positions in OUTCOMES
