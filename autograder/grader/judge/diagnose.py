"""Diagnose: explanations the judge adds to a failure from the shape of the notebook.

* A test whose failing check calls (through the student's definitions) an answer whose
  own test failed says so ("this test uses your ``sigmoid_grad`` (through
  ``mlp_gradients``), which failed test_sigmoid"), so that a student fixes the cause,
  not the symptom. An answer that passed a check of its own is never blamed. Where the
  grading kernel recorded which of the notebook's definitions a check's collect half
  really called (student/checks/reach.py), only those count; without that record (old
  evidence, a cell that stopped) the static call graph stands in.

Why a test cell stopped (a visible assert, a ``NameError``, a file never saved): stops.py.

All read the student's executed notebook, which is hostile data: anything that cannot be
parsed is ignored and only changes a message, never a score.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

from ..course import nbgrader_meta
from ..replay import cell_source
from ..assignment import Assignment
from .verdict import Verdict

MAX_SOURCE = 200_000   # characters of one cell; longer cells are not analysed
MAX_NOTEBOOK = 32 * 2**20
MAX_TRACED = 256       # names of one check's trace read (the kernel records at most 256)


def names_used(source: str) -> set[str]:
    """The plain names a piece of code reads (``relu``, ``Conv2D``)."""
    try:
        tree = ast.parse(source[:MAX_SOURCE])
    except Exception:  # noqa: BLE001 (syntax errors, magics, recursion bombs)
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def free_names(node: ast.AST) -> set[str]:
    """The names a definition reads from outside itself: a function's parameters and
    local variables are its own, not the notebook's (``window`` in a loop is not the
    ``window = 50`` of a plotting cell)."""
    if isinstance(node, ast.ClassDef):
        names = set()
        for child in node.body:
            names |= free_names(child)
        return names | {n.id for base in node.bases for n in ast.walk(base)
                        if isinstance(n, ast.Name)}
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        bound = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
        bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
        return loads - bound
    return loads


def definitions(source: str) -> dict[str, set[str]]:
    """{name: names it reads from outside} for each top-level def, class and plain
    assignment of a cell (``ACTIVATIONS = {"sigmoid": Sigmoid(), ...}`` links a table to
    its classes)."""
    try:
        tree = ast.parse(source[:MAX_SOURCE])
    except Exception:  # noqa: BLE001
        return {}
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = free_names(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    defined[target.id] = free_names(node.value) - {target.id}
    return defined


def student_definitions(assignment: Assignment,
                        folder: Path) -> tuple[dict[str, set[str]], set[str]]:
    """The definitions of the student's notebook (answer and given cells, not tests), each
    with the defined names it reads, and the names the student's answer cells define."""
    defined, answered = {}, set()
    for name, source_nb in assignment.sources.items():
        answers = {nbgrader_meta(c).get("grade_id") for c in source_nb["cells"]
                   if nbgrader_meta(c).get("solution")}
        for cell in _cells(folder / name):
            if cell.get("cell_type") != "code" or _is_test(cell):
                continue
            found = definitions(cell_source(cell))
            defined.update(found)
            if nbgrader_meta(cell).get("grade_id") in answers:
                answered |= {name for name in found if not name.isupper()}
    graph = {name: uses & defined.keys() - {name} for name, uses in defined.items()}
    return graph, answered & teacher_definitions(assignment)


def teacher_definitions(assignment: Assignment) -> set[str]:
    """The names the teacher's notebooks define outside test cells: the only names a
    note may repeat (a name only the student's code has is student text)."""
    names = set()
    for source_nb in assignment.sources.values():
        for cell in source_nb["cells"]:
            if cell.get("cell_type") == "code" and not _is_test(cell):
                names |= definitions(cell_source(cell)).keys()
    return names


def traced_names(trace) -> set[str] | None:
    """The names a check's record says its collect half called, read as the hostile data
    it is: None (no trace: use the static graph) unless a list; only its first MAX_TRACED
    entries, and of those only identifiers of at most 100 characters."""
    if not isinstance(trace, list):
        return None
    return {name for name in trace[:MAX_TRACED]
            if isinstance(name, str) and len(name) <= 100 and name.isidentifier()}


def _cells(path: Path) -> list[dict]:
    try:
        if path.is_symlink() or path.stat().st_size > MAX_NOTEBOOK:
            return []
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
    except Exception:  # noqa: BLE001 (a missing or mangled notebook explains nothing)
        return []


def test_subjects(assignment: Assignment) -> dict[str, set[str]]:
    """{grade_id: the names its test code reads}, for the teacher's autograded test cells,
    in notebook order."""
    subjects = {}
    for source_nb in assignment.sources.values():
        for cell in source_nb["cells"]:
            meta = nbgrader_meta(cell)
            if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
                subjects[meta["grade_id"]] = names_used(cell_source(cell))
    return subjects


def reached_from(start: set[str], graph: dict[str, set[str]]) -> dict[str, tuple[int, str]]:
    """{name: (depth, the name of ``start`` it is reached through)}, breadth first."""
    reached = {name: (0, name) for name in start if name in graph}
    frontier = list(reached)
    while frontier:
        following = []
        for name in frontier:
            depth, root = reached[name]
            for used in sorted(graph.get(name, ())):
                if used not in reached:
                    reached[used] = (depth + 1, root)
                    following.append(used)
        frontier = following
    return reached


def really_reached(reach: dict[str, tuple[int, str]], traced: set[str],
                   graph: dict[str, set[str]]) -> dict[str, tuple[int, str]]:
    """``reach`` cut to what the check really called: the names passed to it (depth 0)
    and the traced ones; a traced definition the static graph misses (a table lookup,
    ``getattr``) is added after the others, through itself."""
    kept = {name: way for name, way in reach.items() if way[0] == 0 or name in traced}
    deepest = max((depth for depth, _ in kept.values()), default=0)
    kept.update({name: (deepest + 1, name) for name in sorted(traced & graph.keys())
                 if name not in kept})
    return kept


def _nearest(reach: dict[str, tuple[int, str]], names: set[str]) -> set[str]:
    """The names of ``names`` that ``reach`` meets first (a test's own subject)."""
    depths = [reach[n][0] for n in names if n in reach]
    return {n for n in names if n in reach and reach[n][0] == min(depths)} if depths else set()


def check_subjects(source: str) -> list[set[str]]:
    """The names each ``checks.check_*(...)`` call of a test cell passes it, in the order
    the calls run (the order of the cell's checks in its verdict). A name the cell itself
    assigns stands for the names its value reads (``sigmoid = Sigmoid()``: Sigmoid)."""
    try:
        tree = ast.parse("\n".join("" if l.lstrip().startswith(("%", "!")) else l
                                   for l in source[:MAX_SOURCE].splitlines()))
    except Exception:  # noqa: BLE001
        return []
    local = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    local[target.id] = free_names(node.value) - {target.id}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
             and node.func.value.id == "checks" and node.func.attr.startswith("check_")]
    calls.sort(key=lambda node: (node.lineno, node.col_offset))
    return [_expand({n.id for arg in node.args + [k.value for k in node.keywords]
                     for n in ast.walk(arg) if isinstance(n, ast.Name)}, local)
            for node in calls]


def _expand(names: set[str], local: dict[str, set[str]]) -> set[str]:
    """``names`` with each name the test cell assigns replaced by the names it reads."""
    done, todo = set(), set(names)
    while todo:
        name = todo.pop()
        done.add(name)
        todo |= local.get(name, set()) - done
    return done - local.keys()


CheckPath = tuple[set[str], bool, "set[str] | None"]


def test_paths(assignment: Assignment, verdicts: dict[str, Verdict],
               traces: dict[str, list] | None = None) -> dict[str, list[CheckPath]]:
    """{grade_id: [(names a check is passed, whether it passed, the names its collect
    half called or None)]}, in notebook order.

    When each check call of the teacher's cell has its verdict, a check's path starts at
    the names passed to it; otherwise (plain asserts, a judged file, a cell that stopped)
    the whole cell's names stand for one path, failed or passed with the cell, untraced.
    ``traces``: {grade_id: each check's recorded trace (judge.py), None where none}."""
    paths = {}
    for source_nb in assignment.sources.values():
        for cell in source_nb["cells"]:
            grade_id = nbgrader_meta(cell).get("grade_id")
            verdict = verdicts.get(grade_id)
            if verdict is None or not _is_test(cell) or cell.get("cell_type") != "code":
                continue
            source = cell_source(cell)
            subjects = check_subjects(source)
            if subjects and len(subjects) == len(verdict.checks):
                trace = (traces or {}).get(grade_id) or []
                trace = [traced_names(t) for t in trace] if len(trace) == len(subjects) \
                    else [None] * len(subjects)
                paths[grade_id] = [(s, c.passed, t)
                                   for s, c, t in zip(subjects, verdict.checks, trace)]
            else:
                paths[grade_id] = [(names_used(source), verdict.passed, None)]
    return paths


def dependency_notes(assignment: Assignment, folder: Path, verdicts: dict[str, Verdict],
                     traces: dict[str, list] | None = None) -> None:
    """Add to each failed cell the other failed tests whose subject its failing checks use.

    A check's subject is the student's answers it meets first (directly, or through a
    given helper); an answer's own test is the first cell with a check of which it is the
    subject, and it failed that test when one of those checks failed. It is blamed only
    in a cell whose failing checks reach it through the student's definitions.

    "Reach" is the student's call graph cut to the names the check's collect half really
    called where the kernel recorded them (``traces``, see test_paths); without a trace,
    the static graph alone (every branch taken). A note only changes words, never
    points, and names only answers the teacher's notebook defines.
    """
    graph, answered = student_definitions(assignment, folder)
    if not answered:
        return
    paths = test_paths(assignment, verdicts, traces)
    own_test, failed_own, reaches = {}, set(), {}
    for grade_id, checks in paths.items():
        reaches[grade_id] = {}
        for names, passed, traced in checks:
            reach = reached_from(names & graph.keys(), graph)
            if traced is not None:
                reach = really_reached(reach, traced, graph)
            for name in _nearest(reach, answered):
                if own_test.setdefault(name, grade_id) == grade_id and not passed:
                    failed_own.add(name)
            if not passed:
                reaches[grade_id].update({k: v for k, v in reach.items()
                                          if k not in reaches[grade_id]
                                          or v[0] < reaches[grade_id][k][0]})
    order = {grade_id: i for i, grade_id in enumerate(paths)}
    for grade_id, reach in reaches.items():
        own = _nearest(reach, answered)
        causes = {}
        # the earliest failed test first: the root cause is the one to fix first
        for name in sorted(set(reach) & failed_own - own,
                           key=lambda n: (order[own_test[n]], reach[n][0], n)):
            test = own_test[name]
            if test != grade_id and test not in causes:
                causes[test] = _cause(name, reach[name][1], test)
        if causes:
            verdict = verdicts[grade_id]
            verdict.add_note("; ".join(list(causes.values())[:3]))
            verdict.depends_on = list(causes)


def _cause(name: str, through: str, test: str) -> str:
    way = "" if through == name else f" (through {through})"
    return (f"this test uses your {name}{way}, which failed {test}: fix that first, this "
            "test may then pass")


def _is_test(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")
