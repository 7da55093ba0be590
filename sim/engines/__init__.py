"""How a scenario is run: two engines over the same model and the same law.

- `vector`: the default engine, every person's path as event days, stage by stage;
- `ledger`: the vector engine's record of transitions and flows, and the per-person log;
- `threads`: the vector engine's pass over the people, a block per thread;
- `queues`: capacity-limited stages (court hearings, training places) over whole days;
- `mesa_model`, `mesa_agents`: the Mesa engine, stepping one day at a time;
- `agreement`: the statistical cross-check of the two engines.
"""
