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


FAILED, NOTES = "GRADING_FAILED.txt", "GRADING_NOTES.txt"
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
