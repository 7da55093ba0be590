"""What a calibration writes: estimates, particles, fit, a calibrated scenario variant and
its posterior particles file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..scenario import Scenario, load_scenario
from .smc import Calibration, calibrate
from .targets import Targets
from .validation import model_intervals


def write_calibrated_scenario(cal: Calibration, base: Scenario, path: Path, command: str) -> str:
    """A scenario file that extends the base with the fitted values and says how."""
    est = cal.estimates()
    lines = [
        f"# Calibrated variant of {base.name}, written by: {command}",
        f"# ABC-SMC: {cal.runs} runs, {len(cal.tolerances)} rounds, seed {cal.seed}.",
        f'scenario.name = "{path.stem}"',
        f'scenario.extends = "{_extends_name(base)}"',
    ]
    for key, value in cal.point().items():
        lines.append(f"{key} = {value}")
    for p, row in zip(cal.params, est.itertuples(), strict=True):
        informed = "" if row.informed else "; NOT INFORMED by the data (posterior ~ prior)"
        note = (
            f"calibrated: ABC-SMC posterior median, 90% interval [{row.p05:.4g}, {row.p95:.4g}], "
            f"prior [{p.low:g}, {p.high:g}]{informed}; particles in {path.stem}.posterior.csv; "
            f"reproduce with: {command}"
        )
        lines.append(f'sources."{p.key}" = "{note}"')
    for p in cal.params:
        dist = "loguniform" if p.log else "uniform"
        lines.append(
            f'priors."{p.key}" = {{ dist = "{dist}", low = {p.low!r}, high = {p.high!r} }}'
        )
    return "\n".join(lines) + "\n"


def _extends_name(base: Scenario) -> str:
    """A bundled scenario is extended by name; any other by its path."""
    from ..scenario import scenarios_dir

    path = Path(base.source_file)
    return base.name if path.parent.resolve() == scenarios_dir().resolve() else str(path)


def run_calibration(
    scn: Scenario, params, targets: Targets, out: Path, command: str, overwrite=False, **kw
) -> dict:
    """Calibrate, check the fit at the posterior median, and write everything to `out`.

    Args:
        scn: The scenario.
        params (list[Param]): The parameters to fit.
        targets: The observations to fit.
        out: The output directory.
        command: The command line, recorded in the outputs.
        overwrite (bool): Replace the tool's own earlier output.
        **kw (Any): Passed to `calibrate`.

    Returns:
        The estimates, the fit, the number of runs and the calibration, by name.
    """
    cal = calibrate(scn, params, targets, **kw)
    fit = _fit_at_point(scn, cal, targets, kw.get("population"))
    country = (scn, cal, cal.particle_table(), fit, "fit.csv")
    _write(out, overwrite, cal, [country], command, kw.get("particles"), {"scenario": scn.name})
    return {"estimates": cal.estimates(), "fit": fit, "runs": cal.runs, "calibration": cal}


def run_joint_calibration(fit, out: Path, command: str, overwrite=False, **kw) -> dict:
    """Calibrate several countries jointly (`sim.calibration.joint`) and write the joint
    estimates and particles, and per country its fit at the posterior median
    (`fit-<name>.csv`), calibrated variant and posterior particles file.

    Args:
        fit (JointFit): The countries and parameters.
        out: The output directory.
        command: The command line, recorded in the outputs.
        overwrite (bool): Replace the tool's own earlier output.
        **kw (Any): Passed to `calibrate_joint`.

    Returns:
        The estimates, the fits (by country), the number of runs and the calibration.
    """
    from .joint import calibrate_joint, country_calibration, country_particle_table

    cal = calibrate_joint(fit, **kw)
    countries, fits = [], {}
    for c in fit.countries:
        own = country_calibration(cal, c.name)
        fits[c.name] = _fit_at_point(c.scenario, own, c.targets, c.population)
        table = country_particle_table(cal, c.name)
        countries.append((c.scenario, own, table, fits[c.name], f"fit-{c.name}.csv"))
    extra = {
        "scenarios": fit.names,
        "country_weights": {c.name: c.weight for c in fit.countries},
        "populations": {c.name: c.population for c in fit.countries},
        "distance": "sqrt(sum_c w_c d_c^2 / sum_c w_c) over the countries' distances",
    }
    _write(out, overwrite, cal, countries, command, kw.get("particles"), extra)
    return {"estimates": cal.estimates(), "fit": fits, "runs": cal.runs, "calibration": cal}


def _fit_at_point(scn: Scenario, cal: Calibration, targets: Targets, population) -> pd.DataFrame:
    """The model's intervals at the observations, at the posterior median (20 runs)."""
    fitted = load_scenario(scn.source_file, cal.point())
    return model_intervals(fitted, targets, 20, population, cal.seed)


def _write(out, overwrite, cal: Calibration, countries, command, particles, extra) -> None:
    """Write a calibration's files; `countries`: (scenario, its calibration, particles
    file table, fit, fit file name) each."""
    import json

    from ..manifest import environment
    from ..results import AtomicDir

    with AtomicDir(Path(out), overwrite, kind="calibration") as tmp:
        cal.estimates().to_csv(tmp / "estimates.csv", index=False)
        table = pd.DataFrame(cal.particles, columns=[p.key for p in cal.params])
        table["weight"], table["distance"] = cal.weights, cal.distances
        table.to_csv(tmp / "particles.csv", index=False)
        for scn, own, posterior, fit, fit_file in countries:
            fit.to_csv(tmp / fit_file, index=False)
            path = tmp / f"{scn.name}_calibrated.toml"
            path.write_text(write_calibrated_scenario(own, scn, path, command))
            posterior.to_csv(tmp / f"{scn.name}_calibrated.posterior.csv", index=False)
        manifest = {
            "kind": "calibration",
            "command": command,
            **extra,
            "method": "ABC-SMC (population Monte Carlo), one run per particle",
            "particles": particles,
            "rounds": len(cal.tolerances),
            "runs": cal.runs,
            "seed": cal.seed,
            "tolerances": cal.tolerances,
            "history": cal.history,
            **environment(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
