"""From-scratch assignments: no differentiation oracle in reach of the grading kernel.

A course notebook marked ``"autograder": {"from_scratch": true}`` (A1, A4) is graded in a
sandbox where torch, sympy, scipy and the other autodiff and symbolic libraries cannot be
imported from any site folder (venv, base interpreter, system), and the kit's student side
holds no numerical differentiation. A gradient computed with them scores 0;
every honest NumPy formula keeps full marks.
"""
import json

import nbformat
import pytest

from autograder.grader.collect import collect
from autograder.grader.record import gradebook
from autograder.grader import grade
from autograder.grader.release import release
from autograder.grader.course import Course
from autograder.grader.sample import fill, reference_answers
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
    # sympy and mpmath also live in the base interpreter's site-packages, bound into every
    # sandbox: a sys.path edit used to reach them
    "sympy-from-every-site-folder": (
        "import glob, sys\nimport numpy as np\n"
        "sys.path[:0] = glob.glob(sys.base_prefix + '/lib*/python*/site-packages') + "
        "glob.glob(sys.prefix + '/lib*/python*/site-packages')\n"
        "def relu(x):\n    return np.maximum(0, x)\n"
        "def relu_grad(x):\n    import mpmath\n"
        "    return np.vectorize(lambda v: float(mpmath.diff(lambda s: max(0, s), v)) "
        "if v != 0 else 0.0)(x)\n", 0),
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


# Everything a kernel could try to reach an installed autodiff or symbolic package with:
# sys.path edits towards every site folder of the venv, the base interpreter and the system,
# imports by name, loading a package's file by path, and installed metadata.
REACH = """
import glob, importlib, importlib.metadata, importlib.util, json, os, sys
roots = [sys.prefix, sys.base_prefix, "/usr", "/usr/local"]
for root in roots:
    sys.path[:0] = glob.glob(root + "/lib*/python*/*-packages")
sys.path += ["/usr/lib/python3/dist-packages"]
reached = []
for name in ("sympy", "mpmath", "torch", "jax", "autograd", "scipy", "scipy.differentiate",
             "scipy.optimize", "isympy", "functorch", "torchgen"):
    try:
        module = importlib.import_module(name)
        reached.append(f"import {name}: {sorted(vars(module))[:5]}")
    except ImportError as err:
        if "graded from scratch" not in str(err) and "No module named" not in str(err):
            reached.append(f"import {name}: unexpected {err}")
for folder in sys.path:
    for init in glob.glob(folder + "/*/__init__.py") + glob.glob(folder + "/*.py"):
        top = os.path.basename(os.path.dirname(init) if init.endswith("__init__.py") else init[:-3])
        if top.lower().startswith(("sympy", "mpmath", "torch", "scipy", "isympy", "jax")):
            text = open(init, errors="replace").read()
            if "is not available in this assignment" not in text:
                reached.append(f"read {init}")
            try:
                spec = importlib.util.spec_from_file_location(top + "_copy", init)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                reached.append(f"loaded {init}")
            except ImportError:
                pass
for dist in ("sympy", "mpmath", "torch", "scipy"):
    try:
        version = importlib.metadata.version(dist)
    except Exception:
        version = None
    if version:
        reached.append(f"metadata {dist} {version}")
print("REACHED", json.dumps(reached))
import numpy
print("NUMPY", numpy.ones(3).sum())
"""


def test_a_from_scratch_kernel_reaches_no_autodiff_package_by_any_path(tmp_path):
    """sympy and mpmath live in the base interpreter's site-packages too, sympy and torch in
    the venv's: sys.path edits, imports by name or by file, and metadata all find nothing."""
    import subprocess
    import sys

    from autograder.grader.sandbox import Limits, autodiff_paths, wrap

    problem = sandbox_problem()
    assert not problem, f"the sandbox cannot run here: {problem}"
    hidden = autodiff_paths()
    base_site = [p for p in hidden if p.startswith(sys.base_prefix + "/")]
    assert any(p.endswith("/sympy") for p in base_site), "this test needs sympy in the base"
    (tmp_path / "job").mkdir()
    run = subprocess.run(wrap([sys.executable, "-c", REACH], writable=[tmp_path / "job"],
                              limits=Limits.for_budget(60), hide=hidden),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    reached = json.loads(run.stdout.split("REACHED ", 1)[1].splitlines()[0])
    assert reached == []
    assert "NUMPY 3.0" in run.stdout


def test_every_installed_entry_of_a_hidden_package_is_found_by_name():
    from autograder.grader.sandbox.command import is_autodiff

    for entry in ("sympy", "sympy-1.14.0.dist-info", "isympy.py", "mpmath", "scipy.libs",
                  "torchvision.libs", "torch_geometric", "jaxlib", "jax_plugins",
                  "autograd-1.7.dist-info", "tensorflow_io",
                  "casadi", "numdifftools", "findiff-0.10.dist-info", "tinygrad",
                  "micrograd.py", "__editable__.sympy-1.0.pth",
                  "symengine.cpython-311-x86_64-linux-gnu.so"):
        assert is_autodiff(entry), entry
    for entry in ("numpy", "numpy-2.4.6.dist-info", "matplotlib", "ipykernel", "nbformat",
                  "tomli", "tornado", "autograder", "jaraco", "kiwisolver", "_distutils_hack"):
        assert not is_autodiff(entry), entry
