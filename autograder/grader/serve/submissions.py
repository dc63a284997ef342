"""The durable queue: one row per accepted submission, in the service's database.

A row is written (after its upload is on disk: uploads.store) before the client hears
202, so an accepted submission survives a crash. States: queued -> grading -> graded or
failed. The grading loop claims rows in one transaction (``claim``), marked with its
process's owner key; rows left in 'grading' by a process that is gone go back in the queue
(``requeue_interrupted``: on start, and on PostgreSQL before every claim, so that another
process takes over a killed one's work), never a live process's; and a row leaves
'grading' once, in the transaction that stores its scores, and only by its owner
(``finish``): each accepted submission ends graded (or failed) exactly once.
"""
from __future__ import annotations

import json
import secrets
import time

from ..course import Course
from . import database
from .records import COLUMNS, Submission


def add(course: Course, submission_id: str, student: str, assignment: str, notebook: str,
        hand_in: list[str], admit) -> Submission:
    """Queue an accepted submission whose upload is stored already. ``admit(now, earlier)``
    (policy.admit: the student's submissions of the assignment in the last hour) decides
    in the same transaction, so that simultaneous uploads cannot pass a limit together:
    it raises to refuse, or returns whether the submission is late."""
    with database.connect(course) as db:
        now = time.time()
        earlier = [created for (created,) in db.execute(
            "SELECT created FROM submissions WHERE student = ? AND assignment = ? "
            "AND created >= ? ORDER BY created", (student, assignment, now - 3600.0))]
        late = admit(now, earlier)
        db.execute("INSERT INTO submissions (id, student, assignment, created, state, late, "
                   "notebook, hand_in) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                   (submission_id, student, assignment, now, int(late), notebook,
                    json.dumps(hand_in)))
    return get(course, submission_id)


def new_id() -> str:
    """An id nobody can guess (it names the submission in URLs; access is still checked)."""
    return secrets.token_hex(12)


def get(course: Course, submission_id: str) -> Submission | None:
    with database.connect(course, write=False) as db:
        row = db.execute(f"SELECT {COLUMNS} FROM submissions WHERE id = ?",
                         (submission_id,)).fetchone()
    return Submission.from_row(row) if row else None


def of_student(course: Course, student: str) -> list[Submission]:
    with database.connect(course, write=False) as db:
        rows = db.execute(f"SELECT {COLUMNS} FROM submissions WHERE student = ? "
                          "ORDER BY created DESC", (student,)).fetchall()
    return [Submission.from_row(row) for row in rows]


def every(course: Course) -> list[Submission]:
    with database.connect(course, write=False) as db:
        rows = db.execute(f"SELECT {COLUMNS} FROM submissions ORDER BY created").fetchall()
    return [Submission.from_row(row) for row in rows]


def recent(course: Course, student: str, assignment: str, since: float) -> list[float]:
    """When ``student`` submitted ``assignment`` since ``since``, oldest first."""
    with database.connect(course, write=False) as db:
        return [created for (created,) in db.execute(
            "SELECT created FROM submissions WHERE student = ? AND assignment = ? "
            "AND created >= ? ORDER BY created", (student, assignment, since))]


def requeue_interrupted(course: Course) -> int:
    """Put back in the queue what stopped services were grading (database.alive: not a
    live process's rows); how many rows."""
    with database.connect(course) as db:
        owners = [key for (key,) in db.execute(
            "SELECT DISTINCT owner FROM submissions WHERE state = 'grading'")]
        return sum(db.execute("UPDATE submissions SET state = 'queued', owner = '' "
                              "WHERE state = 'grading' AND owner = ?", (key,)).rowcount
                   for key in owners if not database.alive(course, db, key))


def claim(course: Course, most: int) -> list[Submission]:
    """Mark the oldest queued submissions 'grading' by this process and return them: all of
    one assignment (the oldest waiting one's), at most one per student, and none of a
    student another process is grading now (a student's submissions are graded in the
    order they came, each in a batch of its own: their folders under submitted/ and their
    gradebook rows are written by one process at a time), at most ``most``."""
    me = database.owner(course)
    with database.connect(course) as db:
        busy = {student for (student,) in db.execute(
            "SELECT DISTINCT student FROM submissions WHERE state = 'grading'")}
        rows = [Submission.from_row(row) for row in db.execute(
            f"SELECT {COLUMNS} FROM submissions WHERE state = 'queued' ORDER BY created")]
        rows = [row for row in rows if row.student not in busy]
        if not rows:
            return []
        batch, students = [], set()
        for row in rows:
            if row.assignment == rows[0].assignment and row.student not in students:
                batch.append(row)
                students.add(row.student)
            else:
                students.add(row.student)  # keeps a student's later ones behind this one
            if len(batch) == most:
                break
        db.executemany("UPDATE submissions SET state = 'grading', owner = ? WHERE id = ?",
                       [(me, row.id) for row in batch])
    return [get(course, row.id) for row in batch]


def finish(course: Course, submission: Submission) -> None:
    """Store a graded (or failed) submission's scores and state, in one transaction;
    the row must still be 'grading' by this process (it leaves that state once)."""
    with database.connect(course) as db:
        changed = db.execute(
            "UPDATE submissions SET state = ?, score = ?, max_score = ?, shown_score = ?, "
            "shown_max = ?, problem = ?, graded = ? WHERE id = ? AND state = 'grading' "
            "AND owner = ?",
            (submission.state, submission.score, submission.max_score, submission.shown_score,
             submission.shown_max, submission.problem, submission.graded,
             submission.id, database.owner(course))).rowcount
    if changed != 1:
        raise RuntimeError(f"submission {submission.id} was not being graded by this process")


def set_counting(course: Course, student: str, assignment: str, submission_id: str | None):
    """Mark which of a student's submissions the gradebook holds."""
    with database.connect(course) as db:
        db.execute("UPDATE submissions SET counts = CASE WHEN id = ? THEN 1 ELSE 0 END "
                   "WHERE student = ? AND assignment = ?", (submission_id, student, assignment))


def counts_by_state(course: Course) -> dict[str, int]:
    with database.connect(course, write=False) as db:
        found = dict(db.execute("SELECT state, COUNT(*) FROM submissions GROUP BY state"))
    return {state: found.get(state, 0) for state in ("queued", "grading", "graded", "failed")}
