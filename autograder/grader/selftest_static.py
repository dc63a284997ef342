"""The static part of ``autograder selftest`` (milliseconds, nothing run): every test
cell can be rebuilt by the judge (replay), every grader reference a check compares with
is registered (by the kit or the course's ``source/grader_references.py``), and no check
of a cell repeats another (same check, same parameters, same student code: it verifies
nothing new and shows as a second identical rubric row)."""
from __future__ import annotations

import ast
import json

from .assignment import hidden_line_numbers, read_assignment
from .course import Course, nbgrader_meta
from .references import COURSE_REFERENCES, course_references, kit_references
from .replay import ReplayError, cell_source

FIX_REFERENCE = ("correct the name in the check, or register it in source/"
                 f"{COURSE_REFERENCES}: register_reference({{key!r}}, your_function)")


def needed_references(check) -> list[str]:
    """The grader references ``check``'s judge compares with, by the names the teacher
    wrote (``check_values(f, "NAME")`` -> ``values:NAME``); the kit's own checks look up
    references the kit always installs."""
    if check.kind == "values":
        return [f"values:{check.reference}"]
    return list(getattr(check, "references_needed", ()))


def _calls(source: str) -> tuple[list[tuple[ast.Call, bool, str]], dict[str, list[int]]]:
    """(check call, hidden?, its text) for each top-level ``checks.check_*`` call of a test cell, and
    {name: lines where the cell's top level assigns it}."""
    hidden_lines = hidden_line_numbers(source)
    text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    found, assigned = [], {}
    for statement in ast.parse(text).body:
        for target in getattr(statement, "targets", [getattr(statement, "target", None)]):
            for node in ast.walk(target) if target is not None else ():
                if isinstance(node, ast.Name):
                    assigned.setdefault(node.id, []).append(statement.lineno)
        value = getattr(statement, "value", None)
        if (isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign))
                and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and isinstance(value.func.value, ast.Name) and value.func.value.id == "checks"
                and value.func.attr.startswith("check_")):
            written = " ".join(ast.get_source_segment(text, value).split())
            found.append((value, statement.lineno in hidden_lines, written))
    return found, assigned


def _student_arguments(call: ast.Call) -> tuple:
    """The arguments that are not literals (the student's objects), as written."""
    nodes = list(call.args) + [k.value for k in call.keywords]
    found = []
    for node in nodes:
        try:
            ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            found.append(ast.unparse(node))
    return tuple(found)


def _rebound(first: ast.Call, second: ast.Call, assigned: dict) -> bool:
    """True when a name the second call's student arguments use is assigned again
    between the two calls (``probe = ModelB()``): then they check other objects."""
    names = {n.id for n in ast.walk(second) if isinstance(n, ast.Name)}
    return any(first.lineno < line < second.lineno
               for name in names for line in assigned.get(name, ()))


def repeated_checks(where: str, source: str, checks: list) -> list[str]:
    """Checks of one cell that repeat another: the same check (identity: its parameters)
    on the same student code, written the same way and not rebound in between."""
    problems, seen = [], {}
    calls, assigned = _calls(source)
    for (call, hidden, written), check in zip(calls, checks):
        key = (check.identity(), _student_arguments(call))
        earlier = seen.setdefault(key, [])
        repeat = next((c for c in earlier if not _rebound(c[0], call, assigned)), None)
        earlier.append((call, hidden, written))
        if repeat is None:
            continue
        _, first_hidden, first = repeat
        what = ("the hidden check" if hidden else "the check") + f" `{written}`"
        other = ("the hidden check" if first_hidden else "the visible check") + f" `{first}`"
        problems.append(f"{where}: {what} repeats {other} (duplicate check name "
                        f"{check.name!r}, same parameters, same student code): it verifies "
                        "nothing new and shows as a second identical rubric row. Fix: give "
                        "it other inputs (another seed=, shape=, ...) or delete it")
    return problems


def static_problems(course: Course, assignment: str) -> list[str]:
    """What can be refused without running anything (see the module's docstring)."""
    try:
        cells = {cell.grade_id: cell for cell in read_assignment(course, assignment).cells}
    except ReplayError as err:
        return [f"{err} (the judge could not replay this cell)"]
    registered = set(kit_references()) | set(course_references(course.source))
    problems = []
    for path in course.notebooks(assignment):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            test = cells.get(nbgrader_meta(cell).get("grade_id"))
            if test is None or not nbgrader_meta(cell).get("grade") or test.judge_spec:
                continue
            where = f"{path.relative_to(course.root)} cell {test.grade_id}"
            problems += repeated_checks(where, cell_source(cell), test.checks)
            for check in test.checks:
                for key in needed_references(check):
                    if key not in registered:
                        known = sorted(k for k in registered if k.startswith("values:"))
                        problems.append(
                            f"{where}: check {check.name!r} compares with the grader "
                            f"reference {key!r}, which is not registered (registered: "
                            f"{', '.join(known) or 'none'}). Fix: "
                            + FIX_REFERENCE.format(key=key))
    return problems
