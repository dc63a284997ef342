"""Feedback: one HTML page per student and assignment, built from a plain data model.

The page shows, in this order: the total; the rubric (every graded cell and every check
the trusted judge ran in it, ✓ or the points it cost and the judge's message); the
gradient checks and accuracies the judge measured (fields of its verdicts, never parsed
from a message); then only the student's own work (answer cells, written answers with the
manual grade once given, their figures). It never contains a test cell's code, a solution
or a mark scheme: the verdicts come from the submission's grading record
(record/grading_record.py), every kernel text is redacted (work.py), and the pages are
leak-checked after they are written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..record import gradebook, grading_record, outcomes, versions
from ..release import leakcheck
from ..course import Course
from ..judge.redact import redact
from ..judge.verdict import Verdict
from .render import write_page
from ..assignment import Assignment, assignment_of, read_assignment
from .work import Figure, WorkCell, own_work

PAGE = "feedback.html"


@dataclass
class CheckLine:
    name: str
    passed: bool
    deduction: float   # points of the cell this check cost (0 when it passed)
    message: str
    count: int = 1     # identical checks of the cell (same name, result and message)


@dataclass
class RubricRow:
    """One graded cell: its score, status and the judge's checks."""

    notebook: str
    name: str
    kind: str
    score: float
    max_score: float
    status: str        # passed, partly passed, failed, to be graded by hand, graded by hand
    symbol: str        # ✓, ✗, ~ or … : pass/fail is never carried by colour alone
    checks: list[CheckLine] = field(default_factory=list)
    note: str = ""


@dataclass
class GradientRow:
    cell: str
    quantity: str
    error: str
    tolerance: str
    passed: bool


@dataclass
class AccuracyRow:
    cell: str
    check: str
    accuracy: float
    threshold: float | None
    passed: bool
    per_class: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class FeedbackPage:
    assignment: str
    student: str
    score: float       # autograded tests only
    max_score: float
    manual_score: float  # written answers already graded by hand
    manual_max: float
    pending: float     # points of written answers still to be graded by hand
    problem: str       # why grading stopped or what limited it ("" when nothing)
    rubric: list[RubricRow]
    gradients: list[GradientRow]
    accuracies: list[AccuracyRow]
    work: list[WorkCell]
    figures: list[Figure]
    stale: bool = False  # graded against an older version of the tests: scores out of its points


def check_lines(verdict: Verdict, max_score: float) -> list[CheckLine]:
    """The judge's checks of a cell, each with the share of the cell's points it cost."""
    total = sum(max(0.0, c.max_points) for c in verdict.checks) or 1.0
    lines: dict[tuple, CheckLine] = {}
    for c in verdict.checks:
        cost = 0.0 if c.passed else max_score * c.max_points / total
        key = (c.name, c.passed, c.message)
        if key in lines:
            lines[key].count += 1
            lines[key].deduction = round(lines[key].deduction + cost, 3)
        else:
            lines[key] = CheckLine(*key[:2], round(cost, 3), key[2])
    return list(lines.values())


BY_HAND = "graded by hand"   # the kind every item a person grades shows in the rubric
PENDING_NOTE = ("a person grades this (a written answer, and any figure it asks about, is "
                "never checked automatically); its points are not in the autograded score yet")


def rubric_row(item, verdict: Verdict | None, failure: str) -> RubricRow:
    """One rubric row. An item a person grades (a written answer, a figure's mark) says
    "graded by hand" with its points, pending or given, never a silent pass."""
    score = item.score or 0
    manual = item.needs_manual_grade or item.kind != "autograded test"
    if item.needs_manual_grade:
        status, symbol = "to be graded by hand", "…"
    elif manual:
        status, symbol = BY_HAND, "✓" if score == item.max_score else "~"
    else:
        status, symbol = (("passed", "✓") if score == item.max_score else
                          ("partly passed", "~") if score > 0 else ("failed", "✗"))
    checks = check_lines(verdict, item.max_score) if verdict else []
    notes = verdict.notes if verdict else []  # the judge's diagnoses
    note = "; ".join(notes) or (failure if not checks and status in ("failed", "partly passed")
                                else PENDING_NOTE if item.needs_manual_grade else "")
    return RubricRow(item.notebook, item.name, BY_HAND if manual else item.kind, score,
                     item.max_score, status, symbol, checks, note)


def gradient_rows(name: str, verdict: Verdict | None) -> list[GradientRow]:
    """The failed gradient comparisons of a cell: the quantity, its relative error and
    the tolerance, from the fields of the judge's verdict."""
    return [GradientRow(name, c.quantity, f"{c.relative_error:.2e}", f"{c.tolerance:.0e}", False)
            for c in (verdict.checks if verdict else [])
            if not c.passed and c.quantity is not None and c.relative_error is not None
            and c.tolerance is not None]


def accuracy_rows(name: str, verdict: Verdict | None) -> list[AccuracyRow]:
    """Accuracies the judge measured in a cell, with per-class figures where it gave them."""
    from ...student.checks.saved_files.accuracy import class_name

    rows = []
    for check in (verdict.checks if verdict else []):
        if check.accuracy is None:
            continue
        per_class = [(class_name(check.dataset or "", i), v)
                     for i, v in enumerate(check.per_class or [])]
        rows.append(AccuracyRow(name, check.name, check.accuracy, check.threshold,
                                check.passed, per_class))
    return rows


def page_model(course: Course, student: str,
               assignment: str | Assignment) -> FeedbackPage | None:
    """The feedback page's data; None if the submission was never graded.

    assignment: its name, or the Assignment the batch read once (assignment.read_assignment)."""
    task = assignment_of(course, assignment)
    assignment = task.name
    items = gradebook.submission_items(course, assignment, student)
    if not items:
        return None
    record = grading_record.load(course, student, assignment)
    stale = versions.is_stale(record, task)
    if stale:  # its old scores out of its old points, never out of the new ones
        items = versions.as_graded(items, record)
    verdicts = record.by_cell() if record else {}
    hidden = task.hidden
    failure = redact(record.problem if record else "", hidden, 4000)
    rubric, gradients, accuracies = [], [], []
    for item in items:
        verdict = verdicts.get((item.notebook, item.name))
        rubric.append(rubric_row(item, verdict, failure))
        gradients += gradient_rows(item.name, verdict)
        accuracies += accuracy_rows(item.name, verdict)
    comments = gradebook.manual_comments(course, assignment, student)
    manual = {(i.notebook, i.name): (i.score, i.max_score, comments.get((i.notebook, i.name), ""))
              for i in items if i.kind == "manual answer" and not i.needs_manual_grade}
    work, figures = [], []
    for path in outcomes.autograded_notebooks(course, student, assignment):
        cells, found = own_work(path, hidden, manual)
        work, figures = work + cells, figures + found
    auto = [i for i in items if i.kind == "autograded test"]
    by_hand = [i for i in items if i.kind != "autograded test" and not i.needs_manual_grade]
    return FeedbackPage(assignment, student, sum((i.score or 0) for i in auto),
                        sum(i.max_score for i in auto), sum((i.score or 0) for i in by_hand),
                        sum(i.max_score for i in by_hand),
                        sum(i.max_score for i in items if i.needs_manual_grade), failure,
                        rubric, gradients, accuracies, work, figures, stale)


def page_path(course: Course, student: str, assignment: str) -> Path:
    return course.feedback / student / assignment / PAGE


def feedback_page(course: Course, student: str, assignment: str | Assignment) -> Path | None:
    """Write feedback/<student>/<assignment>/feedback.html; None if nothing was graded."""
    model = page_model(course, student, assignment)
    if model is None:
        return None
    return write_page("feedback.html.j2", model, page_path(course, student, model.assignment))


def feedback(course: Course, assignments=None, students=None) -> list[Path]:
    """Every feedback page. A page that shows a hidden-test or mark-scheme line is deleted
    and LeakError raised (the student's own, correct, code may equal a solution line)."""
    pages = []
    for assignment in assignments or course.assignments():
        task = read_assignment(course, assignment)  # once for the batch's pages
        written = [page for student in students or gradebook.students(course)
                   if (page := feedback_page(course, student, task))]
        leaks = leakcheck.find_leaks(course.notebooks(assignment), written, base=course.root,
                                     kinds=("hidden test", "mark scheme"))
        for leak in leaks:
            (course.root / leak.released_file).unlink(missing_ok=True)
        leakcheck.raise_on_leaks(leaks)
        pages += written
    return pages
