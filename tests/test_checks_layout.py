"""The check library's shape: checks on NumPy code need no torch to import (the grading
kernels of A1 and A4 have none), the flat ``checks.*`` namespace that notebooks use still
offers every check, and a check's public function is derived from its class.
"""
import ast
import subprocess
import sys
from pathlib import Path

from autograder.student.checks.core import Check, building

CHECKS = Path(__file__).resolve().parents[1] / "autograder" / "student" / "checks"
FAMILIES = ("numpy_code", "torch_code", "saved_files")


def imports_in(path: Path, module_level_only: bool) -> set[str]:
    """Absolute module names and relative targets (``..torch_code.x``) that ``path`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_importing_the_library_and_its_numpy_family_loads_no_torch():
    out = run_python("import sys\n"
                     "import autograder.student.checks.numpy_code\n"
                     "print('torch' in sys.modules)\n"
                     "import autograder.student.checks\n"
                     "print('torch' in sys.modules)\n")
    assert out.split() == ["False", "False"]


def test_the_numpy_family_imports_where_torch_cannot_be_imported():
    # sys.modules['torch'] = None makes every `import torch` raise, as in a kernel without it.
    out = run_python("import sys; sys.modules['torch'] = None\n"
                     "from autograder.student import checks\n"
                     "from autograder.student.checks import numpy_code\n"
                     "print(len(numpy_code.__all__), callable(checks.check_layer))\n")
    from autograder.student.checks import numpy_code

    assert out.split() == [str(len(numpy_code.__all__)), "True"]  # every check of the family


def test_no_check_module_imports_torch_at_module_level():
    offenders = [str(path.relative_to(CHECKS)) for path in CHECKS.rglob("*.py")
                 if any(name == "torch" or name.startswith("torch.")
                        for name in imports_in(path, module_level_only=True))]
    assert offenders == []


def test_the_numpy_family_uses_no_torch_or_saved_file_check():
    offenders = {}
    for path in (CHECKS / "numpy_code").glob("*.py"):
        bad = {name for name in imports_in(path, module_level_only=False)
               if "torch_code" in name or "saved_files" in name}
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_every_family_check_is_in_the_flat_namespace_and_nowhere_twice():
    from autograder.student import checks
    from autograder.student.checks import numpy_code, saved_files, torch_code

    names = [name for family in (numpy_code, torch_code, saved_files) for name in family.__all__]
    assert len(names) == len(set(names))
    assert set(names) <= set(checks.__all__)
    for family in (numpy_code, torch_code, saved_files):
        for name in family.__all__:
            assert getattr(checks, name) is getattr(family, name)
    exported = {name for name in checks.__all__ if name.startswith("check_")}
    assert exported == {name for name in names if name.startswith("check_")}


class _Sum(Check):
    """``add(a, b)`` returns ``a + b`` (a toy check for the derived public function)."""

    kind = "toy_sum"

    def __init__(self, a, b=2, name=None, points=1.0, scale=1, **options):
        super().__init__(name or "sum", points, 0)
        self.a, self.b, self.scale, self.options = a, b, scale, options

    def collect(self, student):
        add, _ = student
        return {"got": add(self.a, self.b)}

    def verdict(self, evidence):
        if evidence["got"] == (self.a + self.b) * self.scale:
            return self.passed()
        return self.failed(f"got {evidence['got']}")


def test_a_derived_check_function_has_the_constructors_signature_and_the_class_docstring():
    import inspect

    check_sum = _Sum.function("check_sum", "add", "other", after=("scale",))
    assert str(inspect.signature(check_sum)) == (
        "(add, other, a, b=2, name=None, points=1.0, raise_on_fail=True, scale=1, **options)")
    assert inspect.getdoc(check_sum) == inspect.getdoc(_Sum)
    assert check_sum.__name__ == "check_sum" and check_sum.__module__ == __name__


def test_a_derived_check_function_passes_positional_and_keyword_arguments_to_the_check():
    check_sum = _Sum.function("check_sum", "add", "other", after=("scale",))
    add = lambda a, b: a + b  # noqa: E731
    assert check_sum(add, None, 1).passed
    assert check_sum(add, None, 1, 5, "named", 3.0).points == 3.0
    with building() as built:
        check_sum(add, None, 1, b=4, points=2.0, raise_on_fail=False, scale=1, extra=7)
    assert vars(built[0]) == vars(_Sum(1, b=4, points=2.0, extra=7))
    assert built[0].identity() == _Sum(1, 4, None, 2.0, 1, extra=7).identity()
    failed = check_sum(lambda a, b: a * b, None, 3, raise_on_fail=False)
    assert not failed.passed and failed.message == "got 6"
    try:
        check_sum(lambda a, b: a * b, None, 3)
    except AssertionError as err:
        assert str(err) == "sum: got 6"
    else:
        raise AssertionError("a failed check must raise by default")


def test_a_judge_turns_malformed_evidence_into_a_failure():
    check = _Sum(1)
    assert not check.judge({}).passed
    assert "malformed (KeyError" in check.judge({}).message
    assert check.judge({"got": 3}).passed
