"""Moved to `sim.model.taxonomy`; this name stays for modules that still import it."""

from .model.taxonomy import *  # noqa: F403
