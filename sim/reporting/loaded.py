"""`sim.load_experiment(dir)`: a batch, sweep or compare directory read back into Python.

Every table at the top of the directory (`*.parquet`, `*.csv`) is loaded under its file's
stem (`runs`, `summary`, `intervals`, `indices`, `point_means`, `comparison`, `matrix`,
`paired_differences`, `offences`, `observation_fit`, by-group tables, ...), and a batch's
`people/` (run with record_people) as one `people` table with `point` and `replicate`
columns; a comparison's
runs live in its `batch/` directory, loaded as `.batch`. `.plot()` draws the report's
figures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..scenario import ScenarioError
from .files import read_manifest


@dataclass
class Experiment:
    """An experiment directory read back: its kind, manifest and tables by name."""

    directory: Path
    kind: str
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    batch: Experiment | None = None  # a comparison's batch (batch/)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in ("runs", "summary") and self.__dict__.get("batch") is not None:
            return getattr(self.batch, name)
        raise AttributeError(
            f"{self.kind} experiment {self.__dict__.get('directory')} has no table {name!r}; "
            f"it has: {', '.join(sorted(tables))}"
        )

    @property
    def failures(self) -> pd.DataFrame:
        """The runs that failed (one row each, with the error); empty when none did."""
        summary = self.summary
        return summary[summary["status"] != "ok"].reset_index(drop=True)

    def plot(self, out_dir: str | Path | None = None) -> list:
        """Draw the report's figures (PNG and SVG) into `out_dir` (default: a new temporary
        directory, so the experiment directory is left as it is).

        Returns:
            One `sim.figures.FigureInfo` per figure (title, caption, png and svg paths).

        Args:
            out_dir: Directory to draw into, or None for a new temporary one.
        """
        from .compare_report import compare_figures
        from .experiment_reports import batch_figures, batch_inputs, sweep_figures

        fig_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp("-figures"))
        if self.kind == "compare":
            return compare_figures(self.directory, self.manifest, fig_dir)
        if self.kind == "sweep":
            return sweep_figures(self.directory, self.manifest, fig_dir)
        return batch_figures(batch_inputs(self.directory, self.manifest), fig_dir)


def _tables(directory: Path) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for path in sorted(directory.iterdir()):
        try:
            if path.suffix == ".parquet" and path.is_file():
                tables[path.stem] = pd.read_parquet(path)
            elif path.suffix == ".csv" and path.is_file():
                tables[path.stem] = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise ScenarioError(path, None, f"cannot read the table: {exc}") from None
    people = sorted((directory / "people").glob("p*-r*.parquet"))
    if people:  # a batch run with record_people: one file per run, combined here
        frames = []
        for path in people:
            point, replicate = path.stem[1:].split("-r")
            frame = pd.read_parquet(path)
            frame.insert(0, "replicate", int(replicate))
            frame.insert(0, "point", int(point))
            frames.append(frame)
        tables["people"] = pd.concat(frames, ignore_index=True)
    return tables


def load_experiment(directory: str | Path) -> Experiment:
    """Read a batch, sweep or compare directory back.

    Args:
        directory: the experiment directory (`--out` of prisonflow batch, sweep or compare).

    Returns:
        An `Experiment`: `.kind`, `.manifest`, `.tables` and each table as an attribute
        (`.runs`, `.summary`, `.intervals` or `.indices`, `.comparison`, ...), `.failures`,
        and for a comparison `.batch`. Raises ScenarioError (one line) when the directory
        is not a finished experiment.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ScenarioError(directory, None, "not a directory")
    manifest = read_manifest(directory)
    batch = load_experiment(directory / "batch") if manifest["kind"] == "compare" else None
    tables = _tables(directory)
    if batch is None and "summary" not in tables:
        raise ScenarioError(directory / "summary.parquet", None, "file not found (unfinished?)")
    return Experiment(directory, manifest["kind"], manifest, tables, batch)
