"""`python -m sim` runs the same CLI as the `prisonflow` console script."""

from .cli import main

main()
