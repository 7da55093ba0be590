"""Shared fixtures and helpers: small scenarios that run in a fraction of a second, and the
CLI run in this process (`from conftest import cli`)."""

from __future__ import annotations

import sys

import pytest

import sim
import sim.cli


@pytest.fixture(scope="session")
def ukraine():
    return sim.load_scenario("ukraine_2024")


@pytest.fixture(scope="session")
def russia():
    return sim.load_scenario("russia_2022_2025")


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run `prisonflow ARGS` in this process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["prisonflow", *args])
    with pytest.raises(SystemExit) as info:
        sim.cli.main()
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out, err


@pytest.fixture
def prisonflow(monkeypatch, capsys):
    """Run `prisonflow ARGS` in this process; return (exit code, stdout, stderr)."""
    return lambda *args: cli(monkeypatch, capsys, *args)
