"""What a submission's grading said, for the feedback pages and the exports.

The result of a test cell is the trusted judge's verdict (judge.py): its message and the
list of its checks, read from the submission's grading record (grading_record.py). Nothing
the student's kernel printed or raised is shown as a test result; the notes of a job
(limits, failures) come from the coordinator.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..course import Course, read_notebook
from ..judge.verdict import Verdict
from .grading_record import load

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def autograded_notebooks(course: Course, student: str, assignment: str) -> list[Path]:
    return sorted((course.autograded / student / assignment).glob("*.ipynb"))


# Marks of a limit in a cell's output: (what the output says, the note for the grader).
LIMIT_MARKS = (("MemoryError", "the memory limit was reached (MemoryError)"),
               ("[output limit:", "the output limit was reached: later output was dropped"),
               ("File too large", "the file size limit was reached"),
               ("Resource temporarily unavailable",
                "the limit on processes was reached (a fork or thread failed)"),
               ("KeyboardInterrupt", "a cell ran past its wall-clock limit and was interrupted"),
               ("KernelDied", "the kernel died (it exited, or a sandbox limit stopped it); "
                              "later cells did not run"))


def failure_note(course: Course, student: str, assignment: str) -> str:
    """Why a submission could not be graded, and the notes of its grading."""
    record = load(course, student, assignment)
    return record.problem if record else ""


def limit_notes(folder: Path) -> list[str]:
    """Limits a submission ran into, from the outputs of its autograded notebooks."""
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            cells = read_notebook(path).get("cells", [])
        except (OSError, ValueError):
            continue
        text = "\n".join(str(output.get(key, "")) for cell in cells if isinstance(cell, dict)
                         for output in cell.get("outputs", []) if isinstance(output, dict)
                         for key in ("text", "ename", "evalue"))
        found += [note for mark, note in LIMIT_MARKS if mark in text and note not in found]
    return found


def verdicts(course: Course, student: str, assignment: str) -> dict[tuple[str, str], Verdict]:
    """{(notebook name, grade_id): the judge's verdict} of a submission's test cells."""
    record = load(course, student, assignment)
    return record.by_cell() if record else {}


def check_lines(verdict: Verdict | None) -> list[str]:
    """One line per check of a verdict: ``✓ name`` or ``✗ name: message``."""
    if verdict is None:
        return []
    lines = [f"✓ {c.name}" if c.passed else f"✗ {c.name}: {c.message}" for c in verdict.checks]
    return lines + [f"note: {note}" for note in verdict.notes]
