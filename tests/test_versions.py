"""The version of an assignment's tests a grade records, and what is stale (no grading:
records are written by hand; the graded round trip is in test_pipeline.py)."""
import json
import zipfile

import pytest

from autograder.grader import commands
from autograder.grader.course import Course
from autograder.grader.judge.verdict import Verdict
from autograder.grader.record import versions
from autograder.grader.record.grading_record import (RECORD, GradingRecord, RecordError,
                                                     read_record, write_record)
from autograder.grader.assignment import read_assignment
from tests import course_fixture as fx


@pytest.fixture
def course(tmp_path):
    return Course(fx.make_course(tmp_path / "course"))


def edit_cell(course, grade_id, change):
    path = course.notebooks(fx.ASSIGNMENT)[0]
    nb = json.loads(path.read_text())
    (cell,) = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    change(cell)
    path.write_text(json.dumps(nb))


def version(course):
    return versions.tests_version(read_assignment(course, fx.ASSIGNMENT))


def test_the_tests_version_changes_with_points_sources_and_check_parameters(course):
    first = version(course)
    edit_cell(course, "relu_answer", lambda c: c.update(source="".join(c["source"]) + "\n# a hint"))
    edit_cell(course, "intro", lambda c: c.update(source="# Tiny assignment, reworded"))
    assert version(course) == first  # answers, solutions and text decide no grade
    edit_cell(course, "double_test", lambda c: c["metadata"]["nbgrader"].update(points=3))
    raised = version(course)
    assert raised != first
    assert versions.test_points(read_assignment(course, fx.ASSIGNMENT))["double_test"] == 3
    edit_cell(course, "double_test", lambda c: c.update(
        source="".join(c["source"]).replace("seed=12", "seed=13")))
    assert version(course) not in (first, raised)


def test_a_literal_of_an_earlier_given_cell_changes_the_version(course):
    """A test cell whose check takes SEED from a given cell: the rebuilt check changes
    with the given cell, though the test cell's own text does not."""
    edit_cell(course, "imports", lambda c: c.update(source="".join(c["source"]) + "\nSEED = 12"))
    edit_cell(course, "double_test", lambda c: c.update(
        source="".join(c["source"]).replace("seed=12", "seed=SEED")))
    first = version(course)
    edit_cell(course, "imports", lambda c: c.update(
        source="".join(c["source"]).replace("SEED = 12", "SEED = 13")))
    assert version(course) != first


def graded_record(course, **change):
    task = read_assignment(course, fx.ASSIGNMENT)
    verdicts = {"double_test": Verdict(fx.ASSIGNMENT, True, 1.0, 1.0, "passed")}
    return versions.stamped(GradingRecord("graded", verdicts=verdicts), task)


def test_a_grade_is_stale_once_its_tests_change_and_release_says_how_many(course):
    for student in ("ann", "bob"):
        write_record(course.autograded / student / fx.ASSIGNMENT, graded_record(course))
    assert versions.stale_students(course, fx.ASSIGNMENT) == []
    edit_cell(course, "double_test", lambda c: c["metadata"]["nbgrader"].update(points=3))
    write_record(course.autograded / "cy" / fx.ASSIGNMENT, graded_record(course))
    assert versions.stale_students(course, fx.ASSIGNMENT) == ["ann", "bob"]
    jobs = [("ann", fx.ASSIGNMENT), ("cy", fx.ASSIGNMENT), ("dee", fx.ASSIGNMENT)]
    assert versions.stale_jobs(course, jobs) == [("ann", fx.ASSIGNMENT)]  # dee: never graded
    assert versions.stale_message(fx.ASSIGNMENT, ["ann", "bob"]) == (
        "2 students of f1_tiny were graded against an older version of its tests: "
        "`autograder grade f1_tiny --stale` re-grades them")
    assert versions.stale_message(fx.ASSIGNMENT, ["ann"]).startswith("1 student of f1_tiny was")
    (course.autograded / "cy" / fx.ASSIGNMENT / RECORD).write_text("{broken")
    assert "cy" in versions.stale_students(course, fx.ASSIGNMENT)  # grading again fixes it


def test_a_version_1_record_is_read_as_graded_against_unknown_tests(course, tmp_path):
    record = graded_record(course)
    data = record.to_dict()
    del data["tests_version"], data["points"]
    data["version"] = 1
    (tmp_path / RECORD).write_text(json.dumps(data))
    old = read_record(tmp_path)
    assert old.tests_version == "" and old.points == {"double_test": 1.0}
    assert versions.is_stale(old, read_assignment(course, fx.ASSIGNMENT))
    data = record.to_dict()
    data["points"] = {"double_test": "1"}
    (tmp_path / RECORD).write_text(json.dumps(data))
    with pytest.raises(RecordError, match="points that are not"):
        read_record(tmp_path)


def test_release_notes_a_student_bundle_that_holds_an_older_release(course):
    folder = course.release / fx.ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{fx.ASSIGNMENT}.ipynb").write_text("released once")
    bundle = commands.default_bundle(course)
    assert commands.outdated_in_bundle(course, bundle, [fx.ASSIGNMENT]) == []  # none written
    bundle.parent.mkdir(parents=True)
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr(f"assignments/{fx.ASSIGNMENT}/{fx.ASSIGNMENT}.ipynb", "released once")
        zf.writestr("README.md", "the kit")
    assert commands.outdated_in_bundle(course, bundle, [fx.ASSIGNMENT]) == []
    assert commands.after_release(course, [fx.ASSIGNMENT], None) == []
    (folder / f"{fx.ASSIGNMENT}.ipynb").write_text("released again, changed")
    assert commands.outdated_in_bundle(course, bundle, [fx.ASSIGNMENT]) == [fx.ASSIGNMENT]
    (note,) = commands.after_release(course, [fx.ASSIGNMENT], None)
    assert note == (f"note: the student bundle {bundle} is out of date for f1_tiny (written "
                    f"before this release): `autograder release --bundle {bundle}` writes it again")
    assert commands.after_release(course, [fx.ASSIGNMENT], bundle) == []  # just written


def test_a_stale_submission_shows_the_maxima_it_was_graded_against():
    from autograder.grader.record.gradebook import Item

    items = [Item("nb", "double_test", "autograded test", 1.0, 3.0, False),
             Item("nb", "new_test", "autograded test", None, 2.0, False),
             Item("nb", "why_relu", "manual answer", None, 2.0, True)]
    record = GradingRecord("graded", points={"double_test": 1.0})
    assert [(i.name, i.score, i.max_score) for i in versions.as_graded(items, record)] == [
        ("double_test", 1.0, 1.0), ("why_relu", None, 2.0)]  # new_test: never judged for it


def test_grade_stale_with_nothing_stale_grades_nothing_and_says_so(course, capsys):
    write_record(course.autograded / "ann" / fx.ASSIGNMENT, graded_record(course))
    (course.submitted / "ann" / fx.ASSIGNMENT).mkdir(parents=True)
    assert commands.grade(course, [fx.ASSIGNMENT], stale=True) == []
    assert "nothing to re-grade" in capsys.readouterr().out
