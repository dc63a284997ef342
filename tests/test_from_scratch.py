"""From-scratch assignments: no differentiation oracle in reach of the grading kernel.

A course notebook marked ``"autograder": {"from_scratch": true}`` (A1, A4) is graded in a
sandbox where torch and the other autodiff libraries are empty folders, and the kit's
student side holds no numerical differentiation. A gradient computed with them scores 0;
every honest NumPy formula keeps full marks.
"""
import json

import nbformat
import pytest

from autograder.grader.pipeline import collect, gradebook, grade, release
from autograder.grader.pipeline.course import Course
from autograder.grader.pipeline.sample import fill, reference_answers
from autograder.grader.sandbox import sandbox_problem
from tests import course_fixture as fx

ORACLES = {
    "honest-heaviside": ("import numpy as np\n"
                         "def relu(x):\n    return np.where(x > 0, x, 0.0)\n"
                         "def relu_grad(x):\n    return np.heaviside(x, 0.0)\n", 2),
    "honest-float32-input": ("import numpy as np\n"
                             "def relu(x):\n    return np.maximum(x, 0)\n"
                             "def relu_grad(x):\n    return (np.asarray(x, dtype=np.float64) > 0) * 1.0\n", 2),
    "torch-autograd": ("import numpy as np\n"
                       "def relu(x):\n    return np.maximum(0, x)\n"
                       "def relu_grad(x):\n    import torch\n"
                       "    t = torch.tensor(x, requires_grad=True)\n"
                       "    torch.relu(t).sum().backward()\n    return t.grad.numpy()\n", 0),
    "kit-numerical": ("import numpy as np\n"
                      "def relu(x):\n    return np.maximum(0, x)\n"
                      "def relu_grad(x):\n"
                      "    from autograder.student.checks import numerical_gradient\n"
                      "    return numerical_gradient(lambda v: relu(v).sum(), x)\n", 0),
    "sympy-diff": ("import numpy as np\n"
                   "def relu(x):\n    return np.maximum(0, x)\n"
                   "def relu_grad(x):\n    import sympy\n    s = sympy.Symbol('s')\n"
                   "    d = sympy.lambdify(s, sympy.diff(sympy.Max(0, s), s))\n"
                   "    return np.vectorize(lambda v: float(d(v)) if v != 0 else 0.0)(x)\n", 0),
}


def from_scratch_notebook() -> nbformat.NotebookNode:
    """The fixture's relu and double exercises, marked from scratch (no torch cells)."""
    nb = fx.source_notebook()
    keep = {"intro", "imports", "relu_answer", "relu_test", "double_answer", "double_test"}
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] in keep]
    nb.metadata["autograder"] = {"from_scratch": True}
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    problem = sandbox_problem()
    assert not problem, f"the sandbox cannot run here: {problem}"
    root = tmp_path_factory.mktemp("scratch-course")
    folder = root / "source" / fx.ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(from_scratch_notebook(), folder / f"{fx.ASSIGNMENT}.ipynb")
    (root / "source" / "grader_references.py").write_text(fx.GRADER_REFERENCES)
    course = Course(root)
    release.release(course)
    released = json.loads((course.release / fx.ASSIGNMENT / f"{fx.ASSIGNMENT}.ipynb").read_text())
    complete = fill(released, reference_answers(course.notebooks(fx.ASSIGNMENT)[0]))
    incoming = tmp_path_factory.mktemp("incoming")
    for student, (code, _) in {"reference": (None, 2), **ORACLES}.items():
        nb = fx.with_answers(complete, {"relu_answer": code} if code else {})
        (incoming / student).mkdir()
        (incoming / student / f"{fx.ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
    collect.collect(course, incoming)
    results = grade.grade(course, workers=2, progress=False)
    assert {r.status for r in results} == {"graded"}, [r.message for r in results]
    return course


def relu_score(course, student):
    return {i.name: i.score for i in gradebook.submission_items(course, fx.ASSIGNMENT, student)
            if i.kind == "autograded test"}


@pytest.mark.parametrize("student", sorted(ORACLES))
def test_gradients_from_an_oracle_score_nothing_and_honest_ones_everything(graded, student):
    assert relu_score(graded, student) == {"relu_test": ORACLES[student][1], "double_test": 1}


def test_the_reference_solution_keeps_full_marks_without_torch(graded):
    assert relu_score(graded, "reference") == {"relu_test": 2, "double_test": 1}
