"""The student bundle: released notebooks, the installable package, the environment."""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from .course import Course
from .leakcheck import find_leaks, raise_on_leaks

STUDENT_README = """Course assignments
==================

1. Create the environment: `conda env create -f environment.yml` (or
   `python -m venv .venv && .venv/bin/pip install -e .`).
2. Point the kit at the data if you have a local copy: `export AUTOGRADER_DATA=/path/to/data`
   (otherwise MNIST and CIFAR-10 are downloaded on first use).
3. Open `assignments/<assignment>/<assignment>.ipynb` in JupyterLab and work top to bottom.
   The visible tests tell you what is wrong; more tests run when your work is graded.
"""


def package_files(repo: Path) -> list[Path]:
    """The autograder package and its install files (no tests, no source/)."""
    files = [p for p in (repo / "autograder").rglob("*.py")]
    files += [repo / "pyproject.toml", repo / "environment.yml"]
    return [p for p in files if p.is_file() and "__pycache__" not in p.parts]


def write_bundle(course: Course, repo: Path, destination: Path, assignments=None) -> Path:
    """Zip what students receive, then leak-check the zip's contents."""
    assignments = assignments or course.assignments()
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as zf:
        for assignment in assignments:
            for path in sorted((course.release / assignment).rglob("*")):
                if path.is_file():
                    zf.write(path, f"assignments/{assignment}/{path.relative_to(course.release / assignment)}")
        for path in package_files(repo):
            zf.write(path, str(path.relative_to(repo)))
        zf.writestr("README.md", STUDENT_README)
    raise_on_leaks(leaks_in_bundle(course, destination))
    return destination


def leaks_in_bundle(course: Course, bundle: Path) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(tmp)
        files = sorted(p for p in Path(tmp).rglob("*") if p.is_file())
        sources = sorted(course.source.rglob("*.ipynb"))
        return find_leaks(sources, files, base=Path(tmp))
