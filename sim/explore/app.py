"""The explorer's page (Solara): controls on the left, what the law does on the right.

Served by `prisonflow explore` (see `server`); also `solara run sim.explore.app`. Each
browser session has its own settings; every change recomputes the view (`views.compute`),
and an invalid setting shows its one-line message while the last valid view stays on screen.
"""

from __future__ import annotations

import base64
import html
from dataclasses import replace
from typing import Any

import solara

from ..reporting.labels import default_countries, fmt_diff
from ..reporting.labels import fmt as _format
from ..scenario import ScenarioError
from . import plots
from .state import (
    Control,
    Settings,
    controls,
    default_population_size,
    law_choices,
    law_values,
    load_population,
    own_law,
)
from .views import View, compute

FILE_CHOICE = "a scenario file"


def numbers_table(view: View) -> str:
    """The headline metrics as an HTML table (class pf-numbers): each law's median and
    the paired difference with its 5-95% range over replicates."""
    rows = []
    for r in view.paired.itertuples():
        rows.append(
            "<tr>"
            f"<td>{html.escape(r.metric)}</td>"
            f"<td class='num'>{_format(r.key, r.law)}</td>"
            f"<td class='num'>{_format(r.key, r.own_law)}</td>"
            f"<td class='num'>{fmt_diff(r.key, r.difference)}</td>"
            f"<td class='num'>{fmt_diff(r.key, r.difference_p05)} to "
            f"{fmt_diff(r.key, r.difference_p95)}</td>"
            "</tr>"
        )
    reps = view.settings.replicates
    head = (
        "<tr><th>metric</th><th>this law (median)</th><th>own law (median)</th>"
        f"<th>difference (mean of {reps} paired runs)</th><th>5-95%</th></tr>"
    )
    return f"<table class='pf-numbers'>{head}{''.join(rows)}</table>"


STYLE = """
.pf-numbers { border-collapse: collapse; font-size: 13px; }
.pf-numbers th, .pf-numbers td { padding: 2px 10px; border-bottom: 1px solid #ddd; }
.pf-numbers th { text-align: left; }
.pf-numbers td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pf-chart img { max-width: 100%; height: auto; }
.pf-page { padding: 8px 16px; }
.pf-error { margin: 4px 0 10px; padding: 8px 12px; border-left: 4px solid #D55E00;
  background: #fdf0e8; color: #7a2e00; }
.pf-download { display: inline-block; margin: 8px 0; padding: 6px 14px; border-radius: 4px;
  background: #0072B2; color: white !important; text-decoration: none; font-weight: 500; }
"""


def download_link(view: View) -> str:
    """A link that downloads the scenario TOML. A data URL, not solara.FileDownload: the
    latter's button does not render in this Solara's Vuetify 3 front end."""
    data = base64.b64encode(view.toml.encode()).decode()
    name = html.escape(f"{view.built.scenario.name}.toml")
    return (
        f"<a class='pf-download' download='{name}' "
        f"href='data:application/toml;base64,{data}'>Download scenario TOML</a>"
    )


def _heading(text: str, tag: str = "h3") -> None:
    # Plain HTML, not solara.Markdown: Markdown loads KaTeX, which solara-assets does not
    # ship, so the page would reach for the network.
    solara.HTML(tag=tag, unsafe_innerHTML=html.escape(text))


def _safe_compute(settings: Settings) -> tuple[View | None, str | None]:
    try:
        return compute(settings), None
    except (ScenarioError, ValueError) as exc:
        return None, str(exc)


@solara.component
def ControlInput(control: Control, value, on_value):
    """One control of the law, labelled with the range the schema allows."""
    label = f"{control.label} [{control.hint}]" if control.hint else control.label
    if control.kind == "multi":
        solara.SelectMultiple(
            label, values=list(value), all_values=list(control.choices), on_value=on_value
        )
    elif control.kind == "choice":
        solara.Select(label, value=value, values=list(control.choices), on_value=on_value)
    elif control.kind == "int":
        # optional is a bool chosen per control; solara types it as two Literal overloads
        solara.InputInt(label, value=value, on_value=on_value, optional=control.optional)  # type: ignore[call-overload]
    else:
        solara.InputFloat(label, value=value, on_value=on_value)


@solara.component
def Controls(settings: Settings, set_settings, view: View | None):
    """Population, law, the law's controls, the runs and the download of the settings."""
    named = default_countries()  # populations offered by name: role "country"
    mode, set_mode = solara.use_state(
        settings.population if settings.population in named else FILE_CHOICE
    )

    def pick_population(choice: str) -> None:
        """Switch the population choice; a built-in population resets the settings to it."""
        set_mode(choice)
        if choice != FILE_CHOICE:
            set_settings(Settings(population=choice, replicates=settings.replicates))

    _heading("Population (people)")
    solara.Select(
        "population",
        value=mode,
        values=[*named, FILE_CHOICE],
        on_value=pick_population,
    )
    if mode == FILE_CHOICE:
        solara.InputText(
            "scenario file (path, Enter to load)",
            value="" if settings.population in named else settings.population,
            on_value=lambda path: set_settings(
                Settings(population=path.strip(), replicates=settings.replicates)
            ),
        )
    try:
        population = load_population(settings.population)
        laws = law_choices(settings.population)
        current_law = settings.law or own_law(settings.population, population)
        values = law_values(settings)
    except ScenarioError:
        return  # the main area shows the message
    _heading("Law (rules)")
    solara.Select(
        "law (scenario:regime)",
        value=current_law,
        values=list(laws),
        on_value=lambda law: set_settings(replace(settings, law=law, edits=())),
    )
    solara.Text(laws[current_law])
    edits = dict(settings.edits)
    for control in controls():
        value = edits.get(control.key, values[control.key])
        ControlInput(
            control,
            value,
            lambda v, key=control.key: set_settings(settings.with_edit(key, v)),
        )
    _heading("Runs")
    size = settings.population_size or default_population_size(population)
    solara.InputInt(
        "replicates (seeds 0..k-1)",
        value=settings.replicates,
        on_value=lambda n: set_settings(replace(settings, replicates=n)),
    )
    solara.InputInt(
        f"population (initial stock; the scenario has {population.population.initial_size:,})",
        value=size,
        on_value=lambda n: set_settings(replace(settings, population_size=n)),
    )
    if view is not None:
        solara.HTML(tag="div", unsafe_innerHTML=download_link(view))
        solara.Text(f"Run it with: prisonflow run FILE --population {view.population_size}")


@solara.component
def Results(view: View):
    """What the law does: headline numbers, stocks and flows, funnel, offences."""
    built, s = view.built, view.settings
    text = (
        f"<b>{html.escape(built.scenario.scenario.title)}</b>: the law "
        f"<code>{html.escape(built.law)}</code> "
        f"on the people of <code>{html.escape(s.population)}</code>, in force for the whole "
        "horizon, compared with the population's own law (its own timeline of regimes). "
        f"{s.replicates} runs per law (seeds 0..{s.replicates - 1}, the same for both) at "
        f"{view.population_size:,} people; computed in {view.seconds:.1f} s."
    )
    solara.HTML(tag="p", unsafe_innerHTML=text)
    solara.HTML(tag="div", unsafe_innerHTML=numbers_table(view), classes=["pf-numbers-box"])
    timeseries = solara.use_memo(
        lambda: plots.timeseries_figure(view.law.bands, view.own.bands), dependencies=[view]
    )
    with solara.Div(classes=["pf-chart"]):
        solara.FigureMatplotlib(timeseries, format="png", dependencies=[view])
    funnel = solara.use_memo(lambda: plots.funnel_figure(view.funnel), dependencies=[view])
    offences = solara.use_memo(lambda: plots.offences_figure(view.offences), dependencies=[view])
    with solara.Columns([4, 3]):
        with solara.Div(classes=["pf-chart"]):
            solara.FigureMatplotlib(funnel, format="png", dependencies=[view])
        with solara.Div(classes=["pf-chart"]):
            solara.FigureMatplotlib(offences, format="png", dependencies=[view])


@solara.component
def Page():
    """The explorer; each browser session keeps its own settings."""
    settings, set_settings = solara.use_state(Settings())
    view, error = solara.use_memo(lambda: _safe_compute(settings), dependencies=[settings])
    last: Any = solara.use_ref(None)
    if view is not None:
        last.current = view
    shown = view or last.current
    solara.Title("prisonflow explore")
    solara.Style(STYLE)
    with solara.Column(classes=["pf-page"]):
        _heading("prisonflow explore: what does a law do to a prison population?", "h2")
        with solara.Columns([1, 3]):
            with solara.Column(classes=["pf-controls"]):
                Controls(settings, set_settings, view)
            with solara.Column():
                if error:
                    kept = " (the results below are for the last valid settings)" if shown else ""
                    # Plain HTML: solara.Error fails in this Solara's Vuetify 3 front end.
                    solara.HTML(
                        tag="div", unsafe_innerHTML=html.escape(error + kept), classes=["pf-error"]
                    )
                if shown is not None:
                    Results(shown)
