"""Output directories (sim.results): the tool never deletes or replaces what it did not write,
and a failed write leaves nothing behind."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest

from sim.results import (
    OWN_MARKER,
    RECRUIT_COLUMNS,
    AtomicDir,
    OutputDirError,
    add_own,
    foreign_entries,
    mark_own,
    prepare_output_dir,
    recruits_frame,
)


def make_own(path, files=("a.csv",)):
    with AtomicDir(path) as tmp:
        for name in files:
            (tmp / name).write_text(name)


def test_new_and_empty_directories_are_fine(tmp_path):
    assert prepare_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created by the check
    (tmp_path / "empty").mkdir()
    prepare_output_dir(tmp_path / "empty")


def test_own_output_needs_overwrite_and_is_then_replaced_whole(tmp_path):
    out = tmp_path / "out"
    make_own(out, ["a.csv", "b.csv"])
    assert json.loads((out / OWN_MARKER).read_text())["files"] == ["a.csv", "b.csv"]
    with pytest.raises(OutputDirError, match="--overwrite"):
        prepare_output_dir(out)
    with AtomicDir(out, overwrite=True) as tmp:
        (tmp / "c.csv").write_text("c")
    assert sorted(p.name for p in out.iterdir()) == [OWN_MARKER, "c.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_foreign_files_are_never_replaced(tmp_path, overwrite):
    out = tmp_path / "out"
    make_own(out)
    (out / "thesis.docx").write_text("mine")
    assert foreign_entries(out) == ["thesis.docx"]
    with pytest.raises(OutputDirError, match="thesis.docx"):
        with AtomicDir(out, overwrite=overwrite) as tmp:
            (tmp / "a.csv").write_text("new")
    assert (out / "thesis.docx").read_text() == "mine"
    assert (out / "a.csv").read_text() == "a.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_appearing_during_the_run_is_kept(tmp_path):
    """The target is checked again just before the swap."""
    out = tmp_path / "out"
    with pytest.raises(OutputDirError, match="notes.txt"):
        with AtomicDir(out) as tmp:
            (tmp / "a.csv").write_text("a")
            out.mkdir()
            (out / "notes.txt").write_text("written meanwhile")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_marker_lists_only_what_the_tool_wrote(tmp_path):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "user.txt").write_text("mine")
    mark_own(out, "batch", ["manifest.json"])
    add_own(out, ["report.html"])
    (out / "report.html").write_text("<html>")
    assert foreign_entries(out) == ["user.txt"]
    add_own(tmp_path, ["x"])  # no marker there: nothing is claimed
    assert not (tmp_path / OWN_MARKER).exists()


def test_a_file_or_the_working_directory_is_refused(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputDirError, match="not a directory"):
        prepare_output_dir(tmp_path / "f")
    with pytest.raises(OutputDirError, match="not a directory"):
        prepare_output_dir(tmp_path / "f" / "below")
    monkeypatch.chdir(tmp_path)
    for path in (".", "..", str(tmp_path)):
        with pytest.raises(OutputDirError, match="working directory"):
            prepare_output_dir(path, overwrite=True)


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "out"

    def fill(_path):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputDirError) as info:
        with AtomicDir(out) as tmp:
            (tmp / "a.csv").write_text("a")
            fill(tmp / "b.csv")
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_result_plot_draws_the_run():
    from matplotlib.text import Text

    import sim

    result = sim.run("ukraine_2024", population=500, days=30)
    fig = result.plot()
    texts = " ".join(t.get_text() for t in fig.findobj(Text))
    assert len(fig.axes) >= 2 and "ukraine_2024 (seed 0, vector)" in texts


def test_recruits_frame_has_the_canonical_dtypes_whatever_it_is_given():
    """Names stay object (pandas 3 would infer its str dtype; the frozen baseline's digests
    count dtypes) from lists, numpy str arrays and object arrays alike; numbers take their
    column's dtype; an empty table has the same columns and dtypes."""
    canonical = list(RECRUIT_COLUMNS.items())
    given = {
        name: np.zeros(2, dtype=np.float64) if dtype != "object" else ["a", "b"]
        for name, dtype in canonical
    }
    given["regime"] = np.array(["R_A", "R_B"])  # numpy str
    given["status"] = np.array(["convicted", "pretrial"], dtype=object)
    given["person"] = [3, 4]
    for frame in (recruits_frame(given), recruits_frame()):
        assert [(c, str(t)) for c, t in frame.dtypes.items()] == canonical
    frame = recruits_frame(given)
    assert frame["regime"].tolist() == ["R_A", "R_B"] and frame["outcome"].tolist() == ["a", "b"]
    assert all(type(v) is str for v in frame["regime"]) and frame["person"].tolist() == [3, 4]


def test_recruits_frame_takes_arrays_of_the_right_dtype_without_copying():
    person = np.arange(5, dtype=np.int64)
    given = {name: np.zeros(5, dtype=dtype) for name, dtype in RECRUIT_COLUMNS.items()}
    frame = recruits_frame({**given, "person": person})
    assert np.shares_memory(frame["person"].to_numpy(), person)
