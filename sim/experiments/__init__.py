"""Experiments: many runs of the model, as `concurrent.futures` tasks, stored as they finish.

Two kinds share one template (`template.Experiment`), and `sim.compare` runs a batch:

- a **batch** runs each of several scenarios R times (`prisonflow batch`, `sim.batch`) and
  reports every summary metric with its mean, median and 95% interval over replicates;
- a **sweep** runs a design over scenario parameters read from a TOML spec (`prisonflow
  sweep`, `sim.sweep`): a grid, a Latin hypercube, or a Sobol or Morris design, and reports
  sensitivity indices (SALib) per output.

Modules, one concept each: `tasks` (a run and its seeds), `executors` (in-process, process
pool, Dask; signals; parent-death watch), `store` (parts and resume), `directory` (the
experiment directory and manifest), `runner`, `template`, `batch`, `spec` (sweep specs),
`designs` (one class per design method), `sensitivity`, `sweep`, `stats` (intervals) and
`tables` (console presentation).

Store (one directory per experiment)::

    manifest.json        what was run (design, entropy, seeds, argv, versions, git commit)
    parts/               one file per run (see sim.experiments.store)
    runs.parquet         every run's daily table, long format, ordered (point, replicate, day)
    summary.parquet      one row per run: status, error, parameter values, summary metrics,
                         recruits by offence (recruits_offence_<offence>)
    failures.csv         (when runs failed) point, scenario, replicate, seed, error
    intervals.csv        (batch) mean, median, 2.5th and 97.5th percentile per metric
    indices.csv          (sweep) output, parameter, index, value, conf
    point_means.csv      (sweep) mean of each output per design point
"""

from __future__ import annotations

from .batch import Batch, batch, intervals
from .designs import METHODS, METHODS_BY_NAME, Design, Method, design_size, make_design
from .directory import check_out_dir
from .errors import ExperimentAborted, ExperimentInterrupted, SpecError
from .executors import KeptExecutor, machine_workers, open_executor
from .sensitivity import analyze, noise_share, point_means
from .spec import PARAM_KEYS, SPEC_KEYS, Parameter, SweepSpec, load_spec
from .store import PART_META, collect, finished_keys, write_part
from .sweep import Sweep, sweep
from .tables import indices_table, intervals_table, points_table
from .tasks import (
    ENGINES,
    OFFENCE_COLUMNS,
    SUMMARY_METRICS,
    Task,
    design_seed,
    new_entropy,
    replicate_seeds,
    run_task,
)
from .template import Experiment, ExperimentResult

__all__ = [
    "ENGINES",
    "METHODS",
    "METHODS_BY_NAME",
    "OFFENCE_COLUMNS",
    "PARAM_KEYS",
    "PART_META",
    "SPEC_KEYS",
    "SUMMARY_METRICS",
    "Batch",
    "Design",
    "Experiment",
    "KeptExecutor",
    "ExperimentAborted",
    "ExperimentInterrupted",
    "ExperimentResult",
    "Method",
    "Parameter",
    "SpecError",
    "Sweep",
    "SweepSpec",
    "Task",
    "analyze",
    "batch",
    "check_out_dir",
    "collect",
    "design_seed",
    "design_size",
    "finished_keys",
    "indices_table",
    "intervals",
    "intervals_table",
    "load_spec",
    "machine_workers",
    "make_design",
    "new_entropy",
    "noise_share",
    "open_executor",
    "point_means",
    "points_table",
    "replicate_seeds",
    "run_task",
    "sweep",
    "write_part",
]
