"""The instructor's dashboard: one static page per assignment and one for the course.

Built from the gradebook (scores) and the grading record the coordinator keeps beside
each autograded submission (record/grading_record.py: status, notes, seconds, the judge's
verdicts with their checks and messages, the models' fingerprints for the similarity
flags, the version of the tests it was judged against). A submission graded against an
older version of its tests (record/versions.py) shows its own old score out of its own old
maximum, marked, and is left out of the class statistics, the histograms and the check
tables, which would otherwise mix old verdicts with new maxima. Pages are written to
``dashboard/`` and link to every student's feedback page with relative paths, so the
whole folder opens from the file system.
"""
from __future__ import annotations

import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ..record import gradebook, grading_record, versions
from ..record.grading_record import GradingRecord
from ..judge import similarity
from ..course import Course
from .feedback import page_path
from ..judge.redact import redact
from ..judge.verdict import CheckVerdict
from .render import histogram, write_page
from ..assignment import read_assignment

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
TOP_FAILURES = 15


@dataclass
class Submission:
    student: str
    score: float
    max_score: float
    status: str          # graded, timeout, error (from the job record)
    seconds: float | None
    judge_seconds: float | None
    problems: str        # why it failed to run or what limited it
    link: str            # relative link to the feedback page ("" if there is none)
    stale: bool = False  # graded against an older version of the tests (its old maximum)


@dataclass
class CheckRate:
    cell: str
    check: str
    passed: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.passed / self.total if self.total else 0.0


@dataclass
class Failure:
    cell: str
    check: str
    message: str                                          # one student's message
    students: list[tuple[str, str]] = field(default_factory=list)  # (student, link)


@dataclass
class AssignmentPage:
    assignment: str
    max_score: float
    histogram: str
    stats: dict
    submissions: list[Submission]
    checks: list[CheckRate]
    failures: list[Failure]
    not_run: list[Submission]
    similar: list[tuple]   # (file, reason, [(student, link)], [(student, student, similarity)])
    course_link: str = "index.html"
    stale: list[Submission] = field(default_factory=list)  # left out of the statistics


def folder(course: Course) -> Path:
    return course.root / "dashboard"


def feedback_link(course: Course, student: str, assignment: str) -> str:
    """The feedback page relative to the dashboard folder; "" when it was not written."""
    page = page_path(course, student, assignment)
    return os.path.relpath(page, folder(course)) if page.is_file() else ""


def submission(course: Course, student: str, assignment: str, items, hidden,
               record: GradingRecord | None, stale: bool = False) -> Submission:
    if stale:
        items = versions.as_graded(items, record)
    auto = [i for i in items if i.kind == "autograded test"]
    notes = ([record.message] if record.message else []) + record.notes if record else []
    return Submission(student, sum(i.score or 0 for i in auto), sum(i.max_score for i in auto),
                      record.status if record else "graded",
                      record.seconds if record else None,
                      record.judge_seconds if record else None,
                      redact("\n".join(n for n in notes if n), hidden, 1000),
                      feedback_link(course, student, assignment), stale)


def check_tables(course: Course, assignment: str, records: dict[str, GradingRecord | None]):
    """(pass rate per check, most common failures) over the judge's verdicts
    (``records``: {student: grading record})."""
    rates: dict[tuple[str, str], CheckRate] = {}
    failures: dict[tuple[str, str, str], Failure] = {}
    for student, record in records.items():
        link = feedback_link(course, student, assignment)
        for (_, cell), verdict in (record.by_cell() if record else {}).items():
            outcome: dict[str, CheckVerdict] = {}
            for check in verdict.checks:  # a name repeated in a cell: all must pass
                seen = outcome.setdefault(check.name, check)
                if seen.passed and not check.passed:
                    outcome[check.name] = check
            for name, check in outcome.items():
                rate = rates.setdefault((cell, name), CheckRate(cell, name, 0, 0))
                rate.total += 1
                rate.passed += check.passed
                if not check.passed:
                    message = check.message
                    key = (cell, name, NUMBER.sub("#", message)[:160])
                    failure = failures.setdefault(key, Failure(cell, name, message))
                    failure.students.append((student, link))
    common = sorted(failures.values(), key=lambda f: (-len(f.students), f.cell, f.check))
    return list(rates.values()), common[:TOP_FAILURES]


def score_stats(scores: list[float]) -> dict:
    if not scores:
        return {"n": 0}
    return {"n": len(scores), "mean": statistics.fmean(scores),
            "median": statistics.median(scores), "min": min(scores), "max": max(scores)}


def assignment_model(course: Course, assignment: str) -> AssignmentPage:
    task = read_assignment(course, assignment)
    subs, records = [], {}
    for student in gradebook.students(course):
        items = gradebook.submission_items(course, assignment, student)
        if items:
            records[student] = grading_record.load(course, student, assignment)
            subs.append(submission(course, student, assignment, items, task.hidden,
                                   records[student], versions.is_stale(records[student], task)))
    current = [s for s in subs if not s.stale]  # the statistics never mix two versions
    maximum = max((s.max_score for s in current or subs), default=0.0)
    scores = [s.score for s in current]
    rates, failures = check_tables(course, assignment,
                                   {s.student: records[s.student] for s in current})
    links = {s.student: s.link for s in subs}
    prints = grading_record.class_fingerprints(course, assignment)
    similar = [(name, reason, [(m, links.get(m, "")) for m in members], pairs)
               for name, reason, members, pairs
               in similarity.groups(similarity.copied_models(prints))]
    return AssignmentPage(assignment, maximum,
                          histogram(scores, maximum, f"{assignment}: autograded scores"),
                          score_stats(scores), subs, rates, failures,
                          [s for s in subs if s.status != "graded" or s.problems], similar,
                          stale=[s for s in subs if s.stale])


@dataclass
class CoursePage:
    assignments: list[dict]        # name, link, stats, max_score, not_run, flagged, seconds
    students: list[str]
    scores: dict                   # (student, assignment) -> Submission
    histogram: str = ""
    left_out: list[str] = field(default_factory=list)  # with a stale grade: not in the totals


def course_model(course: Course, pages: list[AssignmentPage]) -> CoursePage:
    rows, scores = [], {}
    for page in pages:
        seconds = [s.seconds for s in page.submissions if s.seconds is not None]
        rows.append({"name": page.assignment, "link": f"{page.assignment}.html",
                     "stats": page.stats, "max_score": page.max_score,
                     "not_run": len([s for s in page.not_run if s.status != "graded"]),
                     "limited": len(page.not_run), "flagged": len(page.similar),
                     "stale": len(page.stale),
                     "seconds": statistics.fmean(seconds) if seconds else None})
        scores.update({(s.student, page.assignment): s for s in page.submissions})
    students = sorted({student for student, _ in scores})
    left_out = sorted({s.student for p in pages for s in p.stale})
    maximum = sum(p.max_score for p in pages)
    totals = [sum(scores[(s, p.assignment)].score for p in pages if (s, p.assignment) in scores)
              for s in students if s not in left_out]
    return CoursePage(rows, students, scores,
                      histogram(totals, maximum, "course: total autograded points"), left_out)


def dashboard(course: Course, assignments=None) -> Path:
    """Write dashboard/<assignment>.html for each graded assignment and
    dashboard/index.html for the course; returns the course page."""
    pages = []
    for assignment in assignments or course.assignments():
        if gradebook.has_assignment(course, assignment):
            page = assignment_model(course, assignment)
            if page.submissions:
                write_page("dashboard_assignment.html.j2", page,
                           folder(course) / f"{assignment}.html")
                pages.append(page)
    return write_page("dashboard_course.html.j2", course_model(course, pages),
                      folder(course) / "index.html")
