"""What a submission's grading said, for the feedback pages and the exports.

The result of a test cell is the trusted judge's verdict (judge.py): its message and the
list of its checks. Nothing the student's kernel printed or raised is shown as a test
result; the notes of a job (limits, failures) come from the coordinator.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..course import Course, read_notebook
from ..judge.verdict import Verdict

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def autograded_notebooks(course: Course, student: str, assignment: str) -> list[Path]:
    return sorted((course.autograded / student / assignment).glob("*.ipynb"))


FAILED, NOTES, JOB = "GRADING_FAILED.txt", "GRADING_NOTES.txt", "grading_job.json"
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
    folder = course.autograded / student / assignment
    return "\n".join(p.read_text().strip() for p in (folder / FAILED, folder / NOTES)
                     if p.is_file()).strip()


def write_notes(folder: Path, notes: list[str], failed: bool) -> None:
    """Notes of a job, kept beside its autograded notebook for feedback and exports."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (FAILED, NOTES):
        (folder / name).unlink(missing_ok=True)  # nothing a kernel left there counts
    if notes:
        (folder / (FAILED if failed else NOTES)).write_text("\n".join(notes) + "\n")


def write_job(folder: Path, status: str, message: str, notes: list[str], seconds: float,
              judge_seconds: float) -> None:
    """How a job went (status, why, time in its kernel and in the judge), for the
    dashboard; written by the coordinator after the job, over anything a kernel left."""
    (folder / JOB).unlink(missing_ok=True)
    (folder / JOB).write_text(json.dumps({
        "status": status, "message": message[-4000:], "notes": notes,
        "seconds": round(seconds, 3), "judge_seconds": round(judge_seconds, 3)}))


def read_job(folder: Path) -> dict:
    """What write_job wrote ({} for a submission graded before it existed)."""
    path = folder / JOB
    if not path.is_file() or path.is_symlink():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {}


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
    from ..judge.judge import read_verdicts

    return {(v.notebook, grade_id): v for grade_id, v
            in read_verdicts(course.autograded / student / assignment).items()}


def check_lines(verdict: Verdict | None) -> list[str]:
    """One line per check of a verdict: ``✓ name`` or ``✗ name: message``."""
    if verdict is None:
        return []
    lines = [f"✓ {c.name}" if c.passed else f"✗ {c.name}: {c.message}" for c in verdict.checks]
    return lines + [f"note: {note}" for note in verdict.notes]
