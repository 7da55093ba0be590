"""The fixed vocabularies are consistent, and what groups them covers them."""

from __future__ import annotations

from collections import Counter

from sim.figures import OFFENCE_GROUPS
from sim.model.taxonomy import (
    DEPLOYMENT_HAZARDS,
    FLOW_COLUMNS,
    OFFENCES,
    OUTCOMES,
    STATES,
    VIOLENT_OFFENCES,
)


def test_figures_offence_groups_cover_every_offence_once():
    """An offence missing from the groups would silently drop out of the offence charts."""
    members = Counter(m for _label, group, _colour in OFFENCE_GROUPS for m in group)
    assert set(members) == set(OFFENCES)
    assert max(members.values()) == 1


def test_outcomes_follow_the_deployment_hazards():
    assert len(OUTCOMES) == len(DEPLOYMENT_HAZARDS)
    for (state, flow), hazard in zip(OUTCOMES, DEPLOYMENT_HAZARDS, strict=True):
        assert 0 <= state < len(STATES) and flow in FLOW_COLUMNS
        assert hazard.endswith("_per_day")


def test_violent_offences_are_offences():
    assert VIOLENT_OFFENCES <= set(OFFENCES)
