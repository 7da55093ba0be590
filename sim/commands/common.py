"""What every command shares: the typer app, the console, option types (bounds checked
once, by typer), one-line input errors, overrides, and the summary table."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from .. import __version__

if TYPE_CHECKING:  # the scenario module (pydantic, scipy) is imported by commands that run
    from ..scenario import Scenario


class _Group(TyperGroup):
    """typer's group of commands, whose own and whose commands' `--help` options are False
    when not given (through the context's `default_map`). typer 0.29 takes a bool as it
    is but coerces an option's unset value (None) through a pydantic `TypeAdapter`, built
    on first use: `prisonflow scenarios` imported pydantic for its `--help` option alone
    (87 ms of imports), which neither the listing nor the help text needs."""

    def make_context(self, info_name, args, parent=None, **extra):
        """The context of a command line, with the help options' values."""
        helps = {"help": False, **{name: {"help": False} for name in self.commands}}
        extra.setdefault("default_map", helps)
        return super().make_context(info_name, args, parent=parent, **extra)


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Simulate prison-to-army recruitment flows under Ukrainian and Russian rules.",
)
# Wide enough for tables when output goes to a file or pipe (rich would assume 80).
console = Console(width=None if sys.stdout.isatty() else 140)

# Options shared by several commands; bounds are checked here (typer min=), once.
EngineOpt = Annotated[str, typer.Option(help="vector (numpy core) or agents (Mesa).")]
SeedOpt = Annotated[int, typer.Option(min=0, help="Random seed (a whole number >= 0).")]
PopulationOpt = Annotated[
    int | None, typer.Option(min=1, help="Initial population (default: the scenario's).")
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Threads of the pass over the people (default: the usable cores, up to 4); "
        "outputs are the same for any number.",
    ),
]
DaysOpt = Annotated[
    int | None,
    typer.Option(min=1, help="Days to simulate (default: to the scenario's end_date)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario key: dotted.key=value (repeatable)."),
]


OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace --out if it holds earlier prisonflow output (never other files).",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Run even if the run is estimated not to fit in memory."),
]
RecordPeopleOpt = Annotated[
    bool,
    typer.Option(
        "--record-people",
        help="Also write the per-person events (run: people.parquet; batch: people/, one file "
        "per run): one row per person who applied, with the days of application, contract, "
        "deployment and exit and the outcome (vector engine).",
    ),
]
ExtendOpt = Annotated[
    bool,
    typer.Option("--extend", help="Allow --days to run past the scenario's end_date."),
]


class UsageError(Exception):
    """Bad command-line input (reported as one line, exit 2)."""


def fail(message: str) -> NoReturn:
    """Report an input error on one line and exit with status 2."""
    print(f"prisonflow: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def parse_overrides(pairs: list[str] | None) -> dict:
    """Parse `--set key=value` options into overrides of scenario keys.

    Args:
        pairs: The `key=value` strings given, or None.

    Returns:
        The values by dotted key.

    Raises:
        UsageError: If a pair has no `=` or an empty key.
    """
    from ..scenario import parse_value

    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--set {pair!r}: expected key=value, e.g. scenario.end_date=2025-01-31"
            )
        out[key.strip()] = parse_value(value.strip())
    return out


def warn(message: str) -> None:
    """Print a prisonflow warning on stderr, keeping stdout for results.

    Args:
        message: The warning text.
    """
    print(f"prisonflow: warning: {message}", file=sys.stderr)


def warn_if_extended(scn: Scenario, days: int | None) -> None:
    """Warn when `--extend` runs past the scenario's end date, where open regimes keep
    recruiting.

    Args:
        scn: The scenario run.
        days: Number of days to run, or None for the scenario's own horizon.
    """
    if days is not None and days > scn.n_days:
        last = scn.scenario.start_date + dt.timedelta(days=days - 1)
        warn(
            f"--extend: running {days} days to {last}, past the scenario's end_date "
            f"{scn.scenario.end_date}; regimes without an end date keep recruiting"
        )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"prisonflow {__version__}")
        raise typer.Exit(0)


def _wide(con: Console) -> Console:
    """Wide tables stay readable when stdout is a file or a pipe (rich assumes 80 columns)."""
    return con if con.is_terminal else Console(width=max(con.width, 200))


WORKERS_HELP = "Worker processes (default: one per CPU; 1 runs in this process, no pool)."
WorkersOpt = Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)]
FixedParametersOpt = Annotated[
    bool,
    typer.Option(
        "--fixed-parameters",
        help="Keep every parameter at the scenario's value (seed-only intervals); by "
        "default each pair of replicates draws one parameter set from the scenario's priors "
        "and posterior files (posterior-predictive).",
    ),
]
