"""Test cells whose checks run independently of the plain asserts around them.

A test cell mixes the teacher's plain visible asserts with check calls::

    assert count_parameters(model) == 101, "count is wrong: "
    checks.check_logits_shape(model, ...)

Run as Python runs it, a failing assert stops the cell: every check after it is never
reached (in a grading kernel it then files no evidence and scores nothing) and the
student reads only the teacher's message. Importing the check library in IPython (the
student's Jupyter and the grading kernel alike) installs :class:`DeferAsserts`, an AST
transformer that, in a cell with a top-level check call only, turns each top-level
``assert`` and check call into a statement that records its ``AssertionError`` and goes
on; at the end of the cell every recorded failure is raised again as one
``AssertionError``, so the cell still fails exactly as before (nbgrader's own grading of
it is unchanged). An ``assert a <op> b`` failure also shows ``repr`` of both sides,
pytest-style. Any other exception stops the cell as usual (a later line may need it).

Nothing here decides a point: at grading the judge scores each check from the evidence
it filed and plain asserts count for nothing (DESIGN.md). A student who removes the
transformer only gets the old behaviour back, for their own notebook.

Also deferred: the asserts of a top-level ``for`` loop (``for key in keys: assert ...``;
one failure per line is kept, with how many times it failed), ``_ = check_x(...)``, and a
top-level call of a function the cell itself defines (``check_table(PARAM_TABLE["a"])``,
whose asserts fail under the call's line). Asserts of a ``while`` loop still stop the
cell: deferring one could turn its guard into an endless loop.
When another error stops the cell, the failures recorded before it are added to that
error as a note, so the teacher's message that explains it is not lost.

In a grading kernel the failure text carries no values (the cell also holds hidden
asserts, and the kernel cannot tell them apart); each failure adds one line
``[autograder-assert] {"line", "message", "left", "right"}`` (JSON), from which the judge
shows a VISIBLE assert's message and values (grader/judge/stops.py), never a hidden one's.
"""
from __future__ import annotations

import ast
import json
import os

MODULE = "autograder.student.asserts"
MARKER = "[autograder-assert] "  # begins the line the judge reads (grading kernel only)
REPR_CHARS = 300     # of each side's repr in a message
MESSAGE_CHARS = 600  # of an assert's own message, in the judge's line
_failures: dict[int, list] = {}  # of the running cell: {line: [text, times it failed]}


def _grading() -> bool:
    return bool(os.environ.get("AUTOGRADER_EVIDENCE"))  # checks.core.grading()


def start() -> None:
    """A cell begins: forget the failures of a cell that stopped on another error."""
    _failures.clear()


def failure(err: AssertionError, line: int, left=None, right=None,
            compared: bool = False) -> None:
    """Record one failed statement of the running cell: its message first (so it reads
    as the teacher wrote it), its line, and for a comparison both sides. In a grading
    kernel the sides go only into the judge's line (see the module's docstring; no
    statement text is ever repeated: redaction matches a hidden line as written, not as
    re-printed). A line that fails again (in a loop) is counted, not repeated."""
    if line in _failures:
        _failures[line][1] += 1
        return
    message = str(err)
    text = f"{message}\n  (line {line} of this cell)" if message else f"(line {line} of this cell)"
    record = {"line": line, "message": message[:MESSAGE_CHARS]}
    if compared:
        record.update(left=_short(left), right=_short(right))
        if not _grading():
            text += f"\n  left:  {record['left']}\n  right: {record['right']}"
    if _grading():
        text += "\n  " + MARKER + json.dumps(record)
    _failures[line] = [text, 1]


def _texts() -> list[str]:
    return [text + (f"\n  (it failed {times} times)" if times > 1 else "")
            for text, times in _failures.values()]


def finish() -> None:
    """The cell ends: raise every recorded failure as one AssertionError (the first
    failure's message first, as a plain assert would have shown it)."""
    failures = _texts()
    _failures.clear()
    if len(failures) > 1:
        more = "\n".join(f"- {f}" for f in failures[1:])
        raise AssertionError(f"{failures[0]}\n{len(failures) - 1} more failed in this cell:"
                             f"\n{more}")
    if failures:
        raise AssertionError(failures[0])


def stopped(err: BaseException) -> None:
    """Another error stopped the cell: the failures recorded before it become a note of
    that error (shown under its traceback), since they often explain it."""
    failures = _texts()
    _failures.clear()
    if failures and hasattr(err, "add_note"):
        err.add_note("Before this error, in this cell:\n"
                     + "\n".join(f"- {f}" for f in failures))


def _short(value) -> str:
    try:
        text = repr(value)
    except Exception as err:  # noqa: BLE001 (a student object's repr may raise)
        text = f"<unprintable {type(value).__name__}: {type(err).__name__}>"
    return text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "..."


def _check_name(node: ast.expr | None) -> str:
    """The function name of ``checks.check_x(...)`` or ``check_x(...)``; "" otherwise."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name if name.startswith("check_") else ""


def _is_check_call(node: ast.stmt, assigned: bool = True) -> bool:
    """``checks.check_x(...)`` as a statement; ``assigned``: also ``x = check_x(...)``."""
    if isinstance(node, ast.Expr):
        return bool(_check_name(node.value))
    return assigned and isinstance(node, ast.Assign) and bool(_check_name(node.value))


def _deferrable(node: ast.stmt) -> bool:
    """An assert, a check call, or ``_ = check_x(...)`` (a name no later line needs)."""
    if isinstance(node, ast.Assert) or _is_check_call(node, assigned=False):
        return True
    return (_is_check_call(node) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "_")


def _cell_functions(tree: ast.Module) -> set[str]:
    """The names of the functions the cell itself defines at its top level."""
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _calls_cell_function(node: ast.stmt, functions: set[str]) -> bool:
    """``helper(...)`` as a statement, ``helper`` a function of this cell: the teacher's
    way to run the same asserts on several objects; a failing one must not stop the
    checks after it either."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id in functions)


def _helper(name: str, *args: ast.expr) -> ast.Expr:
    """``__import__(MODULE).<...>.name(*args)`` as a statement: no name of the cell's
    namespace involved, so a cell cannot shadow it by accident."""
    module = ast.Call(ast.Name("__import__", ast.Load()),
                      [ast.Constant(MODULE)], [ast.keyword("fromlist", ast.List([ast.Constant("_")], ast.Load()))])
    call = ast.Call(ast.Attribute(module, name, ast.Load()), list(args), [])
    return ast.Expr(call)


def _assert_body(node: ast.Assert) -> tuple[list[ast.stmt], list[ast.expr]]:
    """Statements that evaluate the assert once (each side of a single comparison into a
    temporary, in Python's order) and raise AssertionError(msg) on failure; and the
    extra arguments of ``failure`` (the two sides)."""
    msg = [node.msg] if node.msg is not None else []
    raise_ = ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), msg, []), None)
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = "_autograder_left", "_autograder_right"
        body = [ast.Assign([ast.Name(left, ast.Store())], ast.Constant(None)),
                ast.Assign([ast.Name(right, ast.Store())], ast.Constant(None)),
                ast.Assign([ast.Name(left, ast.Store())], test.left),
                ast.Assign([ast.Name(right, ast.Store())], test.comparators[0])]
        test = ast.Compare(ast.Name(left, ast.Load()), test.ops,
                           [ast.Name(right, ast.Load())])
        body.append(ast.If(ast.UnaryOp(ast.Not(), test), [raise_], []))
        sides = [ast.Name(left, ast.Load()), ast.Name(right, ast.Load()), ast.Constant(True)]
        return body, sides
    return [ast.If(ast.UnaryOp(ast.Not(), test), [raise_], [])], []


def _deferred(node: ast.stmt) -> ast.Try:
    """``node`` run so that its AssertionError is recorded and the cell goes on."""
    body, sides = _assert_body(node) if isinstance(node, ast.Assert) else ([node], [])
    record = _helper("failure", ast.Name("_autograder_error", ast.Load()),
                     ast.Constant(node.lineno), *sides)
    handler = ast.ExceptHandler(ast.Name("AssertionError", ast.Load()), "_autograder_error",
                                [record])
    return ast.Try(body, [handler], [], [])


def _defer_in_loop(node: ast.For | ast.If) -> None:
    """The asserts of a loop's (or a nested if's or loop's) bodies, deferred in place."""
    for field in ("body", "orelse"):
        statements = []
        for child in getattr(node, field):
            if isinstance(child, (ast.For, ast.If)):
                _defer_in_loop(child)
            statements.append(_deferred(child) if isinstance(child, ast.Assert) else child)
        setattr(node, field, statements)


def defer_asserts(tree: ast.Module) -> ast.Module:
    """The cell's tree with its top-level asserts and check calls (and the asserts of its
    top-level ``for`` loops) deferred, if it has a top-level check call (a test cell);
    otherwise unchanged. The whole runs in a ``try`` whose handler notes the recorded
    failures on any other error (:func:`stopped`) and re-raises it."""
    if not any(_is_check_call(node) for node in tree.body) or any(
            isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body):
        return tree   # not a test cell; or one whose first lines must stay outside a try
    body: list[ast.stmt] = []
    functions = _cell_functions(tree)
    for node in tree.body:
        if isinstance(node, ast.For):
            _defer_in_loop(node)
        deferred = _deferrable(node) or _calls_cell_function(node, functions)
        body.append(_deferred(node) if deferred else node)
    body.append(ast.copy_location(_helper("finish"), tree.body[-1]))
    note = _helper("stopped", ast.Name("_autograder_stop", ast.Load()))
    handler = ast.ExceptHandler(ast.Name("Exception", ast.Load()), "_autograder_stop",
                                [note, ast.Raise()])
    tree.body = [_helper("start"), ast.Try(body, [handler], [], [])]
    return ast.fix_missing_locations(tree)


class DeferAsserts(ast.NodeTransformer):
    """IPython's hook (``shell.ast_transformers``): see the module's docstring."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        return defer_asserts(node)


def install() -> None:
    """Install the transformer in the running IPython shell, once; nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or any(isinstance(t, DeferAsserts) for t in shell.ast_transformers):
        return
    shell.ast_transformers.append(DeferAsserts())
