"""How metrics and scenarios are named and numbers written, for every table people read
(console tables, the report, the explorer): one place for labels and formats.

Scenario labels come from the scenario files' `[scenario]` metadata (`short_label`,
`country_name`), and so do the countries and policies compared by default (`roles`, `order`):
a new country needs no code here.
"""

from __future__ import annotations

from typing import Any

from ..scenario import bundled_scenarios, load_scenario

# The summary metrics people read first, in the order tables show them, and their labels.
METRIC_LABELS = {
    "applications": "applications",
    "released_to_army": "released to army",
    "deployed_total": "deployed (total)",
    "peak_deployed": "deployed (peak)",
    "killed": "killed",
    "wounded_discharged": "wounded, discharged",
    "deserted": "deserted",
    "captured": "captured",
    "service_completed": "service completed",
    "returned_to_custody": "returned to custody",
    "reoffended": "reoffended",
    "days_to_first_release": "days to first release",
    "killed_per_1000_recruits": "killed per 1,000 recruits",
    "share_violent_among_recruits": "violent offenders among recruits",
    "prison_population_change_pct": "prison population change, %",
}
# Metrics against the no-recruitment baseline (`sim.counterfactual.EFFECT_METRICS`): in the
# summaries of `prisonflow run`, batch and compare, not of a bare `sim.run`.
EFFECT_LABELS = {
    "prison_population_effect_pct": "prison population vs no recruitment, %",
    "in_custody_no_recruitment": "in custody without recruitment",
}
KEY_METRICS = tuple(METRIC_LABELS)  # in every run's summary
METRIC_LABELS.update(EFFECT_LABELS)
# (metric, label) pairs of the headline tables (prisonflow run, the explorer).
HEADLINE = tuple((m, METRIC_LABELS[m]) for m in KEY_METRICS)


def _is_missing(v: Any) -> bool:
    return v is None or v != v


def _format(metric: str, v: float, signed: bool) -> str:
    if _is_missing(v):
        return "n/a"
    sign = "+" if signed else ""
    if metric.startswith("share_"):
        text, unit = f"{100 * v:{sign}.1f}", " pp" if signed else "%"
    elif metric.endswith("_pct") or metric.endswith("_per_1000_recruits"):
        text, unit = f"{v:{sign},.1f}", ""
    else:
        text, unit = f"{v:{sign},.0f}", ""
    if text[:1] == "-" and not any(digit in text for digit in "123456789"):
        text = "+" + text[1:]  # a difference that rounds to zero reads +0, never -0
    return text + unit


def fmt(metric: str, v: float) -> str:
    """A metric value as people read it (shares in %, counts with thousands separators)."""
    return _format(metric, v, signed=False)


def fmt_diff(metric: str, v: float) -> str:
    """A difference of a metric, signed (shares in percentage points)."""
    return _format(metric, v, signed=True)


def fmt_range(metric: str, low: float, high: float) -> str:
    """An interval of a metric: 'low to high'."""
    return f"{fmt(metric, low)} to {fmt(metric, high)}"


def short_label(scenario: Any) -> str:
    """A scenario's short label (`[scenario] short_label`; its name when it has none)."""
    meta = scenario.scenario
    return meta.short_label or scenario.name


def population_label(scenario: Any) -> str:
    """Whose prisons a scenario's population is: "Ukraine's prisons (ukraine_2024)"."""
    country = scenario.scenario.country_name
    return f"{country}'s prisons ({scenario.name})" if country else f"population of {scenario.name}"


def _roles(role: str) -> tuple[str, ...]:
    """Bundled scenarios whose `[scenario] roles` include `role`, by `order` then name."""
    found = []
    for name in bundled_scenarios():
        meta = load_scenario(name).scenario
        if role in meta.roles:
            found.append((meta.order, name))
    return tuple(name for _order, name in sorted(found))


def default_countries() -> tuple[str, ...]:
    """The default compared scenarios and populations: bundled scenarios with the role
    "country" (from the directory PRISONFLOW_SCENARIOS names, when set)."""
    return _roles("country")


def default_policies() -> tuple[str, ...]:
    """The default policies of the counterfactual matrix: bundled scenarios with the role
    "policy"."""
    return _roles("policy")
