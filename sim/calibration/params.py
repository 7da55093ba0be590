"""Parameters to fit: a dotted scenario key and its uniform (or log-uniform) prior range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario import Scenario, ScenarioError, load_scenario


@dataclass(frozen=True)
class Param:
    """A parameter to fit: a dotted scenario key and its prior range (uniform)."""

    key: str
    low: float
    high: float
    log: bool = False  # uniform on the log scale
    integer: bool = False

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points in [0, 1] onto the prior range (log-uniform if `log`, rounded if `integer`).

        Args:
            u: Values in the unit interval.

        Returns:
            The parameter values.
        """
        if self.log:
            x = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return np.rint(x) if self.integer else x

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map parameter values back onto [0, 1]; the inverse of `from_unit` (before rounding).

        Args:
            x: Parameter values within the prior range.

        Returns:
            The values on the unit scale.
        """
        if self.log:
            return (np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low))
        return (x - self.low) / (self.high - self.low)


def _current_value(scn: Scenario, key: str):
    node = scn.model_dump()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(scn.source_file, key, "is not a key of the scenario")
        node = node[part]
    return node


def parse_param(text: str, scn: Scenario) -> Param:
    """`key=low:high`, or `key` alone for a range of a third to three times its value."""
    key, sep, rng = text.partition("=")
    key = key.strip()
    current = _current_value(scn, key)
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ScenarioError(scn.source_file, key, "calibration needs a numeric parameter")
    if sep:
        lo_text, colon, hi_text = rng.partition(":")
        try:
            low, high = float(lo_text), float(hi_text)
        except ValueError:
            raise ScenarioError(
                "--params", key, f"range must be low:high numbers, got {rng!r}"
            ) from None
        if not colon or not low < high:
            raise ScenarioError(
                "--params", key, f"range must be low:high with low < high, got {rng!r}"
            )
    else:
        if current <= 0:
            raise ScenarioError(
                "--params", key, "give a range key=low:high (value is not positive)"
            )
        low, high = current / 3, current * 3
    integer = isinstance(current, int)
    for bound in (low, high):  # the bounds must themselves make a valid scenario
        try:
            load_scenario(scn.source_file, {key: int(round(bound)) if integer else bound})
        except ScenarioError as exc:
            raise ScenarioError(
                "--params", key, f"bound {bound:g} is invalid: {exc.message}"
            ) from None
    return Param(key, low, high, log=low > 0 and high / low >= 10, integer=integer)
