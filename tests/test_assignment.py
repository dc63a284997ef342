"""An assignment is read from source/ once per batch (assignment.read_assignment): the judge,
diagnose and the reports share one reading, and a re-release is seen at once."""
import json
import os
from pathlib import Path

import pytest

from autograder.grader import assignment as assignments
from autograder.grader.course import Course
from tests import course_fixture as fx


@pytest.fixture
def course(tmp_path):
    return Course(fx.make_course(tmp_path))


@pytest.fixture
def reads(monkeypatch):
    """The source notebooks read from disk, in order."""
    found = []
    read_bytes = Path.read_bytes

    def counted(path):
        if path.suffix == ".ipynb":
            found.append(path.name)
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return found


def test_an_unchanged_assignment_is_read_and_replayed_once(course, reads):
    first = assignments.read_assignment(course, fx.ASSIGNMENT)
    cells = first.cells
    for _ in range(5):
        again = assignments.read_assignment(course, fx.ASSIGNMENT)
        assert again is first and again.cells is cells
        assignments.hidden_lines(course, fx.ASSIGNMENT)
        assignments.judged_files(course, fx.ASSIGNMENT)
    assert reads == [f"{fx.ASSIGNMENT}.ipynb"]
    assert " ".join(fx.HIDDEN_LINE.split()) in first.hidden
    assert first.judged_files == ["tiny_weights.npz"]


def test_each_judging_gets_checks_of_its_own(course):
    assignment = assignments.read_assignment(course, fx.ASSIGNMENT)
    one, two = assignment.fresh_cells(), assignment.fresh_cells()
    check = next(c for cell in one for c in cell.checks)
    check.nonce = "one submission's nonce"
    assert all(c.nonce is None for cell in two for c in cell.checks)
    assert all(c.nonce is None for cell in assignment.cells for c in cell.checks)
    assert [c.identity() for cell in two for c in cell.checks] == \
        [c.identity() for cell in assignment.cells for c in cell.checks]


def test_a_re_released_source_notebook_is_read_again(course, reads):
    first = assignments.read_assignment(course, fx.ASSIGNMENT)
    path = course.notebooks(fx.ASSIGNMENT)[0]
    notebook = json.loads(path.read_text())
    notebook["metadata"]["autograder"] = {"from_scratch": True}
    for cell in notebook["cells"]:
        if "BEGIN HIDDEN TESTS" in "".join(cell["source"]):
            cell["source"] = "".join(cell["source"]).replace(
                "### END HIDDEN TESTS", "assert relu(3) == 3, 'a new hidden assert'\n"
                "### END HIDDEN TESTS")
    path.write_text(json.dumps(notebook))
    again = assignments.read_assignment(course, fx.ASSIGNMENT)
    assert again is not first and again.settings == {"from_scratch": True}
    assert "assert relu(3) == 3, 'a new hidden assert'" in again.hidden
    assert "assert relu(3) == 3, 'a new hidden assert'" not in first.hidden


def test_a_notebook_touched_but_unchanged_keeps_its_reading(course, reads):
    first = assignments.read_assignment(course, fx.ASSIGNMENT)
    path = course.notebooks(fx.ASSIGNMENT)[0]
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert assignments.read_assignment(course, fx.ASSIGNMENT) is first
    assert assignments.read_assignment(course, fx.ASSIGNMENT) is first
    assert len(reads) == 2  # the bytes compared once after the touch, never parsed again
