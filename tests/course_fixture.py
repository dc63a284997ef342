"""A tiny purpose-built nbgrader course, for testing the pipeline's mechanics fast.

One assignment, ``f1_tiny``: answer cells with autograded tests (hidden tests that call
autograder.student.checks, one judged from saved weights, one replayed by the judge with a
grader-only reference), a written answer with a mark scheme, and a plot.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "f1_tiny"
HIDDEN_LINE = 'checks.check_elementwise(relu, relu_grad, "relu", shape=(3, 9), seed=11)'
SOLUTION_LINE = "return (x > 0).astype(float)"
MARK_SCHEME_LINE = "-1 does not mention that the gradient vanishes"


def _meta(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": 3, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


LAYERS = [{"type": "linear", "W": "W1", "b": "b1"}]
# The judge spec replay derives from centroid_test's hidden line (its code is the one source).
JUDGE = {"check": "saved_network_accuracy", "path": "tiny_weights.npz", "layers": LAYERS,
         "dataset": "mnist", "threshold": 0.75, "split": "test", "preprocess": "flat"}


TRAIN_ANSWER = """import torch
import torch.nn.functional as F


def train_one_epoch(loader, model, device, optimizer, log_interval=10):
    ### BEGIN SOLUTION
    model.train()
    losses, correct = [], 0
    for batch, (x, y) in enumerate(loader):
        logits = model(x.to(device))
        loss = F.cross_entropy(logits, y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        correct += int((logits.argmax(1) == y).sum())
        if batch % log_interval == 0:
            losses.append(loss.item())
    return losses, correct
    ### END SOLUTION
"""


def source_notebook() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Tiny assignment\nImplement ReLU and its derivative.",
                          metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\n"
                      "from autograder.student import checks\n"
                      f"LAYERS = {LAYERS!r}", metadata=_meta("imports", locked=True)),
        new_code_cell("def relu(x):\n    \"\"\"Input: any shape. Output: same shape.\"\"\"\n"
                      "    ### BEGIN SOLUTION\n    return np.maximum(0, x)\n    ### END SOLUTION\n\n\n"
                      "def relu_grad(x):\n    \"\"\"Derivative of relu at x (elementwise).\"\"\"\n"
                      f"    ### BEGIN SOLUTION\n    {SOLUTION_LINE}\n    ### END SOLUTION",
                      metadata=_meta("relu_answer", solution=True)),
        new_code_cell("assert relu(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0], 'relu(-1) should be 0'\n"
                      "### BEGIN HIDDEN TESTS\n" + HIDDEN_LINE + "\n### END HIDDEN TESTS",
                      metadata=_meta("relu_test", grade=True, locked=True, points=2)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("double_answer", solution=True)),
        new_code_cell("assert double(2) == 4, 'double(2) should be 4'\n"
                      "checks.check_values(double, 'double', shape=(4,))\n"
                      "### BEGIN HIDDEN TESTS\n"
                      "checks.check_values(double, 'double', shape=(3, 5), seed=12)\n"
                      "### END HIDDEN TESTS", metadata=_meta("double_test", grade=True, locked=True,
                                                             points=1)),
        new_markdown_cell("YOUR ANSWER HERE\n\n=== BEGIN MARK SCHEME ===\n"
                          "2 points: ReLU keeps a gradient of 1 for positive inputs.\n"
                          f"{MARK_SCHEME_LINE}\n=== END MARK SCHEME ===",
                          metadata=_meta("why_relu", grade=True, solution=True, points=2)),
        new_code_cell("x = np.linspace(-3, 3, 50)\nplt.plot(x, relu(x))\nplt.title('ReLU')\nplt.show()",
                      metadata=_meta("plot", locked=True)),
        new_code_cell("from autograder.student import data\n"
                      "### BEGIN SOLUTION\n"
                      "X, y = data.mnist_arrays('train')\n"
                      "X = ((X / 255.0 - data.MNIST_MEAN) / data.MNIST_STD).reshape(len(X), -1)\n"
                      "centroids = np.stack([X[y == c].mean(axis=0) for c in range(10)])\n"
                      "np.savez('tiny_weights.npz', W1=centroids.T, b1=-0.5 * (centroids ** 2).sum(axis=1))\n"
                      "### END SOLUTION", metadata=_meta("centroid_answer", solution=True)),
        new_code_cell("### BEGIN HIDDEN TESTS\n"
                      "checks.check_saved_network_accuracy('tiny_weights.npz', LAYERS, 'mnist', 0.75)\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta("centroid_test", grade=True, locked=True, points=2)),
        new_code_cell(TRAIN_ANSWER, metadata=_meta("train_answer", solution=True)),
        new_code_cell("checks.check_train_one_epoch(train_one_epoch, log_interval=2)\n"
                      "### BEGIN HIDDEN TESTS\n"
                      "checks.check_train_one_epoch(train_one_epoch, log_interval=3, seed=5)\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta("train_test", grade=True, locked=True, points=2)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_course(root: Path) -> Path:
    """Write the tiny course's source notebook under ``root``; returns root."""
    folder = root / "source" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(), folder / f"{ASSIGNMENT}.ipynb")
    (root / "source" / "grader_references.py").write_text(GRADER_REFERENCES)
    return root


# The course's own grader-side references (never released): the answer to `double`.
GRADER_REFERENCES = """from autograder.student.checks.core import register_reference

register_reference("values:double", lambda x: 2 * x)
"""


# Answer cells of buggy students: grade id -> replacement source.
WRONG_RELU_GRAD = ("def relu(x):\n    return np.maximum(0, x)\n\n\n"
                   "def relu_grad(x):\n    return (x >= 0).astype(float)\n")
SHAPED_TO_VISIBLE = "def double(x):\n    return 4 if x == 2 else x\n"
# Fails the visible assert only: every check of its cell still runs and passes.
FAILS_VISIBLE_ONLY = "def double(x):\n    return 5 if np.ndim(x) == 0 else 2 * x\n"
INFINITE_LOOP = "def double(x):\n    while True:\n        pass\n\nwhile True:\n    pass\n"
ATTACK_GRADEBOOK = ("import glob, os\n"
                    "for p in glob.glob('../../../*.db') + glob.glob('../../../source/*/*.ipynb'):\n"
                    "    open(p, 'w').write('owned')\n"
                    "def double(x):\n    return 2 * x\n")


def with_answers(released: dict, answers: dict) -> dict:
    nb = json.loads(json.dumps(released))
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb
# Passes the kernel's own check (which has no reference loop) but not the judge's replay.
NO_ZERO_GRAD = TRAIN_ANSWER.replace("        optimizer.zero_grad()\n", "").replace(
    "    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", "")
# Scores on double_test only if the grader side can be imported in the kernel.
IMPORTS_GRADER = ("try:\n    import autograder.grader.references\n"
                  "    def double(x):\n        return 2 * x\n"
                  "except ImportError:\n    def double(x):\n        return 0\n")
CHEAT_ACCURACY = ("import autograder.student.checks\n"
                  "autograder.student.checks.check_saved_network_accuracy = lambda *a, **k: None\n"
                  "np.savez('tiny_weights.npz', W1=np.zeros((784, 10)), b1=np.zeros(10))\n")
