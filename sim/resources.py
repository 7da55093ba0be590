"""Resource guard: estimate a run's memory before starting it and refuse what cannot fit.

A run needs about `BYTES_PER_AGENT[engine]` bytes per person it simulates (the initial stock
plus everyone admitted over the horizon). That is compared with the memory the machine has
available now (`/proc/meminfo` MemAvailable, a cgroup limit if lower, else sysconf); a run
that cannot fit is refused with `ResourceError` before anything is allocated.
"""

from __future__ import annotations

import os
from pathlib import Path

from .scenario import Scenario, ScenarioError

# Peak bytes per simulated person (initial stock plus admissions), measured on 2026-11-23
# (Python 3.11, numpy 2.4, Mesa 3) with this snippet, ENGINE N DAYS NAME as below:
#   import sys, tracemalloc, sim
#   engine, n, days, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
#   scn = sim.load_scenario(name)
#   sim.run(scn, engine=engine, population=200, days=10)  # warm up imports and caches
#   tracemalloc.start()
#   r = sim.run(scn, engine=engine, population=n, days=days)
#   print(tracemalloc.get_traced_memory()[1] / r.n_agents)
# The vector engine holds a block of people and the applicants (`vector.apply`), each
# applicant's pipeline state in int32 or smaller, the recruits table in parts. Measured
# again on 2026-11-23 after that work (numba 0.68 kernels allocate outside tracemalloc, so
# these figures leave out their draws):
# vector 1000000 1096 russia_2022_2025: 49.3 (fixed costs still dominate: a peak of
# about 98 MB);
# vector 3000000 1096 russia_2022_2025: 21.7; vector 1000000 549 russia_wagner_2022 (a
# warm-up, held whole): 40.9; vector 100000 1096 russia_2022_2025: 358. `prisonflow
# bench`'s resident-memory figure (numba's arrays included; peak less the resident memory
# after a warm-up) at 10^7 people, 1,095 days: 15.1-16.7 bytes a person, admissions
# included; at 10^8: 9.2 (a peak of 1.94 GiB, the process included), measured on
# 2026-11-23 once freed memory is given back between stages (`engines.memory`) and the
# applicants, cohorts and recruits' parts are let go as they are used. agents 10000 365:
# 2,698; agents 30000 365: 2,662. The guard uses the large-run figures rounded up, the
# warm-up's whole population included: they are what matters near the limit.
BYTES_PER_AGENT = {"vector": 50, "agents": 3000}


class ResourceError(ScenarioError):
    """A run would need more memory than the machine has available (one line, exit 2)."""


def people_in_run(scenario: Scenario, population: int | None, n_days: int) -> int:
    """Everyone a run simulates: the initial stock plus the expected admissions."""
    p = scenario.population
    initial = p.initial_size if population is None else int(population)
    return initial + int(p.admissions_per_day * initial / p.initial_size * n_days)


def estimate_bytes(scenario: Scenario, engine: str, population: int | None, n_days: int) -> int:
    """Estimated peak memory of one run, in bytes."""
    return BYTES_PER_AGENT[engine] * people_in_run(scenario, population, n_days)


def _cgroup_available() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


def available_bytes() -> int | None:
    """Memory available to a new run now (None if it cannot be told)."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = _cgroup_available()
    if cgroup is not None:
        found.append(cgroup)
    return min(found) if found else None


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_memory(scenario: Scenario, engine: str, population: int | None, n_days: int) -> None:
    """Raise ResourceError (key `population`) if the run cannot fit in available memory."""
    need = estimate_bytes(scenario, engine, population, n_days)
    have = available_bytes()
    if have is None or need <= have:
        return
    people = people_in_run(scenario, population, n_days)
    raise ResourceError(
        scenario.source_file or scenario.name,
        "population",
        f"{people:,} people over {n_days} days need about {_gib(need)} with the {engine} "
        f"engine, more than the {_gib(have)} available; allowed: a smaller population, "
        "or --force (force=True) to try anyway",
    )
