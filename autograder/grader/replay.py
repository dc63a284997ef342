"""Replay: rebuild, from ``source/``, every check a test cell calls.

The judge never reads a test cell from the submission. For each autograded test cell of
the teacher's notebook it finds the ``checks.check_*(...)`` calls, evaluates their
parameters (Python literals, or names the same cell assigns a literal) and calls the same
``check_*`` function inside :func:`building`, with a :class:`StudentObject` placeholder
for every other argument (the student's function, model or loader). What comes back is
exactly the Check the grading kernel ran, and its :meth:`Check.identity` finds the
evidence the kernel recorded for it.

A check call the judge cannot rebuild (inside a function or loop, a parameter that is not
a literal) is the teacher's to fix: :class:`ReplayError` names it, at release and in
tests, before any student is graded.

It sits below the stages because three of them read an assignment this way (through
assignment.py, which reads each assignment once per batch): release refuses test cells it
cannot rebuild, the judge decides them, and the reports hide their lines.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..student import checks as check_library
from ..student.checks.core import StudentObject, building
from .course import nbgrader_meta

NOT_PARAMETERS = ("raise_on_fail",)


class ReplayError(RuntimeError):
    """A check call in source/ that the judge cannot rebuild (the teacher's to fix)."""


@dataclass
class TestCell:
    """One autograded test cell of the teacher's notebook and the checks it calls."""

    notebook: str
    grade_id: str
    points: float
    checks: list = field(default_factory=list)
    judge_spec: dict | None = None


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _parse(source: str, where: str) -> ast.Module:
    # IPython magics and shell lines are not Python; they never hold a check call.
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as err:
        raise ReplayError(f"{where}: the test cell is not valid Python ({err})") from None


def _is_check_call(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
            and node.func.attr.startswith("check_"))


def _top_level_call(statement):
    """The check call a top-level statement makes (``checks.check_x(...)``, ``_ = ...``)."""
    value = getattr(statement, "value", None)
    if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)) and _is_check_call(value):
        return value
    return None


ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
              ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
              ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
              ast.Pow: lambda a, b: a ** b}


def _constant(node, literals: dict):
    """The value of a literal written in the teacher's cell: Python literals, names bound
    to literals, and arithmetic on them (``30 * 7 + 7``). Raises ValueError otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_constant(e, literals) for e in node.elts]
        return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_constant(k, literals): _constant(v, literals)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name) and node.id in literals:
        return literals[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant(node.operand, literals)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        return ARITHMETIC[type(node.op)](_constant(node.left, literals),
                                         _constant(node.right, literals))
    raise ValueError(f"not a literal: {ast.unparse(node)}")


def _literals(tree: ast.Module, known: dict | None = None) -> dict:
    """``known`` updated with the names ``tree`` assigns a literal at top level
    (``LAYERS = [...]``, ``LR = 0.01``), in order."""
    found = dict(known or {})
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            try:
                found[statement.targets[0].id] = _constant(statement.value, found)
            except (ValueError, TypeError, ArithmeticError):
                found.pop(statement.targets[0].id, None)
    return found


def _argument(node, literals: dict):
    try:
        return _constant(node, literals)
    except (ValueError, TypeError, ArithmeticError):
        return StudentObject(ast.unparse(node))


def build_check(call: ast.Call, literals: dict, where: str):
    """The Check that ``call`` (a ``checks.check_*`` call) runs, built without running it."""
    name = call.func.attr
    function = getattr(check_library, name, None)
    if function is None:
        raise ReplayError(f"{where}: checks.{name} is not a check of the library")
    args = [_argument(node, literals) for node in call.args]
    kwargs = {k.arg: _argument(k.value, literals) for k in call.keywords
              if k.arg and k.arg not in NOT_PARAMETERS}
    if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred)
                                                        for a in call.args):
        raise ReplayError(f"{where}: {ast.unparse(call)} unpacks arguments; the judge needs "
                          "every parameter written out")
    with building() as built:
        try:
            function(*args, **kwargs, raise_on_fail=False)
        except Exception as err:  # noqa: BLE001 (a broken call in source/ is the teacher's)
            if "StudentObject" in str(err):
                raise ReplayError(f"{where}: {ast.unparse(call)} has a parameter that is not "
                                  "a literal; write it out so the judge can rebuild the "
                                  "check") from None
            raise ReplayError(f"{where}: {ast.unparse(call)} cannot be rebuilt "
                              f"({type(err).__name__}: {err})") from None
    if len(built) != 1:
        raise ReplayError(f"{where}: {ast.unparse(call)} ran {len(built)} checks, expected 1")
    check = built[0]
    try:
        check.identity()
    except TypeError:
        raise ReplayError(f"{where}: {ast.unparse(call)} has a parameter that is not a "
                          "literal; write it out (or assign it a literal in the same cell) "
                          "so the judge can rebuild the check") from None
    return check


def cell_checks(source: str, where: str, known: dict | None = None) -> list:
    """The checks a test cell's source calls, in order; nested calls are refused.

    known: literals that the notebook's earlier given cells assign (``LR = 0.01``).
    """
    tree = _parse(source, where)
    literals = _literals(tree, known)
    top = {id(call) for call in map(_top_level_call, tree.body) if call is not None}
    for node in ast.walk(tree):
        if _is_check_call(node) and id(node) not in top:
            raise ReplayError(f"{where}: {ast.unparse(node)[:120]} is inside a function, "
                              "loop or expression; call checks at the top level of the "
                              "test cell so the judge can replay them")
    return [build_check(call, literals, where) for call in map(_top_level_call, tree.body)
            if call is not None]


def source_test_cells(sources: dict[str, dict]) -> list[TestCell]:
    """Every autograded test cell of the teacher's notebooks ``sources`` ({file name:
    notebook}, in order), with its checks."""
    cells = []
    for name, notebook in sources.items():
        known = {}  # literals of the teacher's given cells, which students cannot change here
        for cell in notebook["cells"]:
            meta = nbgrader_meta(cell)
            if cell.get("cell_type") != "code" or meta.get("solution"):
                continue
            if not meta.get("grade"):
                try:
                    known = _literals(_parse(cell_source(cell), name), known)
                except ReplayError:
                    pass
                continue
            where = f"{name} cell {meta['grade_id']}"
            found = TestCell(name.removesuffix(".ipynb"), meta["grade_id"],
                             float(meta.get("points", 0)))
            found.checks = cell_checks(cell_source(cell), where, known)
            if not found.checks:
                raise ReplayError(f"{where} calls no check of the library: its points "
                                  "could only come from plain asserts, which count for "
                                  "nothing at grading")
            found.judge_spec = cell_judge_spec(found.checks, where)
            _refuse_stale_copy(cell, found.judge_spec, where)
            cells.append(found)
    return cells


# Parameters that a visible check of a saved file (the student's feedback, on the
# validation split) must share with the judged one (the test split) of the same cell.
SHARED_FILE_PARAMETERS = ("dataset", "threshold", "layers", "preprocess", "parameter_cap")


def cell_judge_spec(checks: list, where: str) -> dict | None:
    """The judge spec of a test cell, derived from its check of a saved file on the test
    split (``check.judge_spec()``): the cell is then graded on that file alone, by the
    trusted judge. None when no check of the cell has one.

    The code line is the one source of the spec. Since the cell's other checks count for
    nothing then, only visible checks of the same file may sit beside it, with the same
    parameters (split aside): a threshold edited in one line only is refused, not ignored.
    """
    judged = []
    for check in checks:
        spec = check.judge_spec() if hasattr(check, "judge_spec") else None
        if spec is not None:
            judged.append((check, spec))
    if not judged:
        return None
    if len(judged) > 1:
        raise ReplayError(f"{where}: {len(judged)} checks of saved files on the test split; "
                          "a cell is judged on one file: give each its own test cell")
    check, spec = judged[0]
    for other in checks:
        if other is check:
            continue
        if type(other) is not type(check) or other.path != check.path:
            raise ReplayError(f"{where}: {other.name!r} would count for nothing: the cell is "
                              f"judged on {check.path} alone (its test-split check); move it "
                              "to a test cell of its own")
        differ = [k for k in SHARED_FILE_PARAMETERS
                  if getattr(other, k, None) != getattr(check, k, None)]
        if differ:
            shown = ", ".join(f"{k} {getattr(other, k, None)!r} vs {getattr(check, k, None)!r}"
                              for k in differ)
            raise ReplayError(f"{where}: the {other.split}-split and test-split checks of "
                              f"{check.path} disagree ({shown}); the test-split line is the "
                              "one judged: make both lines say the same")
    return spec


def _refuse_stale_copy(cell: dict, spec: dict | None, where: str) -> None:
    """A judge spec left in the cell's metadata (where kits before this one kept it, out of
    the instructor's sight) must say what the code line says, or the release stops."""
    copy_ = (cell.get("metadata", {}).get("autograder") or {}).get("judge")
    if copy_ is not None and copy_ != spec:
        raise ReplayError(f"{where}: the cell's metadata holds a judge spec {copy_} that "
                          f"differs from its code line's {spec}; the code line is the one "
                          "source: delete metadata.autograder.judge from the cell")
