"""The student bundle: released notebooks, the student side of the kit, its install files.

Only ``autograder/__init__.py`` and ``autograder/student/`` are bundled: the grader side
(references, the grading stages) never leaves the instructor's machine. The zip is written beside
its destination and moved into place only after the leak check has passed; a bundle that
fails the check is deleted, together with any older bundle of the same name.
"""
from __future__ import annotations

import ast
import json
import os
import tempfile
import zipfile
from pathlib import Path

from ..course import Course
from .exercises import graded_exercises, implementations
from .leakcheck import find_leaks, raise_on_leaks, solution_lines_in_code

STUDENT_README = """Course assignments
==================

Set up (once)
-------------
1. Create the environment. With conda: `conda env create -f environment.yml`. With pip:

       python -m venv .venv
       .venv/bin/pip install torch=={torch} torchvision=={torchvision} --index-url https://download.pytorch.org/whl/cpu
       .venv/bin/pip install -e .

   This installs PyTorch for the CPU (about 1 GB), which is all the assignments need.
   To use an NVIDIA GPU instead, leave out `--index-url ...` in the first pip line (or
   delete the `--extra-index-url` line of environment.yml): pip then installs the CUDA
   build (several GB).
2. Optional: `pip install -e ".[validate]"` adds nbgrader, for `nbgrader validate` below.

Working offline
---------------
The notebooks load MNIST and CIFAR-10 through `autograder.student.data`. They are
downloaded on first use into `~/.cache/autograder/data`. To work without a network, copy
the data once (torchvision's layout: `MNIST/raw/*.gz`, `cifar-10-batches-py/*`) into a
folder and `export AUTOGRADER_DATA=/that/folder AUTOGRADER_OFFLINE=1`: nothing is then
downloaded, and a missing file is named in the error.

Doing an assignment
-------------------
Open `assignments/<assignment>/<assignment>.ipynb` in JupyterLab and work top to bottom.
The visible tests tell you what is wrong. Some checks are decided only when your work is
graded (they compare with answers you do not have); they say so where they run. More
tests, hidden from you, run at grading too.

Before you hand in: restart the kernel and run all cells (Kernel > Restart Kernel and
Run All Cells); every cell must run without an error, and the files below must be written
by that run. With nbgrader installed, `nbgrader validate <notebook>` does the same check.

What to hand in
---------------
{hand_in}

Feedback on submission
----------------------
If your course runs a feedback service, the course staff send you its address and your
token. Log in there and upload the notebook, or from a terminal (or a notebook cell,
with a leading `!`):

    autograder-submit assignments/<assignment>/<assignment>.ipynb --server URL --token T

It waits for the grade and prints the score and the address of your feedback page.
Before the deadline it may show the results of your visible checks only.
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

[project.optional-dependencies]
validate = [{validate}]

[project.scripts]
autograder-submit = "autograder.student.submit:main"

[tool.setuptools.packages.find]
include = ["autograder", "autograder.student*"]
"""
# CPU torch by default: pip takes the highest matching version, and 2.14.1+cpu sorts after 2.14.1.
STUDENT_ENVIRONMENT = """name: dl-course
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - --extra-index-url https://download.pytorch.org/whl/cpu
{dependencies}
      - -e .
"""
# What students need besides the modules their code imports: a place to run notebooks.
JUPYTER = ("jupyterlab", "ipykernel")
VALIDATE = ("nbgrader",)  # optional: ``nbgrader validate`` before handing in
FILE_MODE = 0o644  # readable by everyone who unpacks the bundle, whatever the umask here


def student_package_files(repo: Path) -> list[Path]:
    """The student side of the package: ``autograder/__init__.py`` and ``autograder/student``."""
    files = [repo / "autograder" / "__init__.py"]
    files += sorted((repo / "autograder" / "student").rglob("*.py"))
    return [p for p in files if p.is_file() and "__pycache__" not in p.parts]


def _code_of(path: Path) -> str:
    """A .py file's source, or a notebook's code cells without IPython magics."""
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code"
             for line in "".join(cell["source"]).splitlines()]
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def imported_modules(files: list[Path]) -> set[str]:
    """The top-level modules the given .py files and notebooks import."""
    found = set()
    for path in files:
        try:
            tree = ast.parse(_code_of(path))
        except SyntaxError:
            continue  # a teacher's cell with syntax students fill in; nothing to import there
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return found


def _pins(repo: Path) -> dict[str, str]:
    import tomllib

    pins = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    return {pin.split("==")[0].lower(): pin for pin in pins}


def student_dependencies(repo: Path, notebooks=()) -> list[str]:
    """The pins of pyproject.toml a student needs: those providing a module that the student
    side or a released notebook imports, and Jupyter. Derived, so a grader-only tool (dask,
    nbgrader, pytest) can never slip in and a new import cannot be forgotten."""
    from importlib.metadata import packages_distributions

    pins = _pins(repo)
    providers = packages_distributions()
    wanted = set(JUPYTER)
    for module in imported_modules(student_package_files(repo) + list(notebooks)):
        wanted |= {name.lower() for name in providers.get(module, []) if name.lower() in pins}
    return [pin for name, pin in pins.items() if name in wanted]


def hand_in_text(course: Course, assignments) -> str:
    """Per assignment, the notebook and the files the judge reads from the submission."""
    from ..assignment import judged_files

    lines = []
    for assignment in assignments:
        files = [p.name for p in course.notebooks(assignment)] + judged_files(course, assignment)
        lines.append(f"- {assignment}: " + ", ".join(f"`{name}`" for name in files))
    return "\n".join(lines)


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | FILE_MODE) << 16  # a regular file, mode 0644
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


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
            notebooks = []
            for assignment in assignments:
                folder = course.release / assignment
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        notebooks += [path] if path.suffix == ".ipynb" else []
                        _add(zf, f"assignments/{assignment}/{path.relative_to(folder)}",
                             path.read_bytes())
            for path in student_package_files(repo):
                _add(zf, str(path.relative_to(repo)), path.read_bytes())
            pins = student_dependencies(repo, notebooks)
            validate = [pin for name, pin in _pins(repo).items() if name in VALIDATE]
            _add(zf, "pyproject.toml", STUDENT_PYPROJECT.format(
                version=__version__, dependencies="\n".join(f'    "{p}",' for p in pins),
                validate=", ".join(f'"{p}"' for p in validate)).encode())
            _add(zf, "environment.yml", STUDENT_ENVIRONMENT.format(
                dependencies="\n".join(f"      - {p}" for p in pins)).encode())
            versions = {p.split("==")[0]: p.split("==")[1] for p in pins}
            _add(zf, "README.md", STUDENT_README.format(
                torch=versions["torch"], torchvision=versions["torchvision"],
                hand_in=hand_in_text(course, assignments)).encode())
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
