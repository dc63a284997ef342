"""The catalog of checks: every library ``check_*`` with its signature, what the kernel
collects, what the judge compares it with, when students hear the verdict, and its
tolerance (``autograder checks``; docs/CHECKS.md is generated from it).

The source of truth is the check classes. Signatures and help come from the public
functions (built from their classes by ``Check.function``); the timing from the class's
``needs_reference`` (a verdict that needs a grader reference is decided only at grading);
the tolerance from the code the class runs (``tolerances.NAME`` it uses, ``rtol``/``atol``
literals, tolerance-like parameters); what no code shows by itself (``collects``,
``compares_with``) is a class attribute beside the code it describes.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap

from ..student import checks
from ..student.checks import tolerances
from ..student.checks.core import deferred_note
from ..student.checks.result import CheckResult

IMMEDIATE, AT_GRADING = "immediate", "at grading"
TOLERANCE_KEYWORDS = ("rtol", "atol", "rel_tol", "abs_tol", "tol")
# constructor parameters an author sets to loosen or tighten a check
TOLERANCE_PARAMETERS = ("tolerance", "atol", "rtol", "tol", "threshold", "min_val_acc")
REGENERATE = "autograder checks --markdown > docs/CHECKS.md"


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One library check, as plain data (``--json`` prints a list of these)."""

    name: str              # check_values
    signature: str         # (function, reference: 'str', shape=(5,), ...)
    family: str            # numpy_code, torch_code or saved_files
    summary: str           # the help's first sentence
    help: str              # the class docstring (the function's help)
    collects: str          # what the kernel records as evidence
    compares_with: str     # what the judge compares it with
    timing: str            # "immediate" or "at grading"
    needs_reference: str | None  # the grader reference kind the verdict needs
    tolerance: str         # how close is close enough, or "exact"


def catalog() -> list[CatalogEntry]:
    """Every ``check_*`` of the flat ``autograder.student.checks`` namespace, by name."""
    names = sorted(name for name in checks.__all__ if name.startswith("check_"))
    return [entry(name, getattr(checks, name)) for name in names]


def entry(name: str, function) -> CatalogEntry:
    cls = function.check_class
    text = inspect.cleandoc(function.__doc__ or "")
    return CatalogEntry(
        name=name, signature=str(inspect.signature(function)),
        family=cls.__module__.split(".")[-2], summary=first_sentence(text), help=text,
        collects=cls.collects, compares_with=cls.compares_with,
        timing=AT_GRADING if cls.needs_reference else IMMEDIATE,
        needs_reference=cls.needs_reference, tolerance=tolerance_of(cls))


def first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[:end + 1]


# ----------------------------------------------------------------------------- tolerance

def tolerance_of(cls: type) -> str:
    """The tolerances the class's verdict uses, in words; ``cls.tolerance`` appended.

    Read from the code the verdict runs (its own helpers and the check library's,
    followed by their calls): ``tolerances.NAME`` constants, and the numbers bound to
    tolerance parameters (``rtol``, ``atol``, ``tol``...) of what it calls, given or default
    (``np.allclose(a, b)`` is rtol=1e-05, atol=1e-08). A helper that takes a tolerance is
    not followed: its tolerance is the caller's.
    """
    found: dict[str, None] = {}  # an ordered set
    for tree, scope in _trees(cls):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "tolerances" and hasattr(tolerances, node.attr)):
                found[f"{node.attr} {getattr(tolerances, node.attr):g}"] = None
            elif isinstance(node, ast.Call):
                target = _resolve(node.func, scope, cls)
                bound = _bound_tolerances(node, target, scope)
                if bound:
                    found[" ".join(bound)] = None
    parameters = [_parameter(p) for p in inspect.signature(cls.__init__).parameters.values()
                  if p.name in TOLERANCE_PARAMETERS]
    parts = ["; ".join(found)] if found else []
    if parameters:
        parts.append("set by the call: " + ", ".join(parameters))
    text = "; ".join(parts) or "exact"
    return f"{text} ({cls.tolerance})" if cls.tolerance else text


def _parameter(p: inspect.Parameter) -> str:
    return p.name if p.default is p.empty else f"{p.name} (default {p.default!r})"


def _bound_tolerances(call: ast.Call, function, scope) -> list[str]:
    """``name=value`` for each tolerance parameter of ``function`` that ``call`` binds to a
    number (a literal or a module constant), or leaves at a non-zero default."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []
    if any(isinstance(a, ast.Starred) for a in call.args):
        return []
    given = {p.name: a for p, a in zip(parameters, call.args)
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)}
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    found = []
    for p in parameters:
        if p.name not in TOLERANCE_KEYWORDS:
            continue
        # a default of 0 (math.isclose's abs_tol) adds nothing worth reading
        value = _number(given[p.name], scope) if p.name in given else (
            p.default if isinstance(p.default, (int, float)) and p.default else None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append(f"{p.name}={value:g}")
    return found


def _number(node, scope) -> float | None:
    """The number ``node`` stands for: a literal, or a constant of the module ``scope``
    (``tolerances.NAME`` is reported by name, not here)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand, scope)
        return None if value is None else -value
    if isinstance(node, ast.Constant):
        value = node.value
    elif isinstance(node, ast.Name):
        value = getattr(scope, node.id, None)
    else:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _resolve(func, scope, cls):
    """What a call's ``func`` names: a function of the module ``scope`` (or imported there),
    an attribute of a module it imported (``np.allclose``), or a method (``self.x``)."""
    if isinstance(func, ast.Name):
        return getattr(scope, func.id, None)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = cls if func.value.id in ("self", "cls") else getattr(scope, func.value.id, None)
        return getattr(owner, func.attr, None) if owner is not None else None
    return None


def _trees(cls: type):
    """(AST, module) of the verdict and of everything of the check library it calls,
    except helpers that take a tolerance (the caller's call says which)."""
    seen, todo = set(), [cls.verdict]
    while todo:
        function = inspect.unwrap(todo.pop())
        if function in seen:
            continue
        seen.add(function)
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError):  # no source: compiled
            continue
        scope = inspect.getmodule(function)
        yield tree, scope
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                target = _resolve(node.func, scope, cls)
                if _followed(target):
                    todo.append(target)


def _followed(function) -> bool:
    """A function of the check library that does not take a tolerance itself."""
    function = getattr(function, "__func__", function)
    if not inspect.isfunction(function) or not function.__module__.startswith(
            "autograder.student.checks"):
        return False
    return not any(name in TOLERANCE_KEYWORDS
                   for name in inspect.signature(function).parameters)


# ----------------------------------------------------------------------------- rendering

def as_json(entries: list[CatalogEntry]) -> str:
    return json.dumps([dataclasses.asdict(e) for e in entries], indent=1)


def as_text(entries: list[CatalogEntry]) -> str:
    """One block per check, for a terminal."""
    blocks = []
    for e in entries:
        reference = f" (needs grader reference {e.needs_reference})" if e.needs_reference else ""
        blocks.append("\n".join([
            f"{e.name}{e.signature}", f"    {e.summary}",
            f"    collects:      {e.collects}", f"    compares with: {e.compares_with}",
            f"    feedback:      {e.timing}{reference}", f"    tolerance:     {e.tolerance}"]))
    return "\n\n".join(blocks) + f"\n\n{len(entries)} checks; `autograder checks --json` for " \
        "plain data, `help(checks.check_x)` in a notebook for the full help\n"


HEADER = """\
# Catalog of checks

<!-- Generated from the check classes: do not edit. Regenerate with
     `{regenerate}` (or `make docs`). -->

Every `check_*` function of `autograder.student.checks` (notebooks call them as
`checks.check_x(...)`). Each check has two halves: the **kernel collects** plain data by
calling the student's objects on inputs derived from the check's parameters and seed
(fresh inputs at grading, from a per-run nonce), and the **judge**, a trusted process
outside the sandbox, **compares** that data with its own references. A failed check raises
`AssertionError` with a message naming the problem (pass `raise_on_fail=False` to get the
`CheckResult` instead); `help(checks.check_x)` in a notebook shows the full help below.

**Feedback.** *immediate*: the check decides in the student's Jupyter exactly as at
grading (on other inputs). *at grading*: its verdict needs a grader reference
(`register_reference(kind, fn)` in `source/grader_references.py`, or the kit's own in
`autograder/grader/references/`), which students never have, because it would be the
answer. In the student's Jupyter such a check decides only what needs no answer (shapes,
types, modes) and prints a note, visible even when the line ends with `;`:

    {note}

At grading, a missing reference fails the check with "tell the course staff". In
`values:<reference>`, `<reference>` is the check's `reference` argument.

**Authoring: pair a deferred check with a local assert.** Where students should hear about
a mistake before they hand in, follow an *at grading* check with a visible assert that
needs no answer, for example a known value or an identity of the exercise:

```python
checks.check_values(sigmoid_grad, "sigmoid_grad");           # compared when graded
assert np.isclose(sigmoid_grad(np.array([0.0]))[0], 0.25), "sigmoid'(0) is 0.25"
```

**Tolerance.** Names in capitals are the constants of
`autograder/student/checks/tolerances.py` (relative errors, with the reason for each
there); `rtol=`/`atol=` are literals in the check's own code; "set by the call" are the
check's parameters. "exact": compared for equality (integers, shapes, types).

| check | feedback | tolerance |
|---|---|---|
"""


def as_markdown(entries: list[CatalogEntry]) -> str:
    """docs/CHECKS.md: the header above, a summary table and a section per check."""
    rows = [f"| [`{e.name}`](#{e.name}) | {e.timing} | {e.tolerance} |" for e in entries]
    sections = []
    for e in entries:
        reference = f" (grader reference `{e.needs_reference}`)" if e.needs_reference else ""
        sections.append("\n".join([
            f"## {e.name}", "", "```python", f"{e.name}{e.signature}", "```", "",
            e.help, "",
            f"- **Collects** (kernel): {e.collects}",
            f"- **Compares with** (judge): {e.compares_with}",
            f"- **Feedback**: {e.timing}{reference}",
            f"- **Tolerance**: {e.tolerance}",
            f"- **Family**: `autograder.student.checks.{e.family}`", ""]))
    note = deferred_note(CheckResult("<check name>", True, "<what it decided here>"))
    return (HEADER.format(regenerate=REGENERATE, note=note) + "\n".join(rows) + "\n\n"
            + "\n".join(sections))
