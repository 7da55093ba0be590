"""Who is recruited follows from the joint attributes (issue 12 acceptance).

Sentences depend on the offence, so a remaining-sentence limit screens out long sentences,
mostly for violent crimes: on Ukraine's population, with common random numbers over
replicates (same seeds under both rules), the violent share among recruits is lower under
the 3-year limit than with no limit.
"""

from __future__ import annotations

import sim
from sim.model.taxonomy import VIOLENT_OFFENCES

LIMIT_KEY = "regimes.UA_2024.max_remaining_sentence_days"
NO_LIMIT_DAYS = 10**6  # longer than any sentence: no limit in effect
SEEDS = range(5)


def violent_share(result) -> tuple[float, int]:
    """Share of recruits convicted of a violent offence, and the number of recruits."""
    by_offence = result.recruits_by_offence
    total = sum(by_offence.values())
    violent = sum(n for offence, n in by_offence.items() if offence in VIOLENT_OFFENCES)
    return violent / max(total, 1), total


def test_violent_share_among_recruits_is_lower_under_the_3_year_limit():
    three_years = sim.load_scenario("ukraine_2024")
    assert three_years.regimes["UA_2024"].max_remaining_sentence_days == 1096
    no_limit = sim.load_scenario("ukraine_2024", {LIMIT_KEY: NO_LIMIT_DAYS})
    gaps = []
    for seed in SEEDS:
        limited, n_limited = violent_share(sim.run(three_years, seed=seed, population=10_000))
        unlimited, n_unlimited = violent_share(sim.run(no_limit, seed=seed, population=10_000))
        assert n_limited > 1_000 and n_unlimited > n_limited  # the limit binds
        assert limited < unlimited, (seed, limited, unlimited)
        gaps.append(unlimited - limited)
    assert sum(gaps) / len(gaps) > 0.01
