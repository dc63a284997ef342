"""The instructor's live dashboard: the queue now, what is being graded, the failures, and
per assignment the scores of the submissions that count (the gradebook's), with the score
histogram of the static dashboard (report/render.histogram)."""
from __future__ import annotations

from ..course import Course
from ..report.render import histogram
from . import policy, submissions


def dashboard_model(course: Course, grader=None) -> dict:
    rows = submissions.every(course)
    per_assignment = {}
    for row in rows:
        entry = per_assignment.setdefault(row.assignment, {"name": row.assignment,
                                                           "submissions": 0, "scores": [],
                                                           "max_score": 0.0})
        entry["submissions"] += 1
        if row.counts and row.score is not None:
            entry["scores"].append(row.score)
            entry["max_score"] = max(entry["max_score"], row.max_score or 0.0)
    for entry in per_assignment.values():
        scores = entry["scores"]
        entry["students"] = len(scores)
        entry["mean"] = sum(scores) / len(scores) if scores else None
        entry["histogram"] = (histogram(scores, entry["max_score"], entry["name"])
                              if scores else "")
    failures = [{"id": r.id, "student": r.student, "assignment": r.assignment,
                 "submitted": policy.iso(r.created), "problem": r.problem}
                for r in rows if r.state == "failed" or (r.problem and r.state == "graded")]
    return {"states": submissions.counts_by_state(course),
            "grading_now": [{"id": r.id, "student": r.student, "assignment": r.assignment}
                            for r in (grader.now if grader else [])],
            "failures": failures[-50:], "assignments": list(per_assignment.values())}
