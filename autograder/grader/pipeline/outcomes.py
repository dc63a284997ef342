"""What each test cell of an autograded notebook said, without its code.

Shared by the feedback pages and the exports: only the error name and message of a
failing test cell are shown, never its source or traceback (which would reveal hidden
tests).
"""
from __future__ import annotations

import re
from pathlib import Path

from .course import Course, nbgrader_meta, read_notebook

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_messages(notebook: Path) -> dict[str, str]:
    """{grade_id: "" if the cell ran cleanly else "ErrorName: message"} for graded code cells."""
    messages = {}
    for cell in read_notebook(notebook).get("cells", []):
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            error = errors[-1]
            text = ANSI.sub("", f"{error.get('ename', 'Error')}: {error.get('evalue', '')}")
            messages[meta["grade_id"]] = text.strip().rstrip(":")
        else:
            messages[meta["grade_id"]] = ""
    return messages


def autograded_notebooks(course: Course, student: str, assignment: str) -> list[Path]:
    return sorted((course.autograded / student / assignment).glob("*.ipynb"))


def failure_note(course: Course, student: str, assignment: str) -> str:
    note = course.autograded / student / assignment / "GRADING_FAILED.txt"
    return note.read_text().strip() if note.exists() else ""


def all_messages(course: Course, student: str, assignment: str) -> dict[tuple[str, str], str]:
    """{(notebook name, grade_id): message} over a submission's autograded notebooks.

    A failed trusted-judge verdict replaces whatever the kernel said for that cell.
    """
    from .judge import read_verdicts

    found = {}
    for path in autograded_notebooks(course, student, assignment):
        for grade_id, message in test_messages(path).items():
            found[(path.stem, grade_id)] = message
    for grade_id, verdict in read_verdicts(course.autograded / student / assignment).items():
        if not verdict["passed"]:
            found[(verdict["notebook"], grade_id)] = f"trusted grader: {verdict['message']}"
    return found
