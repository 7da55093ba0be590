"""The bad-input corpus: every case exits with status 2 and one line on stderr that names the
file, the key and what is allowed; no traceback; nothing created, changed or deleted on disk.

Cases form one table across scenario files (mutations of the bundled Ukrainian scenario),
sweep specs, observation files and command-line arguments. They run in this process (fast);
a few also run `python -m sim` in a subprocess, to show that no traceback reaches stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import sim.resources
from sim.scenario import bundled_scenarios, scenarios_dir

ROOT = Path(__file__).resolve().parent.parent
UKRAINE_TOML = bundled_scenarios()["ukraine_2024"].read_text()
SWEEP = scenarios_dir() / "sweeps" / "ukraine_court_capacity.toml"
OBSERVATIONS = scenarios_dir() / "observations" / "observations_public.csv"
SMALL = ["--population", "500", "--days", "30"]

# --------------------------------------------------------------------------- scenario mutations


def _section(lines: list[str], section: str) -> tuple[int, int]:
    """Line range (header, end) of `[section]` in a TOML text split into lines."""
    head = lines.index(f"[{section}]\n")
    end = next(
        (i for i in range(head + 1, len(lines)) if lines[i].startswith("[")),
        len(lines),
    )
    return head, end


def _edit_key(section: str, key: str, replacement: list[str]):
    """A mutation: replace the line `key = ...` of `[section]` by `replacement` (lines)."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head, end = _section(lines, section)
        hits = [i for i in range(head + 1, end) if re.match(rf"{key}\s*=", lines[i])]
        assert len(hits) == 1, (section, key)
        lines[hits[0] : hits[0] + 1] = replacement
        return "".join(lines)

    return mutate


def set_key(section: str, key: str, value: str):
    """A mutation: set `key` in `[section]` to the TOML text `value` (whatever it was)."""
    return _edit_key(section, key, [f"{key} = {value}\n"])


def drop_key(section: str, key: str):
    return _edit_key(section, key, [])


def add_line(section: str, line: str):
    """A mutation: add `line` at the top of `[section]`."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head, _end = _section(lines, section)
        lines.insert(head + 1, line + "\n")
        return "".join(lines)

    return mutate


def rename_section(old: str, new: str):
    def mutate(text: str) -> str:
        assert text.count(f"\n[{old}]\n") == 1
        return text.replace(f"\n[{old}]\n", f"\n[{new}]\n")

    return mutate


def append(extra: str):
    """A mutation: add `extra` (lines) at the end of `[sources]`."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        _head, end = _section(lines, "sources")
        while not lines[end - 1].strip() or lines[end - 1].startswith("#"):
            end -= 1  # before the blank and comment lines that introduce the next table
        lines.insert(end, extra)
        return "".join(lines)

    return mutate


def before_sources(extra: str):
    def mutate(text: str) -> str:
        assert text.count("\n[sources]\n") == 1
        return text.replace("\n[sources]\n", extra + "\n[sources]\n")

    return mutate


OVERLAPPING_REGIME = """
[regimes.UA_LATER]
label = "a second Ukrainian regime for convicts"
start_date = 2025-01-01
statuses = ["convicted"]
screening_days = { dist = "fixed", value = 5 }
approval = "court"
approval_days = { dist = "fixed", value = 1 }
training_days = { dist = "fixed", value = 30 }
contract = "until_war_end"
release_type = "parole"
killed_per_day = 0.0004
wounded_discharged_per_day = 0.0004
deserted_per_day = 0.0006
captured_per_day = 0.00005
awol_caught_per_day = 0.004
awol_added_sentence_days = { dist = "fixed", value = 1826 }
"""

UA = "regimes.UA_2024"
POP = "population"
SCN = "scenario"
EXCLUDED = (
    '["piracy", "state_security", "treason_espionage", "murder_aggravated", "sexual", '
    '"sexual_minor", "terrorism", "fatal_drunk_driving", "corruption_grave"]'
)

# id -> (mutation of the Ukrainian text, dotted key the error line must name)
BAD_SCENARIOS = {
    "unknown-top-level-key": (append("\n[extras]\nfoo = 1\n"), "extras"),
    "unknown-scenario-key": (add_line(SCN, 'countri = "UA"'), "scenario.countri"),
    "unknown-population-key": (add_line(POP, "initial_sizes = 3"), "population.initial_sizes"),
    "unknown-regime-key": (add_line(UA, "launch_bost = 1.0"), f"{UA}.launch_bost"),
    "string-for-number": (
        set_key(UA, "approval_capacity_per_day", '"many"'),
        f"{UA}.approval_capacity_per_day",
    ),
    "string-for-date": (set_key(SCN, "start_date", '"soon"'), "scenario.start_date"),
    "number-for-list": (set_key(UA, "statuses", "3"), f"{UA}.statuses"),
    "probability-above-one": (set_key(UA, "psych_reject_prob", "1.5"), f"{UA}.psych_reject_prob"),
    "negative-share": (
        set_key(POP, "life_sentence_share", "-0.1"),
        "population.life_sentence_share",
    ),
    "hazard-above-one": (set_key(UA, "killed_per_day", "2"), f"{UA}.killed_per_day"),
    "negative-duration-mean": (
        set_key(UA, "training_days", '{ dist = "gamma", mean = -50, sd = 12 }'),
        f"{UA}.training_days",
    ),
    "negative-remaining-limit": (
        set_key(UA, "max_remaining_sentence_days", "-1"),
        f"{UA}.max_remaining_sentence_days",
    ),
    "uniform-high-below-low": (
        set_key(UA, "approval_days", '{ dist = "uniform", low = 3, high = 1 }'),
        f"{UA}.approval_days",
    ),
    "unknown-distribution-kind": (
        set_key(UA, "training_days", '{ dist = "weibull", mean = 50, sd = 12 }'),
        f"{UA}.training_days",
    ),
    "distribution-without-kind": (
        set_key(UA, "training_days", "{ mean = 50, sd = 12 }"),
        f"{UA}.training_days",
    ),
    "regime-ends-before-it-starts": (add_line(UA, "end_date = 2024-01-01"), f"{UA}.end_date"),
    "scenario-ends-before-it-starts": (
        set_key(SCN, "end_date", "2024-01-01"),
        "scenario.end_date",
    ),
    "overlapping-regimes": (before_sources(OVERLAPPING_REGIME), "regimes.UA_LATER.start_date"),
    "unknown-excluded-offence": (
        set_key(UA, "excluded_offences", EXCLUDED),
        f"{UA}.excluded_offences",
    ),
    "unknown-status": (set_key(UA, "statuses", '["convicted", "prisoner"]'), f"{UA}.statuses"),
    "unknown-status-share": (
        set_key(POP, "status_shares", "{ convicted = 0.58, remand = 0.42 }"),
        "population.status_shares.remand",
    ),
    "shares-do-not-sum-to-one": (
        set_key(POP, "status_shares", "{ convicted = 0.5, pretrial = 0.42 }"),
        "population.status_shares",
    ),
    "unknown-offence-category": (
        rename_section(f"{POP}.offences.smuggling", f"{POP}.offences.piracy"),
        "population.offences.piracy",
    ),
    "max-age-below-min-age": (set_key(UA, "max_age_years", "16"), f"{UA}.max_age_years"),
    "fixed-contract-without-days": (set_key(UA, "contract", '"fixed"'), f"{UA}.contract_days"),
    "source-cites-missing-key": (
        append(f'"{UA}.bonus_rubles" = "a citation for nothing"\n'),
        f"sources.{UA}.bonus_rubles",
    ),
    "missing-required-key": (drop_key(UA, "killed_per_day"), f"{UA}.killed_per_day"),
    "missing-population-table": (rename_section(POP, "populace"), "population"),
    "unknown-base": (set_key(SCN, "extends", '"ukraine_1991"'), "scenario.extends"),
}


# What the error line must say "is allowed" for the mutations above (a substring).
ALLOWED = {
    "unknown-top-level-key": "allowed keys",
    "unknown-scenario-key": "allowed keys",
    "unknown-population-key": "allowed keys",
    "unknown-regime-key": "allowed keys",
    "string-for-number": "integer",
    "string-for-date": "date",
    "number-for-list": "list",
    "probability-above-one": "[0, 1]",
    "negative-share": "[0, 1]",
    "hazard-above-one": "[0, 1]",
    "negative-duration-mean": "greater than 0",
    "negative-remaining-limit": "greater than or equal to 0",
    "uniform-high-below-low": "high",
    "unknown-distribution-kind": "must be one of",
    "distribution-without-kind": "must be one of",
    "regime-ends-before-it-starts": "must come after",
    "scenario-ends-before-it-starts": "must come after",
    "overlapping-regimes": "must not overlap",
    "unknown-excluded-offence": "theft",
    "unknown-status": "convicted",
    "unknown-status-share": "allowed: convicted",
    "shares-do-not-sum-to-one": "sum to 1",
    "unknown-offence-category": "allowed: ",
    "max-age-below-min-age": "greater than min_age_years",
    "fixed-contract-without-days": "contract_days > 0",
    "source-cites-missing-key": "not in the scenario",
    "missing-required-key": "required",
    "missing-population-table": "required",
    "unknown-base": "bundled scenarios",
}
THEFT = f"{POP}.offences.theft"
BAD_SCENARIOS |= {
    "offence-shares-and-offences": (
        add_line(POP, "offence_shares = { theft = 1.0 }"),
        "population.offence_shares",
    ),
    "admission-shares-do-not-sum-to-one": (
        set_key(THEFT, "admission_share", "0.9"),
        "population.offences",
    ),
    "stock-share-for-some-offences-only": (
        drop_key(THEFT, "stock_share"),
        f"{THEFT}.stock_share",
    ),
    "offence-without-sentence": (drop_key(THEFT, "sentence_years"), f"{THEFT}.sentence_years"),
    "unknown-offence-profile-key": (add_line(THEFT, "share = 0.3"), f"{THEFT}.share"),
    "time-served-fraction-zero": (
        set_key(POP, "time_served_fraction", "0"),
        "population.time_served_fraction",
    ),
    "warm-up-after-start": (add_line(SCN, "warm_up_from = 2025-01-01"), "scenario.warm_up_from"),
    "warm-up-with-without-date": (
        add_line(SCN, 'warm_up_with = "russia_2022_2025"'),
        "scenario.warm_up_with",
    ),
    "warm-up-with-unknown-scenario": (
        add_line(SCN, 'warm_up_from = 2024-05-01\nwarm_up_with = "ukraine_1991"'),
        "scenario.warm_up_with",
    ),
    "war-ends-before-start": (add_line(SCN, "war_end_date = 2024-01-01"), "scenario.war_end_date"),
    "war-ends-on-start": (add_line(SCN, "war_end_date = 2024-05-18"), "scenario.war_end_date"),
    "regime-starts-after-end": (set_key(UA, "start_date", "2026-01-01"), f"{UA}.start_date"),
    "regime-starts-on-end": (set_key(UA, "start_date", "2025-09-30"), f"{UA}.start_date"),
    "name-escapes-results": (set_key(SCN, "name", '"../../escaped"'), "scenario.name"),
    "name-with-slash": (set_key(SCN, "name", '"runs/ukraine"'), "scenario.name"),
    "empty-name": (set_key(SCN, "name", '""'), "scenario.name"),
}
ALLOWED |= {
    "offence-shares-and-offences": "either offence_shares or population.offences",
    "admission-shares-do-not-sum-to-one": "admission shares must sum to 1",
    "stock-share-for-some-offences-only": "for every offence or none",
    "offence-without-sentence": "required",
    "unknown-offence-profile-key": "allowed keys: admission_share",
    "time-served-fraction-zero": "greater than 0",
    "warm-up-after-start": "on or before start_date",
    "warm-up-with-without-date": "needs warm_up_from",
    "warm-up-with-unknown-scenario": "bundled scenarios",
    "war-ends-before-start": "must come after start_date",
    "war-ends-on-start": "must come after start_date",
    "regime-starts-after-end": "a start before 2025-09-30",
    "regime-starts-on-end": "a start before 2025-09-30",
    "name-escapes-results": "safe identifier",
    "name-with-slash": "safe identifier",
    "empty-name": "safe identifier",
}


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """`make(dir)` writes the case's input files into `dir` (the working directory) and
    returns the argv; the error line must contain every needle (file, key, allowed)."""

    make: Callable[[Path], list[str]]
    needles: tuple[str, ...]


def write(name: str, content: str | bytes, argv: Callable[[str], list[str]]):
    def make(d: Path) -> list[str]:
        path = d / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return argv(name)

    return make


def run_file(name: str) -> list[str]:
    return ["run", name, "--out", "out", *SMALL]


def argv_only(*argv: str):
    return lambda d: list(argv)


def mkdir_with(name: str, files: dict[str, str], argv: list[str]):
    def make(d: Path) -> list[str]:
        (d / name).mkdir()
        for f, text in files.items():
            (d / name / f).write_text(text)
        return argv

    return make


def earlier_run(argv: list[str]):
    """An output directory written by an earlier run (needs --overwrite to be replaced)."""

    def make(d: Path) -> list[str]:
        from sim.cli import main

        saved = sys.argv
        sys.argv = ["prisonflow", "run", "ukraine_2024", "--out", "out", *SMALL]
        try:
            with pytest.raises(SystemExit) as info:
                main()
        finally:
            sys.argv = saved
        assert info.value.code in (0, None)
        return argv

    return make


SWEEP_TEXT = SWEEP.read_text()
OBS_TEXT = OBSERVATIONS.read_text()
OBS_HEADER = "country,date,metric,value,kind,qualifier,source\n"


def sweep_file(content: str | bytes):
    return write("spec.toml", content, lambda n: ["sweep", n, "--out", "out", "--workers", "1"])


def observations_file(content: str | bytes):
    return write(
        "obs.csv",
        content,
        lambda n: (
            ["validate", "ukraine_2024", "--observations", n, "--replicates", "2"]
            + ["--population", "500", "--out", "out"]
        ),
    )


KILLED_KEY = "regimes.UA_2024.killed_per_day"
PRIORS_TOML = (
    '[scenario]\nname = "ua_post"\nextends = "ukraine_2024"\n[priors]\n'
    f'"{KILLED_KEY}" = {{ dist = "loguniform", low = 0.0002, high = 0.004 }}\n'
)


def posterior_case(csv: str, command: str):
    """A scenario with a prior and a bad posterior file beside it, used by `command`."""
    argv = {
        "batch": ["batch", "ua_post.toml", "--out", "out", "--workers", "1", *SMALL],
        "validate": ["validate", "ua_post.toml", "--replicates", "2", "--population", "500"]
        + ["--out", "out"],
    }[command]

    def make(d: Path) -> list[str]:
        (d / "ua_post.toml").write_text(PRIORS_TOML)
        (d / "ua_post.posterior.csv").write_text(csv)
        return argv

    return make


BAD_POSTERIORS = {
    "unknown-key": (
        "weight,regimes.UA_2024.nope\n1,0.5\n",
        ("ua_post.posterior.csv", "regimes.UA_2024.nope", "keys with priors"),
    ),
    "negative-weight": (
        f"weight,{KILLED_KEY}\n1,0.001\n-0.5,0.001\n",
        ("ua_post.posterior.csv", "row 3.weight", ">= 0"),
    ),
    "outside-prior": (
        f"weight,{KILLED_KEY}\n1,0.01\n",
        ("ua_post.posterior.csv", f"row 2.{KILLED_KEY}", "loguniform [0.0002, 0.004]"),
    ),
}

CASES: dict[str, Case] = {
    f"scenario:posterior-{name}-{command}": Case(posterior_case(csv, command), needles)
    for name, (csv, needles) in BAD_POSTERIORS.items()
    for command in ("batch", "validate")
}
for _id, (_mutate, _key) in BAD_SCENARIOS.items():
    _text = _mutate(UKRAINE_TOML)
    assert _text != UKRAINE_TOML, _id
    _name = f"bad_{_id.replace('-', '_')}.toml"
    CASES[f"scenario:{_id}"] = Case(write(_name, _text, run_file), (_name, _key, ALLOWED[_id]))

_toml_line = next(
    i for i, ln in enumerate(UKRAINE_TOML.splitlines()) if ln.startswith("facilities")
)
CASES |= {
    "scenario:invalid-toml": Case(
        write("broken.toml", UKRAINE_TOML.replace("facilities =", "facilities = ="), run_file),
        ("broken.toml", "not valid TOML", f"line {_toml_line + 1}"),
    ),
    "scenario:not-utf8": Case(
        write(
            "latin1.toml", UKRAINE_TOML.replace("Ukraine", "Ukra\xefne").encode("latin-1"), run_file
        ),
        ("latin1.toml", "not UTF-8", "saved as UTF-8"),
    ),
    "scenario:cyclic-extends": Case(
        lambda d: (
            (d / "loop_a.toml").write_text('[scenario]\nname = "loop_a"\nextends = "loop_b"\n'),
            (d / "loop_b.toml").write_text('[scenario]\nname = "loop_b"\nextends = "loop_a"\n'),
            run_file("loop_b.toml"),
        )[-1],
        ("loop_b.toml", "scenario.extends", "cyclic"),
    ),
    "scenario:missing-file": Case(
        argv_only(*run_file("no_such.toml")), ("no_such.toml", "not found")
    ),
    "scenario:unknown-name": Case(
        argv_only(*run_file("ukraine_2042")), ("ukraine_2042", "bundled scenarios", "ukraine_2024")
    ),
    "scenario:sweep-spec-given-to-run": Case(
        write("spec.toml", SWEEP_TEXT, run_file), ("spec.toml", "sweep spec", "expected a scenario")
    ),
    "scenario:sweep-spec-given-to-batch": Case(
        write("spec.toml", SWEEP_TEXT, lambda n: ["batch", n, "--out", "out", "--workers", "1"]),
        ("spec.toml", "sweep spec", "expected a scenario"),
    ),
    "scenario:empty-file": Case(
        write("empty.toml", "", run_file), ("empty.toml", "scenario", "required")
    ),
    # sweep specs
    "sweep:scenario-given-to-sweep": Case(
        sweep_file(UKRAINE_TOML), ("spec.toml", "is a scenario", "expected a sweep spec")
    ),
    "sweep:unknown-method": Case(
        sweep_file(SWEEP_TEXT.replace('method = "grid"', 'method = "sobel"')),
        ("spec.toml", "method", "grid, lhs, sobol, morris"),
    ),
    "sweep:unknown-key": Case(
        sweep_file("replicate = 3\n" + SWEEP_TEXT), ("spec.toml", "replicate", "allowed keys")
    ),
    "sweep:unknown-output": Case(
        sweep_file(SWEEP_TEXT.replace('"killed"]', '"kills"]')), ("spec.toml", "outputs", "killed")
    ),
    "sweep:unknown-parameter": Case(
        sweep_file(SWEEP_TEXT.replace("approval_capacity_per_day", "approval_capacity")),
        ("spec.toml", "approval_capacity", "regimes.UA_2024"),
    ),
    "sweep:missing-file": Case(
        argv_only("sweep", "no_spec.toml", "--out", "out"), ("no_spec.toml", "not found")
    ),
    "sweep:not-utf8": Case(
        sweep_file(("# caf\xe9\n" + SWEEP_TEXT).encode("latin-1")), ("spec.toml", "read", "utf-8")
    ),
    # observation files
    "observations:unknown-qualifier": Case(
        observations_file(OBS_HEADER + "UA,2024-06-01,applications,100,observed,roughly,x\n"),
        ("obs.csv", "row 2.qualifier", "at_least, about, up_to, exact"),
    ),
    "observations:unknown-kind": Case(
        observations_file(OBS_HEADER + "UA,2024-06-01,applications,100,rumour,about,x\n"),
        ("obs.csv", "row 2.kind", "observed, estimate, claim"),
    ),
    "observations:unknown-metric": Case(
        observations_file(OBS_HEADER + "UA,2024-06-01,recruitz,100,observed,about,x\n"),
        ("obs.csv", "row 2.metric", "applications"),
    ),
    "observations:bad-date": Case(
        observations_file(OBS_HEADER + "UA,June 2024?,applications,100,observed,about,x\n"),
        ("obs.csv", "row 2.date", "YYYY-MM-DD"),
    ),
    "observations:missing-column": Case(
        observations_file("country,date,metric,value\nUA,2024-06-01,applications,100\n"),
        ("obs.csv", "kind", "need country, date"),
    ),
    "observations:missing-file": Case(
        argv_only("validate", "ukraine_2024", "--observations", "none.csv", "--out", "out"),
        ("none.csv", "not found"),
    ),
    "observations:not-utf8": Case(
        observations_file(OBS_TEXT.replace("Kyiv", "K\xefyiv").encode("latin-1")),
        ("obs.csv", "CSV", "UTF-8"),
    ),
    # command-line arguments
    "cli:set-without-value": Case(
        argv_only("run", "ukraine_2024", "--out", "out", "--set", "regimes.UA_2024.killed_per_day"),
        ("--set", "key=value"),
    ),
    "cli:set-without-key": Case(
        argv_only("run", "ukraine_2024", "--set", "=5"), ("--set", "key=value")
    ),
    "cli:set-out-of-range": Case(
        argv_only("run", "ukraine_2024", "--set", "regimes.UA_2024.killed_per_day=2"),
        ("ukraine_2024.toml", "regimes.UA_2024.killed_per_day", "[0, 1]"),
    ),
    "cli:set-unknown-key": Case(
        argv_only("run", "ukraine_2024", "--set", "regimes.UA_2024.no_such_key=1"),
        ("ukraine_2024.toml", "regimes.UA_2024.no_such_key", "allowed keys"),
    ),
    "cli:set-below-a-value": Case(
        argv_only("run", "ukraine_2024", "--set", "population.male_share.x=1"),
        ("ukraine_2024.toml", "population.male_share", "is a value, not a table"),
    ),
    "cli:unknown-engine": Case(
        argv_only("run", "ukraine_2024", "--engine", "nope"), ("--engine", "vector, agents")
    ),
    "cli:days-zero": Case(argv_only("run", "ukraine_2024", "--days", "0"), ("--days", "1")),
    "cli:days-negative": Case(argv_only("run", "ukraine_2024", "--days", "-5"), ("--days", "1")),
    "cli:days-not-a-number": Case(
        argv_only("run", "ukraine_2024", "--days", "many"), ("--days", "integer")
    ),
    "cli:days-past-end": Case(
        argv_only("run", "ukraine_2024", "--days", "5000", "--population", "500"),
        ("ukraine_2024.toml", "days", "1 to 501", "--extend"),
    ),
    "cli:population-zero": Case(
        argv_only("run", "ukraine_2024", "--population", "0"), ("--population", "1")
    ),
    "cli:seed-negative": Case(argv_only("run", "ukraine_2024", "--seed", "-1"), ("--seed", "0")),
    "cli:threads-zero": Case(
        argv_only("run", "ukraine_2024", "--threads", "0"), ("--threads", "1")
    ),
    "cli:population-1e12": Case(
        argv_only("run", "ukraine_2024", "--population", "1000000000000"),
        ("ukraine_2024.toml", "population", "GiB", "--force"),
    ),
    "cli:russia-population-3e8": Case(
        argv_only("run", "russia_2022_2025", "--population", "300000000"),
        ("russia_2022_2025.toml", "population", "GiB", "--force"),
    ),
    "cli:agents-engine-too-big": Case(
        argv_only("run", "russia_2022_2025", "--engine", "agents", "--population", "30000000"),
        ("russia_2022_2025.toml", "population", "agents engine", "--force"),
    ),
    "cli:unknown-option": Case(
        argv_only("run", "ukraine_2024", "--no-such-option"), ("--no-such-option", "no such option")
    ),
    "cli:out-is-cwd": Case(
        argv_only("run", "ukraine_2024", "--out", ".", *SMALL), (".", "--out", "working directory")
    ),
    "cli:out-is-a-file": Case(
        write("notes.txt", "mine\n", lambda n: ["run", "ukraine_2024", "--out", n, *SMALL]),
        ("notes.txt", "--out", "not a directory"),
    ),
    "cli:out-under-a-file": Case(
        write(
            "notes.txt", "mine\n", lambda n: ["run", "ukraine_2024", "--out", f"{n}/run", *SMALL]
        ),
        ("notes.txt", "--out", "not a directory"),
    ),
    "cli:out-is-a-symlink": Case(
        lambda d: (
            (d / "real").mkdir(),
            (d / "link").symlink_to(d / "real"),
            ["run", "ukraine_2024", "--out", "link", *SMALL],
        )[-1],
        ("link", "--out", "symbolic link"),
    ),
    "cli:out-holds-foreign-files": Case(
        mkdir_with(
            "thesis",
            {"thesis.docx": "chapter 1"},
            ["run", "ukraine_2024", "--out", "thesis", *SMALL],
        ),
        ("thesis", "--out", "thesis.docx", "choose another directory"),
    ),
    "cli:out-holds-foreign-files-overwrite": Case(
        mkdir_with(
            "thesis",
            {"thesis.docx": "chapter 1"},
            ["run", "ukraine_2024", "--out", "thesis", "--overwrite", *SMALL],
        ),
        ("thesis", "--out", "thesis.docx", "even with --overwrite"),
    ),
    "cli:out-holds-earlier-run": Case(
        earlier_run(["run", "ukraine_2024", "--out", "out", "--seed", "1", *SMALL]),
        ("out", "--out", "earlier prisonflow output", "--overwrite"),
    ),
    "cli:validate-out-holds-foreign-files": Case(
        mkdir_with(
            "thesis",
            {"thesis.docx": "chapter 1"},
            [
                "validate",
                "ukraine_2024",
                "--replicates",
                "2",
                "--population",
                "500",
                "--out",
                "thesis",
            ],
        ),
        ("thesis", "--out", "thesis.docx"),
    ),
    "cli:calibrate-out-is-a-file": Case(
        write(
            "notes.txt",
            "mine\n",
            lambda n: (
                [
                    "calibrate",
                    "ukraine_2024",
                    "--params",
                    "population.campaigns.UA_LAUNCH.boost=0:5",
                ]
                + ["--out", n]
            ),
        ),
        ("notes.txt", "--out", "not a directory"),
    ),
    "cli:validate-one-replicate": Case(
        argv_only("validate", "ukraine_2024", "--replicates", "1"), ("--replicates", "2")
    ),
    "cli:calibrate-unknown-parameter": Case(
        argv_only("calibrate", "ukraine_2024", "--params", "regimes.UA_2024.nope=1:2"),
        ("ukraine_2024.toml", "regimes.UA_2024.nope", "not a key"),
    ),
    "cli:calibrate-few-particles": Case(
        argv_only(
            "calibrate",
            "ukraine_2024",
            "--params",
            "population.campaigns.UA_LAUNCH.boost=0:5",
            "--particles",
            "3",
        ),
        ("--particles", "10"),
    ),
    "cli:bench-out-is-a-file": Case(
        write("notes.txt", "mine\n", lambda n: ["bench", "--quick", "--out", n]),
        ("notes.txt", "--out", "not a directory"),
    ),
    "cli:report-not-a-directory": Case(
        argv_only("report", "no_such_dir"), ("no_such_dir", "not a directory")
    ),
}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root (hidden ones included) with its content (None: a directory)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            path = os.path.join(dirpath, f)
            out[os.path.relpath(path, root)] = Path(path).read_bytes()
    return out


def assert_one_clean_line(code: int, out: str, err: str, needles: tuple[str, ...]) -> None:
    assert code == 2, (code, out, err)
    assert err.endswith("\n") and len(err.splitlines()) == 1, err
    assert "Traceback" not in out + err
    assert err.startswith("prisonflow: error: "), err
    for needle in needles:
        assert needle.lower() in err.lower(), (needle, err)


def test_corpus_is_large_and_covers_every_kind_of_input():
    kinds = {case_id.split(":")[0] for case_id in CASES}
    assert kinds == {"scenario", "sweep", "observations", "cli"}
    assert len(CASES) >= 40
    assert all(len(case.needles) >= 2 for case in CASES.values())


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input_exits_2_with_one_line(case_id, tmp_path, monkeypatch, prisonflow):
    case = CASES[case_id]
    monkeypatch.chdir(tmp_path)
    # On a machine with more memory than this one (24 GiB), the too-big runs must still be
    # too big: count at most 16 GiB as available.
    available = sim.resources.available_bytes
    monkeypatch.setattr(sim.resources, "available_bytes", lambda: min(available() or 2**34, 2**34))
    argv = case.make(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = prisonflow(*argv)
    assert_one_clean_line(code, out, err, case.needles)
    assert snapshot(tmp_path) == before  # nothing created, changed or deleted


def test_snapshot_sees_hidden_leftovers(tmp_path):
    """The corpus's 'nothing on disk' check would catch a leftover temporary directory."""
    before = snapshot(tmp_path)
    (tmp_path / ".out.tmp-123").mkdir()
    assert snapshot(tmp_path) != before


SUBPROCESS_CASES = [
    "cli:seed-negative",
    "cli:population-1e12",
    "cli:out-is-cwd",
    "scenario:not-utf8",
    "scenario:sweep-spec-given-to-run",
    "cli:out-holds-foreign-files-overwrite",
]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_in_a_subprocess_has_no_traceback(case_id, tmp_path):
    case = CASES[case_id]
    argv = case.make(tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_clean_line(proc.returncode, proc.stdout, proc.stderr, case.needles)
    assert snapshot(tmp_path) == before


def test_read_only_out(tmp_path):
    """--out in a place that cannot be written: one line, exit 2, no temporary directory.
    As root (who may write anywhere) the command runs as user nobody."""
    base = Path(tempfile.mkdtemp(prefix="prisonflow-ro-"))
    try:
        base.chmod(0o755)
        (base / "locked").mkdir(mode=0o555)
        (base / "locked").chmod(0o555)
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: cannot make a read-only place")
            prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
            probe = subprocess.run([*prefix, sys.executable, "-c", "import sim"], cwd=base)
            assert probe.returncode == 0, (
                "this test runs prisonflow as user nobody, who cannot import sim from this "
                f"environment ({sys.prefix}): make its directories world-readable"
            )
        before = snapshot(base)
        argv = ["run", "ukraine_2024", "--out", "locked/run", *SMALL]
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "sim", *argv],
            cwd=base,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert_one_clean_line(
            proc.returncode, proc.stdout, proc.stderr, ("locked/run", "--out", "writable")
        )
        assert snapshot(base) == before
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)
