"""Which version of an assignment's tests a grade was judged against.

An instructor may change a test cell after grading (raise its points, a threshold, a
check's seed) and release again. The grades already given were judged against the old
cells: their scores are out of the old points and their verdicts are the old checks'. So
each grading record keeps the version of the tests it was judged against
(:func:`tests_version`, a content hash) and the points of every test cell at that time;
a submission whose version differs from what ``source/`` holds now is *stale*.

Reports never mix the two: a stale submission shows its own old score out of its own old
maxima, marked :data:`MARK`; the dashboard leaves it out of the class statistics.
``autograder grade ID --stale`` re-grades exactly the stale submissions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from ..course import Course, nbgrader_meta
from ..replay import ReplayError, cell_source
from ..assignment import Assignment, read_assignment
from .grading_record import GradingRecord, RecordError, read_record

MARK = "graded against an older version of the tests"
_VERSIONS: dict[str, str] = {}  # {digest of the source notebooks: tests version}


def _test_cells(task: Assignment) -> list[dict]:
    """What the teacher wrote in each autograded test cell: notebook, id, points, source
    and the cell's ``autograder`` metadata, in notebook order."""
    found = []
    for name, notebook in task.sources.items():
        for cell in notebook.get("cells", []):
            meta = nbgrader_meta(cell)
            if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
                found.append({"notebook": name, "grade_id": meta.get("grade_id"),
                              "points": float(meta.get("points", 0) or 0),
                              "source": cell_source(cell),
                              "autograder": cell.get("metadata", {}).get("autograder")})
    return found


def tests_version(task: Assignment) -> str:
    """The version of the assignment's tests: a hash of every test cell (its source,
    points and metadata) and of the checks the judge rebuilds from it (their identities,
    which also take the literals of earlier given cells). Unchanged while nothing that
    decides a grade changes; text cells, answers and solutions do not count."""
    if task.digest not in _VERSIONS:
        try:
            rebuilt = [[check.identity() for check in cell.checks] for cell in task.cells]
        except ReplayError as err:  # release refuses it; a hash still says "changed"
            rebuilt = [f"not replayable: {err}"]
        text = json.dumps([_test_cells(task), rebuilt], sort_keys=True, default=str)
        _VERSIONS[task.digest] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _VERSIONS[task.digest]


def test_points(task: Assignment) -> dict[str, float]:
    """{grade_id: points} of the assignment's autograded test cells now."""
    return {cell["grade_id"]: cell["points"] for cell in _test_cells(task)}


def stamped(record: GradingRecord, task: Assignment) -> GradingRecord:
    """``record`` with the version and points of the tests it is judged against."""
    return dataclasses.replace(record, tests_version=tests_version(task),
                               points=test_points(task))


def is_stale(record: GradingRecord | None, task: Assignment) -> bool:
    """Whether a graded submission was judged against other tests than ``task``'s now
    (a record of before versions were kept counts as stale: nothing says it is not)."""
    return record is not None and record.tests_version != tests_version(task)


def stale_students(course: Course, assignment: str) -> list[str]:
    """The students whose graded submission of ``assignment`` is stale, or whose grading
    record cannot be read (grading again fixes both)."""
    task = read_assignment(course, assignment)
    found = []
    for folder in sorted(course.autograded.glob(f"*/{assignment}")):
        try:
            stale = is_stale(read_record(folder), task)
        except RecordError:
            stale = True
        if stale:
            found.append(folder.parent.name)
    return found


def stale_jobs(course: Course, jobs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (student, assignment) jobs of ``jobs`` whose last grade is stale; a submission
    never graded is not one of them."""
    stale = {a: set(stale_students(course, a)) for a in {a for _, a in jobs}}
    return [(s, a) for s, a in jobs if s in stale[a]]


def as_graded(items: list, record: GradingRecord | None) -> list:
    """The gradebook's items of a stale submission with the maxima it was graded against:
    each autograded test cell's points from the record (the gradebook holds the current
    ones), so no old score is shown out of a new maximum. A test cell added since was
    never judged for it and is left out."""
    points = record.points if record else {}
    return [dataclasses.replace(item, max_score=points[item.name])
            if item.kind == "autograded test" and item.name in points else item
            for item in items if item.kind != "autograded test" or not points
            or item.name in points]


def stale_message(assignment: str, students: list[str]) -> str:
    """What release says about the stale grades of an assignment ("" when none)."""
    if not students:
        return ""
    count = len(students)
    who = f"{count} student{'s' if count > 1 else ''} of {assignment} "
    return (f"{who}{'were' if count > 1 else 'was'} graded against an older version of its "
            f"tests: `autograder grade {assignment} --stale` re-grades "
            f"{'them' if count > 1 else 'it'}")
