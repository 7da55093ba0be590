"""What the simulation is about, independent of how it is run.

- `taxonomy`: fixed vocabularies (legal statuses, offences, states, output columns, day codes);
- `distributions`: durations and attributes as inverse CDFs of uniforms;
- `random`: common random numbers, one counter-based stream per decision;
- `population`: the synthetic people, a struct of arrays;
- `rules`: the law, stated once for both engines (eligibility, screening, service terms).

Scenarios (`sim.scenario`) belong here too and will move in once their rewrite settles.
"""
