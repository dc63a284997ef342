"""``autograder selftest ID``: try an assignment as the grader will, before students get it.

Two parts:

* static (milliseconds): every test cell can be rebuilt by the judge (replay), every
  grader reference a check compares with is registered (by the kit or the course's
  ``source/grader_references.py``), and no check of a cell repeats another (same check,
  same parameters, same student code: it verifies nothing new and shows as a second
  identical rubric row);
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

import ast
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

from .course import KIT_ROOT, NEVER_RELEASED, Course, nbgrader_meta
from .references import COURSE_REFERENCES, course_references, kit_references
from .replay import ReplayError, cell_source
from .assignment import hidden_line_numbers, read_assignment

STUDENTS = ("reference", "untouched")
FIX_REFERENCE = ("correct the name in the check, or register it in source/"
                 f"{COURSE_REFERENCES}: register_reference({{key!r}}, your_function)")


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


# ------------------------------------------------------------------ static part

def needed_references(check) -> list[str]:
    """The grader references ``check``'s judge compares with, by the names the teacher
    wrote (``check_values(f, "NAME")`` -> ``values:NAME``); the kit's own checks look up
    references the kit always installs."""
    if check.kind == "values":
        return [f"values:{check.reference}"]
    return list(getattr(check, "references_needed", ()))


def _calls(source: str) -> tuple[list[tuple[ast.Call, bool, str]], dict[str, list[int]]]:
    """(check call, hidden?, its text) for each top-level ``checks.check_*`` call of a test cell, and
    {name: lines where the cell's top level assigns it}."""
    hidden_lines = hidden_line_numbers(source)
    text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    found, assigned = [], {}
    for statement in ast.parse(text).body:
        for target in getattr(statement, "targets", [getattr(statement, "target", None)]):
            for node in ast.walk(target) if target is not None else ():
                if isinstance(node, ast.Name):
                    assigned.setdefault(node.id, []).append(statement.lineno)
        value = getattr(statement, "value", None)
        if (isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign))
                and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name) and value.func.value.id == "checks"
                and value.func.attr.startswith("check_")):
            written = " ".join(ast.get_source_segment(text, value).split())
            found.append((value, statement.lineno in hidden_lines, written))
    return found, assigned


def _student_arguments(call: ast.Call) -> tuple:
    """The arguments that are not literals (the student's objects), as written."""
    nodes = list(call.args) + [k.value for k in call.keywords]
    found = []
    for node in nodes:
        try:
            ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            found.append(ast.unparse(node))
    return tuple(found)


def _rebound(first: ast.Call, second: ast.Call, assigned: dict) -> bool:
    """True when a name the second call's student arguments use is assigned again
    between the two calls (``probe = ModelB()``): then they check other objects."""
    names = {n.id for n in ast.walk(second) if isinstance(n, ast.Name)}
    return any(first.lineno < line < second.lineno
               for name in names for line in assigned.get(name, ()))


def repeated_checks(where: str, source: str, checks: list) -> list[str]:
    """Checks of one cell that repeat another: the same check (identity: its parameters)
    on the same student code, written the same way and not rebound in between."""
    problems, seen = [], {}
    calls, assigned = _calls(source)
    for (call, hidden, written), check in zip(calls, checks):
        key = (check.identity(), _student_arguments(call))
        earlier = seen.setdefault(key, [])
        repeat = next((c for c in earlier if not _rebound(c[0], call, assigned)), None)
        earlier.append((call, hidden, written))
        if repeat is None:
            continue
        _, first_hidden, first = repeat
        what = ("the hidden check" if hidden else "the check") + f" `{written}`"
        other = ("the hidden check" if first_hidden else "the visible check") + f" `{first}`"
        problems.append(f"{where}: {what} repeats {other} (duplicate check name "
                        f"{check.name!r}, same parameters, same student code): it verifies "
                        "nothing new and shows as a second identical rubric row. Fix: give "
                        "it other inputs (another seed=, shape=, ...) or delete it")
    return problems


def static_problems(course: Course, assignment: str) -> list[str]:
    """What can be refused without running anything (see the module's docstring)."""
    try:
        cells = {cell.grade_id: cell for cell in read_assignment(course, assignment).cells}
    except ReplayError as err:
        return [f"{err} (the judge could not replay this cell)"]
    registered = set(kit_references()) | set(course_references(course.source))
    problems = []
    for path in course.notebooks(assignment):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            test = cells.get(nbgrader_meta(cell).get("grade_id"))
            if test is None or not nbgrader_meta(cell).get("grade") or test.judge_spec:
                continue
            where = f"{path.relative_to(course.root)} cell {test.grade_id}"
            problems += repeated_checks(where, cell_source(cell), test.checks)
            for check in test.checks:
                for key in needed_references(check):
                    if key not in registered:
                        known = sorted(k for k in registered if k.startswith("values:"))
                        problems.append(
                            f"{where}: check {check.name!r} compares with the grader "
                            f"reference {key!r}, which is not registered (registered: "
                            f"{', '.join(known) or 'none'}). Fix: "
                            + FIX_REFERENCE.format(key=key))
    return problems


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
