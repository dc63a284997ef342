"""``autograder new ID``: a source notebook skeleton that releases, self-tests and grades
cleanly as it is written.

The skeleton shows every kind of cell an assignment has, with nbgrader's metadata set as
the kit expects (see source/a1_numpy_mlp): a locked setup cell, one NumPy exercise
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, its test cell (a visible check and
a hidden one between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``), and a
written answer with a mark scheme (graded by hand). The assignment's settings live in the
notebook's metadata (``metadata.autograder``: ``from_scratch``, ``budget_seconds``).

The exercise's check, ``checks.check_values``, compares with a grader-side reference: the
skeleton registers it in the course's ``source/grader_references.py`` (created when
missing), which is never released.
"""
from __future__ import annotations

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .course import Course
from .references import COURSE_REFERENCES

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
BUDGET_KEY = "budget_seconds"  # metadata.autograder.<this>: seconds for the whole notebook
SKELETON_BUDGET = 60


class NewError(ValueError):
    """An id that cannot name a new assignment (the message is one line)."""


def _meta(grade_id, grade=False, solution=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def reference_name(assignment: str) -> str:
    """The name ``check_values`` compares the skeleton's exercise under."""
    return f"{assignment}_softplus"


def skeleton(assignment: str) -> nbformat.NotebookNode:
    """The source notebook of a new assignment ``assignment``."""
    ref = reference_name(assignment)
    cells = [
        new_markdown_cell(
            f"# {assignment}\n\nWhat the students build and learn. Cells marked `YOUR CODE "
            "HERE` are theirs; each is followed by a test cell whose hidden tests run only "
            "when the work is graded.", metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np\n\nfrom autograder.student import checks, data",
                      metadata=_meta("setup", locked=True)),
        new_markdown_cell("## 1. A numerically stable softplus\n\n"
                          "$\\mathrm{softplus}(x) = \\log(1 + e^x)$, elementwise. It must not "
                          "overflow for large $|x|$.", metadata=_meta("softplus_intro",
                                                                      locked=True)),
        new_code_cell('def softplus(x):\n    """x: float array, any shape -> log(1 + exp(x)), '
                      'same shape."""\n    ### BEGIN SOLUTION\n    return np.logaddexp(0.0, x)\n'
                      "    ### END SOLUTION", metadata=_meta("softplus_answer", solution=True)),
        new_code_cell(
            "assert np.allclose(softplus(np.array([0.0])), [np.log(2.0)]), "
            "'softplus(0) should be log(2)'\n"
            f'checks.check_values(softplus, "{ref}", shape=(4, 3))\n'
            "### BEGIN HIDDEN TESTS\n"
            f'checks.check_values(softplus, "{ref}", shape=(50,), scale=1000.0, seed=7)\n'
            "### END HIDDEN TESTS",
            metadata=_meta("softplus_test", grade=True, locked=True, points=2)),
        new_markdown_cell("Why does `log(1 + exp(x))` written as is fail for large `x`, and "
                          "how does your version avoid it?\n\nYOUR ANSWER HERE\n\n"
                          "=== BEGIN MARK SCHEME ===\n"
                          "1 point: exp(x) overflows to inf for x above about 709.\n"
                          "1 point: log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)).\n"
                          "=== END MARK SCHEME ===",
                          metadata=_meta("softplus_why", grade=True, solution=True, points=2)),
    ]
    for number, cell in enumerate(cells):
        cell["id"] = f"{assignment}-{number:03d}"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["autograder"] = {"from_scratch": True, BUDGET_KEY: SKELETON_BUDGET}
    return nb


REFERENCE_BLOCK = '''
# {assignment}: the answer the judge compares `softplus` with (autograder new {assignment})
register_reference("values:{ref}", lambda x: np.logaddexp(0.0, x))
'''
REFERENCES_HEADER = '''"""The course's grader-side references (never released to students)."""
import numpy as np

from autograder.student.checks.core import register_reference
'''


def check_name(course: Course, assignment: str) -> None:
    """Raise NewError when ``assignment`` is not a fresh, well-formed id."""
    if not NAME.fullmatch(assignment):
        raise NewError(f"{assignment!r} is not a valid assignment id: use lower-case letters, "
                       "digits and _, starting with a letter (at most 40), e.g. a6_logreg")
    if (course.source / assignment).exists():
        raise NewError(f"{course.source / assignment} already exists: choose another id or "
                       "edit that assignment")


def new(course: Course, assignment: str) -> list:
    """Write ``source/<assignment>/<assignment>.ipynb`` and the skeleton's reference; the
    paths written."""
    check_name(course, assignment)
    folder = course.source / assignment
    folder.mkdir(parents=True)
    notebook = folder / f"{assignment}.ipynb"
    nbformat.write(skeleton(assignment), notebook)
    references = course.source / COURSE_REFERENCES
    text = references.read_text() if references.is_file() else REFERENCES_HEADER
    if "import numpy as np" not in text:
        text = text.rstrip("\n") + "\nimport numpy as np\n"
    if "import register_reference" not in text and "register_reference," not in text:
        text += "from autograder.student.checks.core import register_reference\n"
    text += REFERENCE_BLOCK.format(assignment=assignment, ref=reference_name(assignment))
    references.write_text(text)
    return [notebook, references]
