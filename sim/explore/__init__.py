"""`prisonflow explore`: a Solara app to apply a law to a population and see what it does.

`state` turns the controls into a validated scenario, `views` runs replicates and computes
the tables the app shows, `plots` draws them (matplotlib), `app` is the Solara page and
`server` starts it. Only `app` and `server` import Solara.
"""
