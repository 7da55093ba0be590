"""Moved to `sim.model.distributions`; this name stays for modules that still import it."""

from .model.distributions import *  # noqa: F403
