"""Graded exercises as code shapes, to find an implementation of one in Python files.

A line-by-line comparison is the wrong tool for code that ships with the kit: a generic
line (``for x, y in loader:``) occurs in solutions and helpers alike, while a solution
copied under other names shares no line with its source. Here an exercise is the function
(or method) of a source notebook that holds a solution region, with the region filled in,
reduced to its *shape*: the syntax tree with every local name replaced by its order of
appearance and docstrings dropped. A function elsewhere implements the exercise when its
shape is the same, or nearly the same for an exercise large enough to be telling.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..course import nbgrader_meta, read_notebook

# Shapes shorter than this are too generic to be an answer (``return x``, ``pass``).
MIN_EXACT_TOKENS = 12
# From this size on, a near match counts too (a reordered or slightly edited copy).
MIN_FUZZY_TOKENS = 60
FUZZY_RATIO = 0.85
REGION = re.compile(r"#+\s*(BEGIN|END) SOLUTION")


@dataclass(frozen=True)
class Exercise:
    """One graded function of a source notebook."""

    notebook: str
    name: str             # qualified: "Adam.step", "train_epoch"
    shape: tuple


@dataclass(frozen=True)
class Implementation:
    """A function in a checked file whose shape matches an exercise."""

    file: str
    function: str
    exercise: Exercise
    similarity: float

    def __str__(self) -> str:
        how = "a copy" if self.similarity == 1.0 else f"{self.similarity:.0%} similar"
        return (f"{self.file}: {self.function} implements the graded exercise "
                f"{self.exercise.name} of {self.exercise.notebook} ({how})")


def _python(cell_source: str) -> str:
    """Cell code without IPython magics and shell escapes, which are not Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell_source.splitlines())


class _Shape(ast.NodeVisitor):
    """Token sequence of a function: node types, attributes and constants; local names
    numbered in order of first use, so renaming variables changes nothing."""

    def __init__(self):
        self.tokens, self.names = [], {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def generic_visit(self, node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
                body = body[1:]  # the docstring says nothing about the code
            self.tokens.append(type(node).__name__)
            if not isinstance(node, ast.ClassDef):
                self.visit(node.args)
            for statement in body:
                self.visit(statement)
            return
        self.tokens.append(type(node).__name__)
        if isinstance(node, ast.Name):
            self.tokens.append(self._name(node.id))
        elif isinstance(node, ast.arg):
            self.tokens.append(self._name(node.arg))
        elif isinstance(node, ast.Attribute):
            self.tokens.append("." + node.attr)
        elif isinstance(node, ast.Constant):
            value = node.value
            self.tokens.append("str" if isinstance(value, str) else repr(value))
        super().generic_visit(node)


def shape(node: ast.AST) -> tuple:
    visitor = _Shape()
    visitor.generic_visit(node)
    return tuple(visitor.tokens)


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _functions(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")
        else:
            yield from _functions(node, prefix)


def exercises_in(notebook: Path) -> list[Exercise]:
    """Every function of a source notebook's solution cells that contains a solution region."""
    found = []
    for cell in read_notebook(notebook).get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") != "code" or not (nbgrader_meta(cell).get("solution")
                                                   or REGION.search(source)):
            continue
        try:
            tree = ast.parse(_python(source))
        except SyntaxError:
            continue  # not Python: nothing a .py file could copy
        region_lines = [i for i, line in enumerate(source.splitlines(), start=1)
                        if REGION.search(line)]
        for name, node in _functions(tree):
            if any(node.lineno <= line <= node.end_lineno for line in region_lines):
                tokens = shape(node)
                if len(tokens) >= MIN_EXACT_TOKENS:
                    found.append(Exercise(notebook.name, name, tokens))
    return found


def graded_exercises(notebooks: list[Path]) -> list[Exercise]:
    return [exercise for notebook in notebooks for exercise in exercises_in(notebook)]


def similarity(a: tuple, b: tuple) -> float:
    """1.0 for the same shape; otherwise difflib's ratio, when both are long enough."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < MIN_FUZZY_TOKENS:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < FUZZY_RATIO or matcher.quick_ratio() < FUZZY_RATIO:
        return 0.0
    return matcher.ratio()


def implementations(files: list[Path], exercises: list[Exercise],
                    base: Path | None = None) -> list[Implementation]:
    """Every function in the Python ``files`` that implements one of the ``exercises``.

    A file that does not parse is reported as implementing nothing by the caller's other
    checks (the line check still reads it); here it is skipped.
    """
    found = []
    for path in files:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        name = str(Path(path).relative_to(base)) if base else str(path)
        for function, node in _functions(tree):
            tokens = shape(node)
            if len(tokens) < MIN_EXACT_TOKENS:
                continue
            best = max(((similarity(tokens, e.shape), e) for e in exercises),
                       key=lambda pair: pair[0], default=(0.0, None))
            if best[1] is not None and best[0] >= FUZZY_RATIO:
                found.append(Implementation(name, function, best[1], round(best[0], 3)))
    return found
