"""The recruits table filed cohort by cohort (`sim.engines.recruit_table`)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.engines import recruit_table, vector
from sim.engines.recruit_table import PART_COLUMNS, RecruitParts, row_dtype
from sim.results import RECRUIT_COLUMNS


def test_row_numbers_are_int32_while_int32_holds_them():
    assert row_dtype(0) is np.int32
    assert row_dtype(2**31 - 1) is np.int32
    assert row_dtype(2**31) is np.int64


@pytest.fixture(scope="module")
def filed():
    """A run's parts as filed and its applicants' table, caught before `Run.result` reads
    them, and the run's recruits table."""
    caught = {}
    result = vector.Run.result

    def catch(run, seed, timings):
        caught["parts"] = [dict(part) for part in run.recruit_parts.parts]
        caught["pop"] = run.pop.take(slice(0, run.pop.n))  # views: kept as they are now
        caught["spans"] = [sp[0] for sp in run.spans]
        return result(run, seed, timings)

    mp = pytest.MonkeyPatch()
    mp.setattr(vector.Run, "result", catch)
    try:
        r = sim.run("russia_2022_2025", seed=4, population=30_000, days=700, threads=1)
    finally:
        mp.undo()
    return caught, r.recruits


def test_parts_hold_32_bytes_a_row(filed):
    caught, recruits = filed
    parts = caught["parts"]
    assert sum(len(p["row"]) for p in parts) == len(recruits) > 1000
    for part in parts:
        assert tuple(part) == PART_COLUMNS
        assert sum(column.itemsize for column in part.values()) == 32


def test_the_table_reads_each_recruits_row_of_the_applicants(filed):
    caught, recruits = filed
    pop = caught["pop"]
    rows = np.concatenate([p["row"] for p in caught["parts"]])
    np.testing.assert_array_equal(recruits["person"].to_numpy(), pop.ids[rows])
    np.testing.assert_array_equal(recruits["male"].to_numpy(), pop.male[rows])
    age = pop.age0[rows] + recruits["contract_day"].to_numpy() / 365.25
    np.testing.assert_allclose(recruits["age_years"].to_numpy(), age, rtol=1e-6)
    assert list(recruits.dtypes.astype(str)) == list(RECRUIT_COLUMNS.values())


def test_looking_up_empties_the_applicants_and_the_frame_empties_the_parts(filed):
    caught, recruits = filed
    pop = caught["pop"].take(slice(0, caught["pop"].n))
    parts = RecruitParts()
    parts.parts = [dict(p) for p in caught["parts"]]
    parts.look_up(pop)
    assert pop.nbytes() == pop.facility_climate.nbytes  # every column let go
    table = parts.frame(caught["spans"])
    assert parts.parts == [] and parts.looked_up == {}
    assert table.equals(recruits)


def test_no_contracts_give_an_empty_table():
    parts = RecruitParts()
    assert len(parts.frame(["A"])) == 0
    assert list(parts.frame(["A"]).columns) == list(recruit_table.RECRUIT_COLUMNS)
