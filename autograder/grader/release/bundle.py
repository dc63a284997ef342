"""The student bundle: released notebooks, the student side of the kit, its install files.

Only ``autograder/__init__.py`` and ``autograder/student/`` are bundled: the grader side
(references, the grading stages) never leaves the instructor's machine. The zip is written beside
its destination and moved into place only after the leak check has passed; a bundle that
fails the check is deleted, together with any older bundle of the same name.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ..course import Course
from .exercises import graded_exercises, implementations
from .leakcheck import find_leaks, raise_on_leaks, solution_lines_in_code

STUDENT_README = """Course assignments
==================

1. Create the environment: `conda env create -f environment.yml` (or
   `python -m venv .venv && .venv/bin/pip install -e .`).
2. Point the kit at the data if you have a local copy: `export AUTOGRADER_DATA=/path/to/data`
   (otherwise MNIST and CIFAR-10 are downloaded on first use).
3. Open `assignments/<assignment>/<assignment>.ipynb` in JupyterLab and work top to bottom.
   The visible tests tell you what is wrong; more tests run when your work is graded.
"""

# What a student installs: the student side only, no grading stages, no command.
STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "autograder-student"
version = "{version}"
description = "Deep-learning course kit, student side: data loader and visible-test checks"
requires-python = ">=3.10"
dependencies = [
{dependencies}
]

[tool.setuptools.packages.find]
include = ["autograder", "autograder.student*"]
"""
STUDENT_ENVIRONMENT = """name: dl-course
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
{dependencies}
      - -e .
"""
# The grader's own tools are not needed to do the assignments.
GRADER_ONLY = ("nbgrader", "nbval", "pytest", "pytest-xdist")


def student_package_files(repo: Path) -> list[Path]:
    """The student side of the package: ``autograder/__init__.py`` and ``autograder/student``."""
    files = [repo / "autograder" / "__init__.py"]
    files += sorted((repo / "autograder" / "student").rglob("*.py"))
    return [p for p in files if p.is_file() and "__pycache__" not in p.parts]


def student_dependencies(repo: Path) -> list[str]:
    """The pinned dependencies of pyproject.toml a student needs."""
    import tomllib

    pins = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    return [pin for pin in pins if pin.split("==")[0] not in GRADER_ONLY]


def write_bundle(course: Course, repo: Path, destination: Path, assignments=None) -> Path:
    """Zip what students receive, leak-check it, then put it at ``destination``."""
    from autograder import __version__

    assignments = assignments or course.assignments()
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(prefix=".bundle-", suffix=".zip", dir=destination.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zf:
            for assignment in assignments:
                folder = course.release / assignment
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        zf.write(path, f"assignments/{assignment}/{path.relative_to(folder)}")
            for path in student_package_files(repo):
                zf.write(path, str(path.relative_to(repo)))
            pins = student_dependencies(repo)
            zf.writestr("pyproject.toml", STUDENT_PYPROJECT.format(
                version=__version__, dependencies="\n".join(f'    "{p}",' for p in pins)))
            zf.writestr("environment.yml", STUDENT_ENVIRONMENT.format(
                dependencies="\n".join(f"      - {p}" for p in pins)))
            zf.writestr("README.md", STUDENT_README)
        leaks = leaks_in_bundle(course, Path(staged))
        if leaks:
            destination.unlink(missing_ok=True)  # an older bundle is stale now: hand none out
            raise_on_leaks(leaks)
        os.chmod(staged, 0o644)  # mkstemp makes it private; students must be able to read it
        os.replace(staged, destination)
    finally:
        Path(staged).unlink(missing_ok=True)
    return destination


def leaks_in_bundle(course: Course, bundle: Path) -> list:  # of Leak and Implementation
    """Secrets of source/ in the bundle.

    Notebooks and text files: every solution, hidden-test and mark-scheme line (strict).
    Python files: no function may implement a graded exercise (compared by code shape, so
    renamed copies are found and generic lines are not), no hidden-test or mark-scheme
    line may appear, and no solution line either, as code or quoted in a hint's string
    (``solution_lines_in_code``: hints name the idea, never paste the answer).
    """
    sources = sorted(course.source.rglob("*.ipynb"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(root)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        code = [p for p in files if p.suffix == ".py"]
        other = [p for p in files if p.suffix != ".py"]
        leaks = find_leaks(sources, other, base=root)
        leaks += find_leaks(sources, code, base=root, kinds=("hidden test", "mark scheme"),
                            skip_imports=True)
        leaks += solution_lines_in_code(sources, code, base=root)
        return leaks + implementations(code, graded_exercises(sources), base=root)
