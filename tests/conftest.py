"""Shared fixtures: small scenarios that run in a fraction of a second."""

from __future__ import annotations

import pytest

import sim


@pytest.fixture(scope="session")
def ukraine():
    return sim.load_scenario("ukraine_2024")


@pytest.fixture(scope="session")
def russia():
    return sim.load_scenario("russia_2022_2025")
