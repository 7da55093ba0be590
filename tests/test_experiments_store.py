"""How runs are stored (`sim.experiments.store`): the Arrow tables of the parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sim
from sim.experiments import store


@pytest.fixture(scope="module")
def series() -> list[pd.DataFrame]:
    return [sim.run("ukraine_2024", seed=s, population=3000).timeseries for s in (1, 2)]


def test_a_time_series_converts_as_from_pandas_would(series, monkeypatch):
    """The schema is worked out once for a time series' columns and dtypes, then reused:
    every table, the first and the later ones, equals from_pandas', metadata included."""
    monkeypatch.setattr(store, "_SCHEMAS", {})
    for ts in (*series, series[0]):
        expected = pa.Table.from_pandas(ts, preserve_index=False)
        assert store.arrow_table(ts).equals(expected, check_metadata=True)
    assert len(store._SCHEMAS) == 1  # reused, not worked out for every table


def test_the_schema_follows_the_dtypes_not_only_the_names(series, monkeypatch):
    """A frame with the same columns but another dtype does not take the first's schema
    (the check fails if the cache were keyed by names alone)."""
    monkeypatch.setattr(store, "_SCHEMAS", {})
    ts = series[0]
    store.arrow_table(ts)
    floats = ts.assign(killed=ts["killed"].astype(np.float64))
    table = store.arrow_table(floats)
    assert table.schema.field("killed").type == pa.float64()
    assert table.equals(pa.Table.from_pandas(floats, preserve_index=False), check_metadata=True)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"group": ["a", "b"], "count": [1, 2]}),
        pd.DataFrame({"count": pd.array([1, None], dtype="Int64")}),
        pd.DataFrame({"date": pd.date_range("2024-01-01", periods=2, tz="Europe/Kyiv")}),
    ],
)
def test_other_tables_convert_through_from_pandas(frame, monkeypatch):
    """Names, nullable integers, dates with a time zone: pandas' own types, left to
    from_pandas."""
    monkeypatch.setattr(store, "_SCHEMAS", {})
    for _ in range(2):
        table = store.arrow_table(frame)
        assert table.equals(pa.Table.from_pandas(frame, preserve_index=False), check_metadata=True)
    assert store._SCHEMAS == {}  # only numpy's numbers and dates take the shortcut
