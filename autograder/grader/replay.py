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

It sits below the stages because three of them read an assignment this way: release
refuses test cells it cannot rebuild, the judge decides them, and the reports hide their
lines.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..student import checks as check_library
from ..student.checks.core import StudentObject, building
from .course import Course, nbgrader_meta
from .settings import AssignmentSettings, read_settings

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


def source_hidden_lines(sources: dict[str, dict], shortest: int = 12) -> list[str]:
    """The lines of the hidden tests of ``sources`` (for redacting leaks),
    whitespace-collapsed."""
    lines = []
    for notebook in sources.values():
        for cell in notebook["cells"]:
            hidden = False
            for line in cell_source(cell).splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    hidden = True
                elif "END HIDDEN TESTS" in line:
                    hidden = False
                elif hidden and len(" ".join(line.split())) >= shortest:
                    lines.append(" ".join(line.split()))
    return lines


@dataclass(eq=False)
class Assignment:
    """An assignment as the teacher wrote it in ``source/``, read once per batch: its
    notebooks, hidden-test lines, settings (the notebooks' ``autograder`` metadata, as
    written in ``settings`` and checked in ``options``) and,
    built on first use, its test cells and the files the judge reads. The judge,
    diagnose and every report take it instead of re-reading the notebooks."""

    name: str
    sources: dict[str, dict]   # {notebook file name: the teacher's notebook}, in order
    digest: str                # sha256 of the notebooks' names and bytes
    stamp: tuple = ()          # the files' (name, inode, size, mtime) when read

    @cached_property
    def hidden(self) -> list[str]:
        return source_hidden_lines(self.sources)

    @cached_property
    def settings(self) -> dict:
        found = {}
        for notebook in self.sources.values():
            found.update(notebook.get("metadata", {}).get("autograder", {}) or {})
        return found

    @cached_property
    def options(self) -> AssignmentSettings:
        """``settings`` read and checked: budget, from_scratch, limits, hand_in
        (settings.py); SettingsError names a wrong key."""
        return read_settings(self.settings, f"source/{self.name}")

    @cached_property
    def cells(self) -> list[TestCell]:
        """The test cells, replayed once; ReplayError names a check that cannot be."""
        return source_test_cells(self.sources)

    def fresh_cells(self) -> list[TestCell]:
        """The test cells with checks of their own, for one submission's judging (the
        judge sets a check's nonce and folder; no state passes between submissions)."""
        return copy.deepcopy(self.cells)

    @property
    def judged_files(self) -> list[str]:
        return [cell.judge_spec["path"] for cell in self.cells if cell.judge_spec]


_READ: dict[tuple[str, str], Assignment] = {}  # the last reading of each assignment


def _stamp(paths: list[Path]) -> tuple:
    found = []
    for path in paths:
        info = path.stat()
        found.append((path.name, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(found)


def read_assignment(course: Course, assignment: str) -> Assignment:
    """The assignment's source notebooks, read and parsed once while they stay the same:
    files whose inode, size and time are unchanged are not read again, and changed bytes
    (a re-release) give a new reading; files touched but unchanged keep the old one."""
    paths = course.notebooks(assignment)
    key, stamp = (str(course.source), assignment), _stamp(paths)
    known = _READ.get(key)
    if known is not None and known.stamp == stamp:
        return known
    raw = {path.name: path.read_bytes() for path in paths}
    digest = hashlib.sha256(repr(list(raw.items())).encode()).hexdigest()
    if known is not None and known.digest == digest:
        known.stamp = stamp
        return known
    sources = {name: json.loads(data.decode("utf-8")) for name, data in raw.items()}
    _READ[key] = found = Assignment(assignment, sources, digest, stamp)
    return found


def assignment_of(course: Course, assignment: "str | Assignment") -> Assignment:
    """``assignment`` itself, or the Assignment of that name read from ``course``."""
    return assignment if isinstance(assignment, Assignment) else read_assignment(course,
                                                                                 assignment)


def test_cells(course: Course, assignment: str) -> list[TestCell]:
    """Every autograded test cell of the assignment's source notebooks, with its checks
    (rebuilt for this call: the caller may set a check's nonce and folder)."""
    return read_assignment(course, assignment).fresh_cells()


def hidden_lines(course: Course, assignment: str) -> list[str]:
    """The lines of the assignment's hidden tests (for redacting leaks), whitespace-collapsed."""
    return read_assignment(course, assignment).hidden


def judged_files(course, assignment: str) -> list[str]:
    """The files the judge reads from a submission's folder."""
    return read_assignment(course, assignment).judged_files
