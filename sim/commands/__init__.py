"""The `prisonflow` commands, one module per family (see sim.cli)."""
