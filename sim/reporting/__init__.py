"""Presentation: what people read, built from result frames.

Modules, one concept each: `labels` (metric and scenario labels, number formats), `views`
(tables built from result frames: statistics tables and console tables), `blocks` (report
blocks and their Markdown and HTML renderings), `sections` (sections every report shares,
the headline and the appendix of assumptions), `compare_report` and `experiment_reports`
(one report per kind), `build` (`build_report`), `files` (reading an experiment directory)
and `loaded` (`sim.load_experiment`).

Nothing here runs the model; `sim.compare` and the CLI import from here, never the reverse.
"""
