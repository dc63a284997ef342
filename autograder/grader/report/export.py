"""Export: a grades CSV for the whole class and a Gradescope results.json per submission.

A submission graded against an older version of its assignment's tests (record/versions.py)
keeps its own old scores out of its own old maxima, never out of the new ones, and the
CSV's "<assignment> tests" column says "older version" (else "current").
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..record import gradebook, grading_record, outcomes, versions
from ..course import Course
from ..judge.redact import redact
from ..assignment import Assignment, assignment_of, read_assignment


def _score(item) -> float:
    return float(item.score or 0.0)


def export(course: Course, assignments=None, only=None) -> tuple[Path, list[Path]]:
    """Write exports/grades.csv (every student) and
    exports/gradescope/<student>/<assignment>/results.json (of the students ``only``
    names; None: all)."""
    assignments = assignments or course.assignments()
    students = gradebook.students(course)
    tasks = {a: read_assignment(course, a) for a in assignments}  # once for the batch
    table = {(s, a): gradebook.submission_items(course, a, s) for s in students for a in assignments}
    stale = set()
    for (s, a), items in table.items():
        record = grading_record.load(course, s, a) if items else None
        if versions.is_stale(record, tasks[a]):
            stale.add((s, a))
            table[(s, a)] = versions.as_graded(items, record)
    columns = {}
    for (_, a), items in table.items():
        columns.setdefault(a, [])
        for item in items:
            if item.name not in columns[a]:
                columns[a].append(item.name)
    course.exports.mkdir(parents=True, exist_ok=True)
    csv_path = course.exports / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        header = ["student"]
        for a in assignments:
            header += [f"{a} total", f"{a} max", f"{a} tests"]
            header += [f"{a}:{name}" for name in columns.get(a, [])]
        writer.writerow(header)
        for s in students:
            row = [s]
            for a in assignments:
                items = {i.name: i for i in table[(s, a)]}
                if not items:
                    row += ["", "", ""] + [""] * len(columns.get(a, []))
                    continue
                row += [f"{sum(_score(i) for i in items.values()):g}",
                        f"{sum(i.max_score for i in items.values()):g}",
                        "older version" if (s, a) in stale else "current"]
                row += ["pending" if n in items and items[n].needs_manual_grade
                        else (f"{_score(items[n]):g}" if n in items else "")
                        for n in columns.get(a, [])]
            writer.writerow(row)
    written = [gradescope_results(course, s, tasks[a], table[(s, a)])
               for s in students for a in assignments
               if table[(s, a)] and (only is None or s in only)]
    return csv_path, written


def gradescope_results(course: Course, student: str, assignment: str | Assignment,
                       items) -> Path:
    """Gradescope's results.json: one test per graded cell, with the judge's verdict on
    each of its checks."""
    task = assignment_of(course, assignment)
    assignment = task.name
    record = grading_record.load(course, student, assignment)
    stale = versions.is_stale(record, task)
    if stale:
        items = versions.as_graded(items, record)
    verdicts = record.by_cell() if record else {}
    failure = redact(record.problem if record else "", task.hidden, 4000)
    tests, pending = [], 0.0
    for item in items:
        if item.needs_manual_grade:
            # Not a zero: left out of the total until a grader scores it.
            pending += item.max_score
            tests.append({"name": f"{item.notebook}: {item.name} (graded by hand, "
                                  f"{item.max_score:g} points, pending)",
                          "score": 0.0, "max_score": 0.0,
                          "output": "Written answer: pending, not graded yet. These points "
                                    "are not in the total until a grader scores them.",
                          "visibility": "visible"})
            continue
        lines = outcomes.check_lines(verdicts.get((item.notebook, item.name)))
        output = "\n".join(lines) or ("passed" if _score(item) == item.max_score else failure)
        tests.append({"name": f"{item.notebook}: {item.name}", "score": _score(item),
                      "max_score": item.max_score, "output": output, "visibility": "visible",
                      "status": "passed" if _score(item) == item.max_score else "failed"})
    summary = failure or "Autograded by the course kit."
    if stale:
        summary = (f"Graded against an older version of this assignment's tests: the scores "
                   f"are out of the points of that version.\n{summary}")
    if pending:
        summary += (f"\n{pending:g} points of written answers are graded by hand and are not "
                    "in this total yet.")
    result = {"score": sum(t["score"] for t in tests), "tests": tests, "output": summary}
    path = course.exports / "gradescope" / student / assignment / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return path
