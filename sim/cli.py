"""Command-line interface (`prisonflow`, or `python -m sim`): a thin layer over the library.

Every input error ends the program with exit status 2 and one line on stderr naming the
file, the key and what is allowed; no traceback, and nothing half-written on disk. The
commands live in `sim.commands` (one module per family); this module registers them and
is the console-script entry point.
"""

from __future__ import annotations

import sys

import typer

# Importing the command modules registers their commands, in this order in --help.
from .commands import run, experiments, calibration, tools  # noqa: F401  # isort: skip
from .commands.common import (
    UsageError,
    app,
)


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """click's (ClickException, Abort) classes as typer raises them: typer >= 0.2x ships
    its own copy of click (`typer._click`), whose exceptions `click.exceptions` misses."""
    import click

    clicks: set[type] = {click.exceptions.ClickException}
    clicks |= {c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"}
    aborts: set[type] = {click.exceptions.Abort, typer.Abort}
    return tuple(clicks), tuple(aborts)


def _is_input_error(exc: Exception) -> bool:
    """A UsageError or a ScenarioError (whose module is only loaded once a command needs
    scenarios: if it is not loaded, no ScenarioError can have been raised)."""
    scenario = sys.modules.get("sim.scenario")
    return isinstance(exc, UsageError) or (
        scenario is not None and isinstance(exc, scenario.ScenarioError)
    )


def main() -> None:
    """Console-script entry point: usage errors exit 2 with one line, never a traceback."""
    click_errors, aborts = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except click_errors as exc:
        message = " ".join(getattr(exc, "format_message", str)().split())
        if message:  # empty when bare `prisonflow` has just printed the help
            print(f"prisonflow: error: {message}", file=sys.stderr)
        code = 2
    except aborts:
        code = 130
    except Exception as exc:
        if not _is_input_error(exc):
            raise
        print(f"prisonflow: error: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code if isinstance(code, int) else 0)
