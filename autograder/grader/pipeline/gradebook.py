"""The one gradebook (nbgrader's database): job copies, merging, and reading scores.

Only the coordinator writes the course gradebook. A grading job works on a copy from
which the reference solutions are removed (the submission's kernel could read that copy;
it needs only the test cells), and its grades are merged back here.
"""
from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .course import Course


def db_url(path: Path) -> str:
    return f"sqlite:///{path}"


def job_copy(course: Course, destination: Path) -> None:
    """A consistent copy of the gradebook without the source of solution cells."""
    with sqlite3.connect(course.gradebook) as src, sqlite3.connect(destination) as dst:
        src.backup(dst)
    with sqlite3.connect(destination) as db:
        db.execute("UPDATE source_cell SET source = '' WHERE name IN "
                   "(SELECT base_cell.name FROM base_cell JOIN solution_cells "
                   "ON base_cell.id = solution_cells.id)")
        db.commit()


def merge_job(course: Course, job_db: Path, assignment: str, student: str) -> None:
    """Copy one submission's automatic scores and comments from a job's gradebook."""
    with Gradebook(db_url(job_db), "dl-course") as job, \
            Gradebook(db_url(course.gradebook), "dl-course") as main:
        submitted = job.find_submission(assignment, student)
        main.update_or_create_student(student)
        main.update_or_create_submission(assignment, student, timestamp=submitted.timestamp)
        for notebook in submitted.notebooks:
            for grade in notebook.grades:
                target = main.find_grade(grade.name, notebook.name, assignment, student)
                target.auto_score = grade.auto_score
                target.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                target = main.find_comment(comment.name, notebook.name, assignment, student)
                target.auto_comment = comment.auto_comment
        main.db.commit()


def apply_verdicts(course: Course, assignment: str, student: str, verdicts: dict) -> None:
    """A test cell whose trusted judge failed scores 0, whatever the kernel reported."""
    failed = {(v["notebook"], grade_id) for grade_id, v in verdicts.items() if not v["passed"]}
    if not failed:
        return
    with Gradebook(db_url(course.gradebook), "dl-course") as main:
        for notebook, grade_id in failed:
            main.find_grade(grade_id, notebook, assignment, student).auto_score = 0
        main.db.commit()


def record_failure(course: Course, assignment: str, student: str) -> None:
    """A submission that could not be graded scores 0 on every autograded cell."""
    with Gradebook(db_url(course.gradebook), "dl-course") as main:
        main.update_or_create_student(student)
        submission = main.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code" and not _is_solution(main, grade):
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        main.db.commit()


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
    with Gradebook(db_url(course.gradebook), "dl-course") as gb:
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
    with Gradebook(db_url(course.gradebook), "dl-course") as gb:
        return sorted(s.id for s in gb.students)


def has_assignment(course: Course, assignment: str) -> bool:
    if not course.gradebook.exists():
        return False
    with Gradebook(db_url(course.gradebook), "dl-course") as gb:
        try:
            gb.find_assignment(assignment)
            return True
        except MissingEntry:
            return False


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dst)
