"""What a student may see of a graded submission before the deadline.

The service must not be an oracle for hidden tests. Under ``feedback_before_deadline``:

visible  only the checks the student can run in their own Jupyter (outside
         ``BEGIN/END HIDDEN TESTS``), with the judge's message; the score is out of those
         checks' share of the points alone.
all      the visible checks as above; the hidden ones of each cell as counts passed and
         failed, no message; the full score.

A check is visible when its call in the teacher's test cell lies outside the hidden block;
the judge's verdict lists a cell's checks in the order of the calls (judge.judge_cells).
A cell whose verdict does not list them one to one (a cell judged from a saved file) is
treated as hidden. After the deadline the student gets the full feedback page.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..assignment import Assignment, hidden_line_numbers
from ..course import nbgrader_meta
from ..judge.redact import redact
from ..record.grading_record import GradingRecord
from ..replay import cell_source


@dataclass
class ShownCheck:
    name: str
    passed: bool
    message: str


@dataclass
class ShownCell:
    notebook: str
    name: str
    score: float
    max_score: float
    checks: list[ShownCheck] = field(default_factory=list)
    hidden_passed: int = 0    # shown only under "all"
    hidden_failed: int = 0


@dataclass
class ShownResults:
    score: float
    max_score: float
    cells: list[ShownCell]
    problem: str
    complete: bool            # every check's result shown ("all")


def _check_call_lines(source: str) -> list[int]:
    """Lines of the top-level ``checks.check_*(...)`` calls (replay.py's rule), in order."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    found = []
    for statement in tree.body:
        value = getattr(statement, "value", None)
        if (isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign))
                and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name) and value.func.value.id == "checks"
                and value.func.attr.startswith("check_")):
            found.append(statement.lineno)
    return found


def visible_flags(task: Assignment) -> dict[str, list[bool]]:
    """{grade_id: [whether each check call of the test cell is visible]}."""
    flags = {}
    for notebook in task.sources.values():
        for cell in notebook["cells"]:
            meta = nbgrader_meta(cell)
            if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
                source = cell_source(cell)
                hidden = hidden_line_numbers(source)
                flags[meta["grade_id"]] = [line not in hidden
                                           for line in _check_call_lines(source)]
    return flags


def shown_results(task: Assignment, record: GradingRecord, mode: str) -> ShownResults:
    """The results of ``record`` a student may see before the deadline under ``mode``."""
    flags = visible_flags(task)
    cells, score, maximum = [], 0.0, 0.0
    for grade_id, verdict in record.verdicts.items():
        visible = flags.get(grade_id, [])
        if len(visible) != len(verdict.checks):
            visible = [False] * len(verdict.checks)
        weights = [max(0.0, c.max_points) for c in verdict.checks]
        total = sum(weights) or 1.0
        cell = ShownCell(verdict.notebook, grade_id, 0.0, 0.0)
        for check, weight, seen in zip(verdict.checks, weights, visible):
            if seen:
                cell.checks.append(ShownCheck(check.name, check.passed, check.message))
                cell.max_score += verdict.max_score * weight / total
                cell.score += verdict.max_score * weight / total if check.passed else 0.0
            elif check.passed:
                cell.hidden_passed += 1
            else:
                cell.hidden_failed += 1
        if mode == "all":
            cell.score, cell.max_score = verdict.score, verdict.max_score
        else:
            cell.hidden_passed = cell.hidden_failed = 0
            if not cell.checks:
                continue  # nothing of this cell is shown before the deadline
        cell.score, cell.max_score = round(cell.score, 3), round(cell.max_score, 3)
        score, maximum = score + cell.score, maximum + cell.max_score
        cells.append(cell)
    return ShownResults(round(score, 3), round(maximum, 3), cells,
                        redact(record.problem, task.hidden, 2000), mode == "all")
