"""Test helpers for by-group outputs: synthetic `Result.recruits` frames with exactly the
engines' columns and dtypes (`sim.results.recruits_frame`), for consumers of the table
that need cases the engines rarely produce (an outcome such as executed, third
enlistments, every band), and a quick small batch."""

from __future__ import annotations

import numpy as np

import sim
from sim.model.taxonomy import OFFENCES
from sim.results import recruits_frame as canonical

OUTCOME_CHOICES = (
    "",
    "killed",
    "deserted",
    "wounded_discharged",
    "captured",
    "service_completed",
    "executed",
)


def recruits_frame(n: int = 500, regimes=("R_A", "R_B"), seed: int = 0, days: int = 400):
    """`n` enlistments spread over `regimes`, with every column of the contract."""
    rng = np.random.default_rng(seed)
    status = rng.choice(["convicted", "convicted", "pretrial", "defendant"], n)
    sentence = rng.choice([0.5, 2.0, 4.0, 8.0, 15.0, np.inf], n).astype(np.float32)
    sentence = np.where(status == "convicted", sentence, 0).astype(np.float32)
    left = np.where(
        status == "convicted",
        np.minimum(sentence * 365.25 * rng.uniform(0.1, 1, n), 60 * 365),
        -1,
    ).astype(np.int32)
    application = rng.integers(0, days // 2, n).astype(np.int32)
    contract = np.where(rng.random(n) < 0.9, application + rng.integers(5, 40, n), -1)
    deploy = np.where((contract >= 0) & (rng.random(n) < 0.8), contract + 30, -1)
    outcome = np.where(deploy >= 0, rng.choice(OUTCOME_CHOICES, n), "")
    exit_day = np.where(outcome != "", deploy + rng.integers(1, 60, n), -1)
    back = np.where(
        np.isin(outcome, ["deserted", "service_completed"]) & (rng.random(n) < 0.3),
        exit_day + 20,
        -1,
    )
    return canonical(
        {
            "person": np.arange(n, dtype=np.int64),
            "regime": rng.choice(list(regimes), n),
            "enlistment": rng.choice([1, 1, 1, 2, 3, 4], n).astype(np.int8),
            "status": status,
            "offence": rng.choice(OFFENCES, n),
            "male": rng.random(n) < 0.9,
            "age_years": rng.uniform(18, 70, n).astype(np.float32),
            "sentence_years": sentence,
            "remaining_sentence_days": left,
            "application_day": application,
            "contract_day": contract.astype(np.int32),
            "deploy_day": deploy.astype(np.int32),
            "exit_day": exit_day.astype(np.int32),
            "outcome": outcome,
            "returned_to_custody_day": back.astype(np.int32),
        }
    )


def small_batch(out, *, replicates: int = 2, entropy: int = 4):
    """A quick `sim.batch` of ukraine_2024 (2,000 people, 200 days, in this process)."""
    return sim.batch(
        "ukraine_2024",
        replicates=replicates,
        population=2000,
        days=200,
        workers=1,
        entropy=entropy,
        out=out,
        fixed_parameters=True,
    )
