"""War end (issue 11): no regime recruits on or after `war_end_date`, and service "until
the war ends" ends then (plus `demobilisation_delay_days`). Both engines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import sim

WAR_END = pd.Timestamp(2024, 9, 15)  # day 120 of ukraine_2024
DELAY_DAYS = 10


@pytest.fixture(scope="module", params=sim.ENGINES)
def war_ends(request):
    overrides = {
        "scenario.war_end_date": WAR_END.date(),
        "scenario.demobilisation_delay_days": DELAY_DAYS,
    }
    scenario = sim.load_scenario("ukraine_2024", overrides)
    ts = sim.run(scenario, engine=request.param, seed=3, population=1500, days=200).timeseries
    return ts.set_index(pd.to_datetime(ts["date"]))


def test_nobody_is_released_to_the_army_after_the_war_ends(war_ends):
    before = war_ends.loc[: WAR_END - dt.timedelta(days=1)]
    after = war_ends.loc[WAR_END:]
    assert before["released_to_army"].iloc[-1] > 0  # the check can fail
    assert (after["released_to_army"] == before["released_to_army"].iloc[-1]).all()
    assert (after["applications"] == before["applications"].iloc[-1]).all()
    assert (after["eligible"] == 0).all()


def test_service_until_the_war_ends_ends_at_demobilisation(war_ends):
    demobilised = WAR_END + dt.timedelta(days=DELAY_DAYS)
    assert war_ends.loc[: demobilised - dt.timedelta(days=1), "deployed"].max() > 0
    served = war_ends.loc[demobilised:]
    assert (served["deployed"] == 0).all() and (served["training"] == 0).all()
    assert served["service_completed"].iloc[0] > 0


def test_the_pipeline_empties_back_into_custody(war_ends):
    """Applicants still in screening or awaiting approval at war end sign nothing."""
    late = war_ends.loc[WAR_END + dt.timedelta(days=40) :]
    assert (late["screening"] == 0).all() and (late["awaiting_court"] == 0).all()
