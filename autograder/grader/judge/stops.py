"""Why a test cell stopped, from the student's executed notebook (hostile data: what cannot
be parsed is ignored and only changes a message, never a score).

* A visible assert that stopped a test cell is quoted with its message.
* A ``NameError`` in a test cell names the solution cell that should have defined it.
* A file the notebook should have saved and did not is explained by the cell that saves
  it: that cell stopped with an error, or never ran.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from ..assignment import Assignment
from ..course import nbgrader_meta
from ..replay import cell_source
from .diagnose import MAX_SOURCE, _cells, _is_test, definitions
from .verdict import Verdict


def saving_cell_problem(folder: Path, notebook: str, filename: str) -> str:
    """Why the notebook did not save ``filename``: the cell that saves it raised, or the
    notebook never reached it. Empty when no cell mentions the file."""
    savers = [c for c in _cells(folder / f"{notebook}.ipynb")
              if c.get("cell_type") == "code" and not _is_test(c)
              and filename in cell_source(c)[:MAX_SOURCE]]
    if not savers:
        return ""
    for cell in savers:
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and output.get("output_type") == "error":
                kind = output.get("ename")
                kind = kind if isinstance(kind, str) and kind.isidentifier() else "an error"
                return (f"the cell that saves {filename} stopped with {kind} before saving "
                        "it: fix that error, then rerun the notebook from the top")
    if all(c.get("execution_count") is None for c in savers):
        return (f"the cell that saves {filename} never ran (an earlier cell stopped the "
                "notebook, or it timed out): fix the first error, then rerun from the top")
    return ""


def visible_messages(source: str) -> list[str]:
    """The messages of the teacher's visible asserts in a test cell: whole strings, or the
    text before the first placeholder of an f-string. Hidden tests are left out."""
    visible, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            hidden = "BEGIN" in line
            continue
        visible.append("" if hidden else line)
    messages = []
    try:
        tree = ast.parse("\n".join(l for l in visible if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
                messages.append(node.msg.value)
            elif isinstance(node.msg, ast.JoinedStr) and node.msg.values \
                    and isinstance(node.msg.values[0], ast.Constant):
                messages.append(str(node.msg.values[0].value))
    return [m for m in messages if len(m) >= 8]


def visible_stops(assignment: Assignment, folder: Path,
                  verdicts: dict[str, Verdict]) -> None:
    """For a failed test cell, name what stopped it: a ``NameError`` for a name one of the
    teacher's solution cells defines names that cell; for a cell whose checks were never
    reached, the teacher's visible assert that stopped it. Only the teacher's own words and
    names are repeated: the text of an error is the student's process talking and could
    say anything."""
    for name, source_nb in assignment.sources.items():
        executed = {nbgrader_meta(c).get("grade_id"): c for c in _cells(folder / name)}
        defining = defining_cells(source_nb)
        for cell in source_nb["cells"]:
            grade_id = nbgrader_meta(cell).get("grade_id")
            verdict = verdicts.get(grade_id)
            if not _is_test(cell) or not verdict or verdict.passed:
                continue
            ename, raised = _error(executed.get(grade_id))
            missing = _undefined_name(raised) if ename == "NameError" else ""
            if missing in defining:
                verdict.add_note(f"name {missing!r} is not defined: it is defined by your "
                                  f"answer in cell {defining[missing]} (did that cell run "
                                  "without an error?)")
                continue
            if "did not reach it" not in verdict.message:
                continue
            matched = [m for m in visible_messages(cell_source(cell))
                       if ename == "AssertionError" and raised.startswith(m)]
            if matched:
                verdict.add_note("the cell stopped at a visible test before reaching the "
                                  f"grader's checks: {matched[0]!r}")
            elif ename:
                verdict.add_note(f"the cell stopped with {ename} before reaching the grader's "
                                  "checks: run it in your notebook to see where")


def defining_cells(source_nb: dict) -> dict[str, str]:
    """{name: the grade_id (or "number N") of the teacher's solution cell that defines it}."""
    defining = {}
    for number, cell in enumerate(source_nb["cells"], start=1):
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.get("cell_type") == "code":
            for defined in definitions(cell_source(cell)):
                defining.setdefault(defined, meta.get("grade_id") or f"number {number}")
    return defining


def _undefined_name(evalue: str) -> str:
    """The name of ``name 'softmax' is not defined``; "" for any other text."""
    found = re.match(r"name '(\w+)' is not defined\b", evalue.strip()[:200])
    return found.group(1) if found else ""


def _error(cell: dict | None) -> tuple[str, str]:
    """(exception type, message) of the error a cell's outputs show; ("", "") if none."""
    for output in (cell or {}).get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            ename, evalue = output.get("ename"), output.get("evalue")
            ename = ename if isinstance(ename, str) and ename.isidentifier() else "an error"
            return ename, evalue if isinstance(evalue, str) else ""
    return "", ""
