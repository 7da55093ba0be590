"""Calibration and validation against observed data.

Calibration is approximate Bayesian computation with a sequence of tolerances (ABC-SMC,
`smc`); observations become `targets` with a qualifier-aware distance; `validation`
gives the model's intervals at the observations; `files` writes a calibration's outputs;
`joint` fits several countries at once (shared and per-country keys).
"""

from .files import run_calibration, run_joint_calibration, write_calibrated_scenario
from .params import Param, parse_param
from .smc import NOT_INFORMED_WIDTH, Calibration, calibrate
from .targets import (
    KIND_WEIGHTS,
    QUALIFIERS,
    Targets,
    is_count,
    population_ratio,
    scale_note,
    targets_for,
)
from .validation import ABOUT_TOLERANCE, inside, model_intervals, validate, write_validation

__all__ = [
    "ABOUT_TOLERANCE",
    "KIND_WEIGHTS",
    "NOT_INFORMED_WIDTH",
    "QUALIFIERS",
    "Calibration",
    "Param",
    "Targets",
    "calibrate",
    "inside",
    "is_count",
    "model_intervals",
    "parse_param",
    "population_ratio",
    "run_calibration",
    "run_joint_calibration",
    "scale_note",
    "targets_for",
    "validate",
    "write_calibrated_scenario",
    "write_validation",
]
