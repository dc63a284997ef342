"""``autograder selftest ID``: try an assignment as the grader will, before students get it.

Two parts:

* static (milliseconds; ``selftest_static``): every test cell can be rebuilt by the judge,
  every grader reference a check compares with is registered, and no check of a cell
  repeats another;
* graded (about the assignment's budget): in a scratch copy of the course (never the real
  gradebook or students), the assignment is released, the teacher's solution (the
  released notebook with its answer cells filled from source/, as the demo's reference
  student) and the untouched release are graded by the real pipeline, sandbox and judge.
  The solution must earn every autograded point, the untouched release none.

A passing run is remembered under the hash of what it verified (the assignment's source
files, the course references, the kit's code, the data's file names and sizes, Python's
version), outside the course, so an unchanged assignment is not graded again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .assignment import read_assignment
from .course import KIT_ROOT, NEVER_RELEASED, Course
from .references import COURSE_REFERENCES
from .selftest_static import static_problems

STUDENTS = ("reference", "untouched")


@dataclass
class SelftestReport:
    """What a selftest of one assignment found; ``problems`` empty when it passed."""

    assignment: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cached: str = ""  # when a passing run of the same content is reused: its date

    @property
    def passed(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"selftest {self.assignment}: " + (
            "PASSED" if self.passed else f"FAILED ({len(self.problems)} problem(s))")
        lines = [head] + [f"  - {p}" for p in self.problems] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)


# ------------------------------------------------------------------ graded part

def budget_seconds(course: Course, assignment: str) -> int:
    """The assignment's time budget (``metadata.autograder.budget_seconds`` of its
    notebook, else the default: settings.py), as grading uses it."""
    from .run.jobs import assignment_budget

    return int(assignment_budget(course, assignment))


def estimate_seconds(course: Course, assignment: str) -> int:
    """About how long the graded part takes: the solution's run (one budget) beside the
    untouched release, plus the scratch release, kernel start and judge."""
    return budget_seconds(course, assignment) + 30


def scratch_course(course: Course, assignment: str, root: Path) -> Course:
    """A course at ``root`` with only this assignment's source and the course references."""
    scratch = Course(root)
    shutil.copytree(course.source / assignment, scratch.source / assignment,
                    ignore=shutil.ignore_patterns(*NEVER_RELEASED))
    references = course.source / COURSE_REFERENCES
    if references.is_file():
        shutil.copy2(references, scratch.source / COURSE_REFERENCES)
    return scratch


def graded_problems(course: Course, assignment: str) -> list[str]:
    """Grade the teacher's solution and the untouched release in a scratch course."""
    from .collect.collect import collect
    from .course import read_notebook
    from .grade import GradeError, grade
    from .record import grading_record
    from .release.release import release
    from .sample import fill, reference_answers

    with tempfile.TemporaryDirectory(prefix="ag-selftest-") as folder:
        scratch = scratch_course(course, assignment, Path(folder) / "course")
        release(scratch, [assignment])
        incoming = Path(folder) / "incoming"
        for source in scratch.notebooks(assignment):
            released = read_notebook(scratch.release / assignment / source.name)
            for student, nb in (("reference", fill(released, reference_answers(source))),
                                ("untouched", released)):
                (incoming / student).mkdir(parents=True, exist_ok=True)
                (incoming / student / source.name).write_text(json.dumps(nb))
        collect(scratch, incoming)
        try:
            results = {r.student: r for r in grade(scratch, [assignment], workers=2,
                                                   progress=False)}
        except GradeError as err:
            return [f"{err}\n(the selftest grades in the sandbox; `autograder release "
                    "--no-selftest` releases without it)"]
        problems = []
        for student in STUDENTS:
            result = results.get(student)
            if result is None or result.status != "graded":
                problems.append(f"the {student} submission was not graded: "
                                f"{getattr(result, 'status', 'missing')} "
                                f"{getattr(result, 'message', '')}".rstrip())
            record = grading_record.load(scratch, student, assignment)
            verdicts = record.verdicts if record else {}
            problems += verdict_problems(course, assignment, student, verdicts)
        return problems


def verdict_problems(course: Course, assignment: str, student: str, verdicts: dict) -> list:
    """The teacher's solution must earn every autograded point, the release none."""
    problems = []
    for grade_id, verdict in verdicts.items():
        where = f"source/{assignment}/{verdict.notebook}.ipynb cell {grade_id}"
        if student == "reference" and verdict.score < verdict.max_score:
            problems.append(f"{where}: the teacher's solution earns {verdict.score:g}/"
                            f"{verdict.max_score:g} ({verdict.message[:300]}). Fix the "
                            "solution cell or the check")
        if student == "untouched" and verdict.score > 0:
            problems.append(f"{where}: the untouched release earns {verdict.score:g}/"
                            f"{verdict.max_score:g}: its checks pass without the student's "
                            "work. Fix: make the cell's checks call what the student writes")
    expected = {cell.grade_id for cell in read_assignment(course, assignment).cells}
    if expected - set(verdicts):
        problems.append(f"{student}: no verdict for {sorted(expected - set(verdicts))}")
    return problems


# ------------------------------------------------------------------ cache and driver

def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "autograder" / "selftests"


def content_key(course: Course, assignment: str) -> str:
    """The hash of everything a selftest verifies (see the module's docstring)."""
    from ..student import data

    digest = hashlib.sha256(f"{assignment}\n{sys.version}\n".encode())
    inputs = [(course.source, p) for p in sorted((course.source / assignment).rglob("*"))]
    inputs += [(course.source, course.source / COURSE_REFERENCES)]
    inputs += [(KIT_ROOT, p) for p in sorted((KIT_ROOT / "autograder").rglob("*.py"))]
    for base, path in inputs:  # relative names: a course moved elsewhere keeps its passes
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes())
    root = data.data_root()
    for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []:
        digest.update(f"{path.relative_to(root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def cached_pass(course: Course, assignment: str) -> dict | None:
    """The record of a passing selftest of this exact content ({"verified", "seconds"}),
    or None."""
    record = cache_folder() / f"{content_key(course, assignment)}.json"
    return json.loads(record.read_text()) if record.is_file() else None


def selftest(course: Course, assignment: str, use_cache: bool = True,
             announce=None) -> SelftestReport:
    """Selftest ``assignment`` (static part always; graded part unless a passing run of
    the same content is cached). ``announce(seconds)`` is called just before grading,
    with the estimate of how long it takes."""
    started = time.perf_counter()
    report = SelftestReport(assignment, static_problems(course, assignment))
    if report.problems:
        report.notes.append("(not graded: fix these first)")
        return report
    record = cache_folder() / f"{content_key(course, assignment)}.json"
    if use_cache and (found := cached_pass(course, assignment)):
        report.cached = found["verified"]
        report.notes.append(f"not graded again: a selftest of this exact assignment, kit and "
                            f"data passed on {found['verified']} ({found['seconds']:.0f} s)")
        return report
    if announce is not None:
        announce(estimate_seconds(course, assignment))
    report.problems = graded_problems(course, assignment)
    report.seconds = time.perf_counter() - started
    if report.passed:
        report.notes.append(f"the teacher's solution earned every autograded point and the "
                            f"untouched release none ({report.seconds:.0f} s)")
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({
            "assignment": assignment, "seconds": report.seconds,
            "verified": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}))
    return report
