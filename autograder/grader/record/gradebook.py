"""The one gradebook (nbgrader's database): job copies, merging, and reading scores.

Only the coordinator writes the course gradebook, one transaction per job. A grading job
works on a copy from which the reference solutions are removed (the sandboxed kernel never
sees it; nbgrader needs only the test cells), and its grades are merged back here.
"""
from __future__ import annotations

import sqlite3
import warnings
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

# nbgrader's own session handling warns on every submission it reads back; it is noise to
# an instructor watching the progress bar.
warnings.filterwarnings("ignore", message=".*not in session.*")

from ..course import COURSE_ID, Course
from ..judge.verdict import Verdict


def db_url(path: Path) -> str:
    return f"sqlite:///{path}"


def exists(course: Course) -> bool:
    """Whether the course has a gradebook yet (a PostgreSQL one is taken to exist: opening
    it creates nbgrader's tables where they are missing)."""
    return course.db_url != db_url(course.gradebook) or course.gradebook.exists()


class Recorder:
    """The course gradebook, open for a whole batch: one engine, so SQLAlchemy compiles each
    statement once instead of once per job (that was most of a job's time here)."""

    def __init__(self, course: Course):
        self.main = Gradebook(course.db_url, COURSE_ID)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.main.close()

    def record(self, assignment: str, student: str, job_db: Path | None,
               verdicts: dict[str, Verdict], note: str = "") -> None:
        """Write one job's outcome into the course gradebook, in one transaction.

        job_db: the job's gradebook, for the submission's timestamp and what nbgrader
        decided about answer cells; None for a submission that could not be run to the end.
        verdicts: {grade_id: verdict} of the trusted judge: the only source of the score of
        an autograded test cell (a cell without a verdict scores 0).
        note: appended to every automatic comment (for example "graded without sandbox").
        Either all of it is written or, if anything fails, none of it.
        """
        main = self.main
        try:
            main.update_or_create_student(student)
            if job_db is not None:
                _copy_scores(main, job_db, assignment, student)
            _zero_autograded(main, assignment, student)
            for grade_id, verdict in verdicts.items():
                grade = main.find_grade(grade_id, verdict.notebook, assignment, student)
                grade.auto_score = float(verdict.score)
            if note:
                for notebook in main.find_submission(assignment, student).notebooks:
                    for comment in notebook.comments:
                        comment.auto_comment = "\n".join(filter(None, [comment.auto_comment, note]))
            main.db.commit()
        except Exception:
            main.db.rollback()
            raise


# The cells of one student's submission of one assignment, in a job's gradebook.
_CELLS_OF = ("FROM {table} x JOIN base_cell c ON x.cell_id = c.id "
             "JOIN submitted_notebook sn ON x.notebook_id = sn.id "
             "JOIN notebook n ON sn.notebook_id = n.id "
             "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
             "JOIN assignment a ON sa.assignment_id = a.id "
             "WHERE a.name = ? AND sa.student_id = ?")


def job_scores(job_db: Path, assignment: str, student: str):
    """What nbgrader recorded in a job's gradebook: (timestamp, [(cell, notebook,
    auto_score, needs_manual_grade)], [(cell, notebook, auto_comment)]). Plain SQL, read
    only: an ORM engine for each job's file would compile every statement again."""
    key = (assignment, student)
    with closing(sqlite3.connect(f"file:{job_db}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT sa.timestamp FROM submitted_assignment sa JOIN assignment a "
                         "ON sa.assignment_id = a.id WHERE a.name = ? AND sa.student_id = ?",
                         key).fetchone()
        if row is None:
            raise MissingEntry(f"No such submission: {assignment} for {student}")
        grades = db.execute("SELECT c.name, n.name, x.auto_score, x.needs_manual_grade "
                            + _CELLS_OF.format(table="grade"), key).fetchall()
        comments = db.execute("SELECT c.name, n.name, x.auto_comment "
                              + _CELLS_OF.format(table="comment"), key).fetchall()
    timestamp = datetime.fromisoformat(row[0]) if row[0] else None
    return timestamp, grades, comments


def _copy_scores(main: Gradebook, job_db: Path, assignment: str, student: str) -> None:
    timestamp, grades, comments = job_scores(job_db, assignment, student)
    main.update_or_create_submission(assignment, student, timestamp=timestamp)
    for cell, notebook, auto_score, needs_manual_grade in grades:
        target = main.find_grade(cell, notebook, assignment, student)
        target.auto_score = auto_score
        target.needs_manual_grade = bool(needs_manual_grade)
    for cell, notebook, auto_comment in comments:
        main.find_comment(cell, notebook, assignment, student).auto_comment = auto_comment


def _zero_autograded(main: Gradebook, assignment: str, student: str) -> None:
    submission = main.update_or_create_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.cell.cell_type == "code" and not _is_solution(main, grade):
                grade.auto_score = 0
                grade.needs_manual_grade = False


def _is_solution(gb: Gradebook, grade) -> bool:
    try:
        gb.find_solution_cell(grade.name, grade.notebook.name, grade.assignment.name)
        return True
    except MissingEntry:
        return False


@dataclass
class Item:
    """One graded cell of one submission."""

    notebook: str
    name: str
    kind: str          # "autograded test", "manual answer", "autograded answer"
    score: float | None
    max_score: float
    needs_manual_grade: bool


def submission_items(course: Course, assignment: str, student: str) -> list[Item]:
    """Every graded cell of a submission, in notebook order, with its current score."""
    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return []
        items = []
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                solution = _is_solution(gb, grade)
                kind = ("manual answer" if solution else "autograded test")
                items.append(Item(notebook.name, grade.name, kind, grade.score,
                                  grade.max_score, bool(grade.needs_manual_grade)))
        return items


def students(course: Course) -> list[str]:
    with Gradebook(course.db_url, COURSE_ID) as gb:
        return sorted(s.id for s in gb.students)


def has_assignment(course: Course, assignment: str) -> bool:
    if not exists(course):
        return False
    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            gb.find_assignment(assignment)
            return True
        except MissingEntry:
            return False


def manual_comments(course: Course, assignment: str, student: str) -> dict[tuple[str, str], str]:
    """{(notebook, cell name): the manual grader's comment} of a submission, where given."""
    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        return {(notebook.name, comment.name): comment.manual_comment
                for notebook in submission.notebooks for comment in notebook.comments
                if comment.manual_comment}
