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
    import json

    from ..manifest import environment
    from ..results import AtomicDir

    cal = calibrate(scn, params, targets, **kw)
    fitted = load_scenario(scn.source_file, cal.point())
    fit = model_intervals(fitted, targets, 20, kw.get("population"), cal.seed)
    estimates = cal.estimates()
    with AtomicDir(Path(out), overwrite, kind="calibration") as tmp:
        estimates.to_csv(tmp / "estimates.csv", index=False)
        cols = [p.key for p in params]
        particles = pd.DataFrame(cal.particles, columns=cols)
        particles["weight"], particles["distance"] = cal.weights, cal.distances
        particles.to_csv(tmp / "particles.csv", index=False)
        fit.to_csv(tmp / "fit.csv", index=False)
        path = tmp / f"{scn.name}_calibrated.toml"
        path.write_text(write_calibrated_scenario(cal, scn, path, command))
        cal.particle_table().to_csv(tmp / f"{scn.name}_calibrated.posterior.csv", index=False)
        manifest = {
            "kind": "calibration",
            "command": command,
            "scenario": scn.name,
            "method": "ABC-SMC (population Monte Carlo), one run per particle",
            "particles": kw.get("particles"),
            "rounds": len(cal.tolerances),
            "runs": cal.runs,
            "seed": cal.seed,
            "tolerances": cal.tolerances,
            "history": cal.history,
            **environment(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return {"estimates": estimates, "fit": fit, "runs": cal.runs, "calibration": cal}
