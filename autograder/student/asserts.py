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
"""
from __future__ import annotations

import ast
import os

MODULE = "autograder.student.asserts"
REPR_CHARS = 300  # of each side's repr in a message
_failures: list[str] = []  # of the running cell


def start() -> None:
    """A cell begins: forget the failures of a cell that stopped on another error."""
    _failures.clear()


def failure(err: AssertionError, line: int, left=None, right=None,
            compared: bool = False) -> None:
    """Record one failed statement of the running cell: its message first (so it reads
    as the teacher wrote it), its line, and for a comparison both sides, except in a
    grading kernel: there the cell may hold hidden asserts whose expected values the
    feedback must not show (and no statement text is ever repeated: redaction matches a
    hidden line as written, not as re-printed)."""
    text = str(err)
    text = f"{text}\n  (line {line} of this cell)" if text else f"(line {line} of this cell)"
    if compared and not os.environ.get("AUTOGRADER_EVIDENCE"):  # checks.core.grading()
        text += f"\n  left:  {_short(left)}\n  right: {_short(right)}"
    _failures.append(text)


def finish() -> None:
    """The cell ends: raise every recorded failure as one AssertionError (the first
    failure's message first, as a plain assert would have shown it)."""
    failures, _failures[:] = list(_failures), []
    if len(failures) > 1:
        more = "\n".join(f"- {f}" for f in failures[1:])
        raise AssertionError(f"{failures[0]}\n{len(failures) - 1} more failed in this cell:"
                             f"\n{more}")
    if failures:
        raise AssertionError(failures[0])


def _short(value) -> str:
    try:
        text = repr(value)
    except Exception as err:  # noqa: BLE001 (a student object's repr may raise)
        text = f"<unprintable {type(value).__name__}: {type(err).__name__}>"
    return text if len(text) <= REPR_CHARS else text[:REPR_CHARS] + "..."


def _is_check_call(node: ast.stmt) -> bool:
    """``checks.check_x(...)`` or ``check_x(...)`` as a statement."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    func = node.value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name.startswith("check_")


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


def defer_asserts(tree: ast.Module) -> ast.Module:
    """The cell's tree with its top-level asserts and check calls deferred, if it has a
    top-level check call (a test cell); otherwise unchanged."""
    if not any(_is_check_call(node) for node in tree.body):
        return tree
    body: list[ast.stmt] = [_helper("start")]
    for node in tree.body:
        deferred = isinstance(node, ast.Assert) or _is_check_call(node)
        body.append(_deferred(node) if deferred else node)
    body.append(ast.copy_location(_helper("finish"), tree.body[-1]))
    tree.body = body
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
