"""Calibration through the experiment runner: workers and resume give the same posterior."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

import sim
from sim.calibration import calibrate, parse_param, targets_for
from sim.calibration_rounds import RoundRunner, rounds_dir

POP = 3000
KEY = "regimes.UA_2024.approval_capacity_per_day=40:200"


def setup():
    scn = sim.load_scenario("ukraine_2024")
    targets = targets_for(scn, fitting=True, population=POP)
    return scn, targets, [parse_param(KEY, scn)]


def fit(scn, targets, params, rounds, simulate=None):
    return calibrate(
        scn,
        params,
        targets,
        particles=12,
        rounds=rounds,
        seed=5,
        population=POP,
        simulate=simulate,
    )


def workers_gone(seconds: float = 30.0) -> bool:
    """Whether this process's worker processes have all ended within `seconds`: workers
    stopped at once are sent SIGTERM and joined for a while, and on a loaded machine one
    may take longer to go (it must go, though)."""
    deadline = time.monotonic() + seconds
    while multiprocessing.active_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def same(a, b) -> bool:
    return np.array_equal(a.particles, b.particles) and np.array_equal(a.weights, b.weights)


def test_one_or_two_workers_and_a_resumed_run_give_the_same_posterior(tmp_path):
    scn, targets, params = setup()
    plain = fit(scn, targets, params, 2)
    two = fit(
        scn,
        targets,
        params,
        2,
        RoundRunner(scn, targets, tmp_path / "w2", seed=5, population=POP, workers=2),
    )
    assert same(plain, two)
    # every round on one kept pool of workers, stopped on leaving the block
    assert not multiprocessing.active_children()
    with RoundRunner(scn, targets, tmp_path / "k", seed=5, population=POP, workers=2) as kept:
        assert same(plain, fit(scn, targets, params, 2, kept))
        assert kept.kept is not None and kept.kept.opened == 1
        assert len(multiprocessing.active_children()) == 2
    assert not multiprocessing.active_children() and kept.kept is None
    # interrupted after round 0, some of whose runs were lost: resume runs only the rest
    parts = tmp_path / "r"
    fit(
        scn, targets, params, 1, RoundRunner(scn, targets, parts, seed=5, population=POP, workers=1)
    )
    stored = sorted((parts / "round-0" / "parts").glob("*.parquet"))
    for part in stored[::2]:
        part.unlink()
    runner = RoundRunner(scn, targets, parts, seed=5, population=POP, workers=1, resume=True)
    resumed = fit(scn, targets, params, 2, runner)
    assert runner.resumed == len(stored) - len(stored[::2]) > 0
    assert same(plain, resumed)
    # the test can fail: another seed gives another posterior
    assert not same(
        plain, calibrate(scn, params, targets, particles=12, rounds=2, seed=6, population=POP)
    )


def test_a_kept_pool_stops_its_workers_on_an_error_and_starts_again_after(tmp_path):
    scn, targets, params = setup()
    runner = RoundRunner(scn, targets, tmp_path / "e", seed=5, population=POP, workers=2)
    with pytest.raises(RuntimeError, match="in between"), runner:
        fit(scn, targets, params, 1, runner)
        assert len(multiprocessing.active_children()) == 2
        raise RuntimeError("in between")
    assert workers_gone()
    runner = RoundRunner(scn, targets, tmp_path / "i", seed=5, population=POP, workers=2)
    with runner:  # an interrupt inside a round: the pool is stopped, and the next starts one
        kept = runner.kept
        assert kept is not None
        with pytest.raises(KeyboardInterrupt), kept.open(12):
            raise KeyboardInterrupt
        assert workers_gone()
        assert same(fit(scn, targets, params, 1), fit(scn, targets, params, 1, runner))
        assert kept.opened == 2
    assert workers_gone()


def test_calibrate_refuses_leftover_rounds_without_resume(tmp_path, prisonflow):
    out = tmp_path / "cal"
    rounds_dir(out).mkdir()
    code, _out, err = prisonflow(
        "calibrate",
        "ukraine_2024",
        "--params",
        KEY,
        "--particles",
        "10",
        "--rounds",
        "1",
        "--population",
        "500",
        "--out",
        str(out),
    )
    assert code == 2 and "add --resume" in err and len(err.splitlines()) == 1
    assert not out.exists()


# ---------------------------------------------------------- joint calibration

JOINT_KEYS = [
    "population.volunteering.pay=0:1",  # shared by both countries
    "ukraine_2024:population.volunteering.baseline_per_day=0.001:0.01",
    "russia_2022_2025:population.volunteering.baseline_per_day=0.0001:0.001",
]


def joint_setup():
    from sim.calibration.joint import Country, JointFit, parse_joint_param

    scns = {n: sim.load_scenario(n) for n in ("ukraine_2024", "russia_2022_2025")}
    countries = [
        Country(s, targets_for(s, fitting=True, population=POP), POP) for s in scns.values()
    ]
    return JointFit(countries, [parse_joint_param(k, scns) for k in JOINT_KEYS])


def joint(fit, rounds, simulate=None, seed=5):
    from sim.calibration.joint import calibrate_joint

    return calibrate_joint(fit, particles=12, rounds=rounds, seed=seed, simulate=simulate)


def test_joint_calibration_same_posterior_with_one_or_two_workers_and_when_resumed(tmp_path):
    from sim.calibration_rounds import JointRoundRunner

    fit = joint_setup()
    plain = joint(fit, 2)  # in this process
    two = joint(fit, 2, JointRoundRunner(fit, tmp_path / "w2", seed=5, workers=2))
    assert same(plain, two)
    # both countries' runs of a round are tasks of one experiment
    stored = sorted((tmp_path / "w2" / "round-0" / "parts").glob("*.parquet"))
    assert len(stored) == 2 * 12
    # one worker; then interrupted in round 1 (round 0 stored, part of round 1 lost): resume
    # runs the rest
    parts = tmp_path / "r"
    assert same(plain, joint(fit, 2, JointRoundRunner(fit, parts, seed=5, workers=1)))
    lost = sorted((parts / "round-1" / "parts").glob("*.parquet"))[::3]
    for part in lost:
        part.unlink()
    runner = JointRoundRunner(fit, parts, seed=5, workers=2, resume=True)
    assert same(plain, joint(fit, 2, runner))
    assert runner.resumed == 2 * 2 * 12 - len(lost)
    assert not same(plain, joint(fit, 2, seed=6))  # the check can fail


# ---------------------------------------------------------- Ctrl-C


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_on_calibrate_keeps_the_runs_and_the_hint_resumes(
    workers, tmp_path, monkeypatch, prisonflow
):
    import shlex

    from test_experiments_executors import interrupt_after_parts
    from test_experiments_faults import wait_until_gone

    args = ["calibrate", "ukraine_2024", "--params", KEY, "--particles", "10", "--rounds", "2"]
    args += ["--population", str(POP), "--workers", str(workers), "--seed", "5", "--out", "cal"]
    parts = rounds_dir(tmp_path / "cal") / "round-0" / "parts"
    proc, err = interrupt_after_parts(args, tmp_path, parts, new_session=True)
    assert proc.returncode == 130, err
    assert not wait_until_gone(proc.pid), "workers outlived the interrupted calibration"
    assert err.count("\n") == 1 and "calibration interrupted" in err and "Traceback" not in err
    hint = err.strip().split("continue with: ", 1)[1]
    assert hint == "prisonflow " + shlex.join(args) + " --resume"
    stored = {p.name for p in parts.glob("*.parquet")}
    assert len(stored) >= 2 and not list(parts.glob("*.failed.json"))
    assert not (tmp_path / "cal" / "estimates.csv").exists()
    monkeypatch.chdir(tmp_path)  # the hint, as pasted where calibrate ran
    code, stdout, err = prisonflow(*shlex.split(hint)[1:])
    assert code == 0, err
    assert (tmp_path / "cal" / "estimates.csv").exists() and "wrote" in stdout
    assert not rounds_dir(tmp_path / "cal").exists()  # removed once finished


def test_ctrl_c_between_rounds_prints_the_hint_and_the_hint_resumes(
    tmp_path, monkeypatch, prisonflow
):
    """Ctrl-C while the next round's proposals are drawn (no run under way): the same
    one-line hint as during runs, and the stored round is not run again."""
    import shlex

    from sim.calibration import smc

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    real = smc.propose
    monkeypatch.setattr(smc, "propose", interrupted)
    monkeypatch.chdir(tmp_path)
    args = ["calibrate", "ukraine_2024", "--params", KEY, "--particles", "10", "--rounds", "2"]
    args += ["--population", str(POP), "--workers", "1", "--seed", "5", "--out", "cal"]
    code, _stdout, err = prisonflow(*args)
    assert code == 130, err
    assert err.count("\n") == 1 and "calibration interrupted" in err and "Traceback" not in err
    hint = err.strip().split("continue with: ", 1)[1]
    assert hint == "prisonflow " + shlex.join(args) + " --resume"
    parts = rounds_dir(tmp_path / "cal") / "round-0" / "parts"
    assert len(list(parts.glob("*.parquet"))) == 10
    monkeypatch.setattr(smc, "propose", real)
    code, stdout, err = prisonflow(*shlex.split(hint)[1:])
    assert code == 0, err
    assert (tmp_path / "cal" / "estimates.csv").exists() and "wrote" in stdout
