"""The package layout is the architecture: the student side below the grader side, the
grading stages in the order they run, and no import cycle anywhere in ``autograder/``.

The import graph is read from the source with ``ast`` (every ``import`` statement, at
module level or inside a function), so a lazy import counts like any other.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"

# A module may import modules of its own rank or below, never above.
STAGES = ["release", "collect", "run", "judge", "record", "report"]
RANKS = {
    "autograder.student": 0,
    "autograder.grader.sandbox": 1,
    "autograder.grader.sandbox.gpus": 1,
    "autograder.grader.sandbox.slots": 1,  # sandbox slots held apart by a machine's processes  # which GPUs a kernel can be given, and how
    "autograder.grader.course": 1,
    "autograder.grader.replay": 2,
    "autograder.grader.assignment": 3,
    "autograder.grader.settings": 2,
    **{f"autograder.grader.{stage}": 10 * (number + 1) for number, stage in enumerate(STAGES)},
    # The references are what the judge compares with, so they sit with the judge.
    "autograder.grader.references": 40,
    # What drives the stages: above all of them.
    "autograder.grader.grade": 100,
    "autograder.grader.sample": 100,
    "autograder.grader.calibrate": 100,
    "autograder.grader.doctor": 100,
    "autograder.grader.new": 100,
    "autograder.grader.selftest": 100,
    "autograder.grader.selftest_static": 100,
    "autograder.grader.catalog": 100,
    # The feedback service drives the stages (through grade) for each submission.
    "autograder.grader.serve": 102,
    # What each command does (the demo runs them in order), below the command line.
    "autograder.grader.commands": 105,
    "autograder.grader.cli": 110,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")
            if "unavailable-package" not in path.parts}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``autograder`` that ``name`` (at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from package import module" imports the module; otherwise the names are
            # attributes of ``base`` itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in known}
    return found - {name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def rank(name: str) -> int | None:
    for prefix in sorted(RANKS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return RANKS[prefix]
    return None


def test_every_grader_module_has_a_place_in_the_layout(graph):
    unplaced = sorted(name for name in graph if name.startswith("autograder.grader.")
                      and rank(name) is None)
    assert unplaced == [], "modules outside the stages and the foundation: " + ", ".join(unplaced)


def test_no_module_imports_a_later_stage(graph):
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if rank(a) is not None and rank(b) is not None and rank(b) > rank(a))
    assert upward == [], "imports that point up the stages:\n" + "\n".join(upward)


def test_there_is_no_import_cycle(graph):
    # Tarjan's strongly connected components; any component of more than one module is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_student_side_never_imports_the_grader(graph):
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if a.startswith("autograder.student") and b.startswith("autograder.grader"))
    assert upward == []


def test_the_layout_test_sees_the_imports_it_judges(graph):
    """The graph is not empty by accident: known arrows are found, lazy ones included."""
    assert "autograder.grader.record.gradebook" in graph["autograder.grader.grade"]
    assert "autograder.grader.run.cluster" in graph["autograder.grader.grade"]  # lazy
    assert "autograder.grader.judge.torchscript" in graph["autograder.grader.judge.inspector"]
    assert rank("autograder.grader.judge.judge") > rank("autograder.grader.run.worker")
