"""Refit both bundled calibrations jointly and install the result beside the scenarios.

`prisonflow refit` runs the joint calibration (`sim.calibration.joint`) of ukraine_2024
and russia_2022_2025 on `KEYS` (the shared response coefficients, each country's
baseline and campaigns, the front-line hazards the data speak to), writes its usual
outputs, then installs it in scenarios/:

- each country's posterior particles as `<scenario>.posterior.csv` beside its scenario
  file (shared keys plain, its own keys prefixed with its name; sim.uncertainty);
- in the file that defines each key (the nearest in the scenario's `extends` chain; for
  shared keys scenarios/base/volunteering.toml): the value set to the posterior median,
  its `[sources]` note (median, 90% interval, prior, command) and its `[priors]` range.

Scenario files are edited line by line, keeping every comment: a key must be written as
`leaf = number` under its table's header (`[population.volunteering]`), else the refit
stops before writing anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..scenario import Scenario, ScenarioError
from .joint import Country, JointFit, country_calibration, country_particle_table, split_key
from .smc import Calibration

UA, RU = "ukraine_2024", "russia_2022_2025"
BEFORE = "; before this fit: "  # the source a calibrated value had, kept in its note
# Run populations: Ukraine at real scale; Russia at about a fifth (its counts scaled).
POPULATIONS = {UA: None, RU: 100_000}
KEYS = [
    # shared response coefficients (ranges: their sources in scenarios/base/volunteering.toml)
    "population.volunteering.custody=0:1",
    "population.volunteering.release=0:2",
    "population.volunteering.service=0:1.5",
    "population.volunteering.pay=0:1",
    "population.volunteering.leave=0:1",
    "population.volunteering.risk=0:3",
    # Ukraine: baseline, launch campaign, court capacity, fitness, motivation spread
    f"{UA}:population.volunteering.baseline_per_day=0.0005:0.012",
    f"{UA}:population.campaigns.UA_LAUNCH.boost=20:500",
    f"{UA}:population.campaigns.UA_LAUNCH.decay_days=1:10",
    f"{UA}:regimes.UA_2024.approval_capacity_per_day=40:200",
    f"{UA}:regimes.UA_2024.min_fitness=0:0.1",
    f"{UA}:population.motivation_sigma=0.8:2.5",
    # Russia: baseline, the campaigns' intensities (Storm-V's 1.0 is the reference), Wagner
    f"{RU}:population.volunteering.baseline_per_day=0.00003:0.001",
    f"{RU}:population.campaigns.WAGNER_TOURS.intensity=0.3:10",
    f"{RU}:population.campaigns.STORMZ_DRIVE.intensity=0.1:5",
    f"{RU}:population.campaigns.SUSPECTS_DRIVE.intensity=0.3:10",
    f"{RU}:population.campaigns.DEFENDANTS_DRIVE.intensity=0.3:20",
    f"{RU}:regimes.RU_WAGNER.killed_per_day=0.0005:0.004",
]


def refit_fit(observations=None, population: int | None = None) -> JointFit:
    """The joint fit of the bundled calibrations (`population`: every country's, else
    POPULATIONS).

    Args:
        observations (str | os.PathLike | None): Observations file, or None for the bundled.
        population: Run population of every country, or None for POPULATIONS.

    Returns:
        The fit.
    """
    from ..scenario import load_scenario
    from .joint import parse_joint_param
    from .targets import targets_for

    scns = {n: load_scenario(n) for n in (UA, RU)}
    countries = []
    for name, scn in scns.items():
        pop = population if population is not None else POPULATIONS[name]
        countries.append(Country(scn, targets_for(scn, observations, True, pop), pop))
    return JointFit(countries, [parse_joint_param(k, scns) for k in KEYS])


def install(cal: Calibration, fit: JointFit, command: str) -> list[Path]:
    """Write the posterior files and the medians, sources and priors into scenarios/.

    Args:
        cal: The joint calibration.
        fit: Its countries and parameters.
        command: The command line, recorded in the sources.

    Returns:
        The files written.
    """
    from ..uncertainty import posterior_path

    edits: dict[Path, list[str]] = {}
    posteriors = {}
    names = [posterior_path(c.scenario.source_file).name for c in fit.countries]
    shared = {p.key for p in fit.params if split_key(p.key)[0] is None}
    for country in fit.countries:
        own = country_calibration(cal, country.name)
        est = own.estimates().set_index("parameter")
        for param, value in zip(own.params, own.point().values(), strict=True):
            path = defining_file(country.scenario, param.key)
            lines = edits.setdefault(path, path.read_text().splitlines())
            row = est.loc[param.key]
            post = (
                " and ".join(n for n in names)
                if param.key in shared
                else posterior_path(country.scenario.source_file).name
            )
            informed = "" if row.informed else "; NOT INFORMED by the data (posterior ~ prior)"
            note = (
                f"calibrated jointly with both countries (ABC-SMC, docs/validation.md): "
                f"posterior median, 90% interval [{row.p05:.4g}, {row.p95:.4g}], prior "
                f"[{param.low:g}, {param.high:g}]{informed}; particles in {post}; "
                f"reproduce with: {command}"
            )
            dist = "loguniform" if param.log else "uniform"
            set_value(lines, path, param.key, value)
            before = (get_entry(lines, "sources", param.key) or "").strip('"')
            if before.startswith("calibrated jointly"):  # an earlier refit: keep its citations
                before = before.partition(BEFORE)[2]
            note += f"{BEFORE}{before}" if before else ""
            set_entry(lines, "sources", param.key, f'"{note}"')
            set_entry(lines, "priors", param.key, f'{{ dist = "{dist}", low = {param.low!r}, '
                      f"high = {param.high!r} }}")  # fmt: skip
        posteriors[posterior_path(country.scenario.source_file)] = country_particle_table(
            cal, country.name
        )
    for path, lines in edits.items():
        path.write_text("\n".join(lines) + "\n")
    for path, table in posteriors.items():
        table.to_csv(path, index=False)
    return [*edits, *posteriors]


def defining_file(scn: Scenario, key: str) -> Path:
    """The nearest file of the scenario's `extends` chain that sets `key` itself."""
    from ..scenario import _read_toml
    from ..uncertainty import scenario_files

    for path in scenario_files(scn):
        node: Any = _read_toml(path)
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return path
    raise ScenarioError(scn.source_file, key, "no file of the scenario sets this key")


def _tables(lines: list[str]) -> list[tuple[str, int, int]]:
    """(table name, first line, end line) of each `[table]` of a TOML file ("" before)."""
    heads = [(m.group(1).strip(), i) for i, line in enumerate(lines)
             if (m := re.match(r"^\[([^\[\]]+)\]\s*(#.*)?$", line))]  # fmt: skip
    starts = [("", -1), *heads]
    return [
        (name, i + 1, starts[j + 1][1] if j + 1 < len(starts) else len(lines))
        for j, (name, i) in enumerate(starts)
    ]


def set_value(lines: list[str], path: Path, key: str, value) -> None:
    """Set `leaf = number` under the table of `key` (in place)."""
    table, _, leaf = key.rpartition(".")
    for name, start, end in _tables(lines):
        if name != table:
            continue
        for i in range(start, end):
            m = re.match(rf"^(\s*{re.escape(leaf)}\s*=\s*)[-+0-9.eE]+(\s*(#.*)?)$", lines[i])
            if m:
                lines[i] = f"{m.group(1)}{value}{m.group(2)}"
                return
    raise ScenarioError(path, key, "not written as `leaf = number` under its table's header")


def get_entry(lines: list[str], table: str, key: str) -> str | None:
    """The text after `"key" = ` in `[table]`, or None."""
    for name, start, end in _tables(lines):
        for i in range(start, end) if name == table else ():
            if lines[i].startswith(f'"{key}" = '):
                return lines[i][len(f'"{key}" = ') :]
    return None


def set_entry(lines: list[str], table: str, key: str, text: str) -> None:
    """Set `"key" = text` in `[table]` (in place), adding the line, or the table at the end."""
    entry = f'"{key}" = {text}'
    for name, start, end in _tables(lines):
        if name != table:
            continue
        for i in range(start, end):
            if lines[i].startswith(f'"{key}" ='):
                lines[i] = entry
                return
        last = end
        while last > start and not lines[last - 1].strip():
            last -= 1
        lines.insert(last, entry)
        return
    lines.extend(["", f"[{table}]", entry])
