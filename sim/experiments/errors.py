"""What can stop an experiment, as exceptions the CLI maps to exit codes (2, 130, 1)."""

from __future__ import annotations

import signal
from pathlib import Path

from ..scenario import ScenarioError


class SpecError(ScenarioError):
    """A sweep spec (or experiment input) is invalid: one line, file: key: message."""


class ExperimentInterrupted(Exception):
    """SIGINT or SIGTERM stopped the experiment; finished parts are kept for `resume`."""

    def __init__(self, out_dir: Path, done: int, total: int, signum: int, entropy: int):
        self.out_dir, self.done, self.total, self.signum = out_dir, done, total, int(signum)
        self.entropy = entropy
        name = signal.Signals(signum).name
        super().__init__(f"interrupted ({name}): {done} of {total} runs stored in {out_dir}/parts")


class ExperimentAborted(RuntimeError):
    """The executor broke (a worker process died) or a part could not be written; the
    parts already stored are kept for `resume`."""

    def __init__(self, message: str, out_dir: Path | None = None, entropy: int | None = None):
        self.out_dir, self.entropy = out_dir, entropy
        super().__init__(message)
