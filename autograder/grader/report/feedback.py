"""Feedback: one HTML page per student and assignment, built from a plain data model.

The page shows, in this order: the total; the rubric (every graded cell and every check
the trusted judge ran in it, ✓ or the points it cost and the judge's message); the
gradient checks and accuracies the judge measured; then only the student's own work
(answer cells, written answers with the manual grade once given, their figures). It
never contains a test cell's code, a solution or a mark scheme: the verdicts come from
``trusted_judge.json`` (judge.py), every kernel text is redacted (work.py), and the
pages are leak-checked after they are written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..record import gradebook, outcomes
from ..release import leakcheck
from ..course import Course
from ..judge.redact import redact
from .render import write_page
from ..replay import hidden_lines
from .work import Figure, WorkCell, own_work

PAGE = "feedback.html"
GRADIENT = re.compile(r"^(?P<quantity>.+?) is wrong: relative error (?P<error>[0-9.e+-]+) > "
                      r"(?P<tolerance>[0-9.e+-]+)")
THRESHOLD = re.compile(r"threshold (?P<threshold>[0-9.]+)")


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


def check_lines(verdict: dict, max_score: float) -> list[CheckLine]:
    """The judge's checks of a cell, each with the share of the cell's points it cost."""
    checks = verdict.get("checks", [])
    total = sum(max(0.0, float(c.get("max_points", 1))) for c in checks) or 1.0
    lines: dict[tuple, CheckLine] = {}
    for c in checks:
        cost = 0.0 if c["passed"] else max_score * float(c.get("max_points", 1)) / total
        key = (c["name"], bool(c["passed"]), c.get("message", ""))
        if key in lines:
            lines[key].count += 1
            lines[key].deduction = round(lines[key].deduction + cost, 3)
        else:
            lines[key] = CheckLine(*key[:2], round(cost, 3), key[2])
    return list(lines.values())


def rubric_row(item, verdict: dict | None, failure: str) -> RubricRow:
    score = item.score or 0
    if item.needs_manual_grade:
        status, symbol = "to be graded by hand", "…"
    elif item.kind == "manual answer":
        status, symbol = "graded by hand", "✓" if score == item.max_score else "~"
    else:
        status, symbol = (("passed", "✓") if score == item.max_score else
                          ("partly passed", "~") if score > 0 else ("failed", "✗"))
    checks = check_lines(verdict, item.max_score) if verdict else []
    notes = [str(n) for n in (verdict or {}).get("notes", [])]  # the judge's diagnoses
    note = "; ".join(notes) or (failure if not checks and status in ("failed", "partly passed")
                                else "")
    return RubricRow(item.notebook, item.name, item.kind, score, item.max_score, status,
                     symbol, checks, note)


def gradient_rows(name: str, verdict: dict) -> list[GradientRow]:
    """Gradient comparisons of a cell: the judge's ``details["gradients"]`` where a check
    gives them ({quantity, relative_error, tolerance}), else what its message says."""
    rows = []
    for check in verdict.get("checks", []):
        for entry in (check.get("details") or {}).get("gradients", []) or []:
            rows.append(GradientRow(name, str(entry.get("quantity", "")),
                                    f"{float(entry.get('relative_error', 0)):.2e}",
                                    f"{float(entry.get('tolerance', 0)):.0e}",
                                    bool(entry.get("passed", check["passed"]))))
        found = GRADIENT.match(check.get("message", ""))
        if found and not check["passed"]:
            rows.append(GradientRow(name, found["quantity"], found["error"],
                                    found["tolerance"], False))
    return rows


def accuracy_rows(name: str, verdict: dict) -> list[AccuracyRow]:
    """Accuracies the judge measured in a cell, with per-class figures where it gave them."""
    from ...student.checks.saved_files.accuracy import class_name

    rows = []
    for check in verdict.get("checks", []):
        details = check.get("details") or {}
        if "accuracy" not in details:
            continue
        threshold = THRESHOLD.search(check.get("message", ""))
        dataset = check.get("message", "").split(" ")[0]
        per_class = [(class_name(dataset, i), float(v))
                     for i, v in enumerate(details.get("per_class") or [])]
        rows.append(AccuracyRow(name, check["name"], float(details["accuracy"]),
                                float(threshold["threshold"]) if threshold else None,
                                bool(check["passed"]), per_class))
    return rows


def page_model(course: Course, student: str, assignment: str) -> FeedbackPage | None:
    """The feedback page's data; None if the submission was never graded."""
    items = gradebook.submission_items(course, assignment, student)
    if not items:
        return None
    verdicts = outcomes.verdicts(course, student, assignment)
    hidden = hidden_lines(course, assignment)
    failure = redact(outcomes.failure_note(course, student, assignment), hidden, 4000)
    rubric, gradients, accuracies = [], [], []
    for item in items:
        verdict = verdicts.get((item.notebook, item.name))
        rubric.append(rubric_row(item, verdict, failure))
        gradients += gradient_rows(item.name, verdict or {})
        accuracies += accuracy_rows(item.name, verdict or {})
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
                        rubric, gradients, accuracies, work, figures)


def page_path(course: Course, student: str, assignment: str) -> Path:
    return course.feedback / student / assignment / PAGE


def feedback_page(course: Course, student: str, assignment: str) -> Path | None:
    """Write feedback/<student>/<assignment>/feedback.html; None if nothing was graded."""
    model = page_model(course, student, assignment)
    if model is None:
        return None
    return write_page("feedback.html.j2", model, page_path(course, student, assignment))


def feedback(course: Course, assignments=None, students=None) -> list[Path]:
    """Every feedback page. A page that shows a hidden-test or mark-scheme line is deleted
    and LeakError raised (the student's own, correct, code may equal a solution line)."""
    pages = []
    for assignment in assignments or course.assignments():
        written = [page for student in students or gradebook.students(course)
                   if (page := feedback_page(course, student, assignment))]
        leaks = leakcheck.find_leaks(course.notebooks(assignment), written, base=course.root,
                                     kinds=("hidden test", "mark scheme"))
        for leak in leaks:
            (course.root / leak.released_file).unlink(missing_ok=True)
        leakcheck.raise_on_leaks(leaks)
        pages += written
    return pages
