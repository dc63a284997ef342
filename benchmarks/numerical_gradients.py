"""What numerical differentiation of a student's own forward pass would cost on the large
inputs of the gradient checks (issue 20), against honest backprop.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/numerical_gradients.py

For A1's MLP gradient checks (network.LARGE_SIZES) and A4's layer and loop-convolution
checks (layers.default_large, the sizes test_conv_loop passes), with the teacher
solutions: the forward pass, forward plus backward, and the estimated time of central
differences over every entry of x and the parameters, 2 passes per entry (4 for fourth
order). The figures in the comments of network.py and layers.py come from this script.
"""
import json
import time
from pathlib import Path

import numpy as np

from autograder.student import checks, data
from autograder.student.checks.numpy_code.layers import default_large
from autograder.student.checks.numpy_code.network import MLPGradientCheck

REPO = Path(__file__).resolve().parents[1]


def solutions(assignment: str, grade_ids: list) -> dict:
    """The namespace of the teacher notebook's cells ``grade_ids`` (the teacher's code)."""
    cells = json.loads((REPO / "source" / assignment / f"{assignment}.ipynb").read_text())["cells"]
    namespace = {"np": np, "data": data, "checks": checks}
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in grade_ids:
            exec("".join(cell["source"]), namespace)  # noqa: S102 (the teacher's own code)
    return namespace


def best(f, n=3) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def report(name, entries, forward, both):
    print(f"{name}: {entries:,} entries, forward {forward * 1e3:.1f} ms, forward+backward "
          f"{both * 1e3:.1f} ms; numerical {2 * entries * forward:,.0f} s (central), "
          f"{4 * entries * forward:,.0f} s (fourth order)")


def a1():
    A1 = solutions("a1_numpy_mlp", ["activations", "softmax", "penalties", "loss_base",
                                    "losses", "network", "mlp_gradients"])
    check = MLPGradientCheck([6, 5, 4], "tanh", 5)
    inp = check.large_inputs()
    entries = sum(v.size for v in inp["params"].values())
    for act in ("relu", "tanh"):
        report(f"A1 MLP {check.large_name()} batch {check.large_batch} {act}", entries,
               best(lambda: A1["forward"](inp["params"], inp["X"], act)),
               best(lambda: A1["mlp_gradients"](inp["params"], inp["X"], inp["Y"], act)))


def a4():
    A4 = solutions("a4_numpy_cnn", ["simple_layers", "conv_base", "conv_loop", "im2col",
                                    "conv_fast", "maxpool"])
    cases = [("Linear(5, 4)", lambda: A4["Linear"](5, 4), default_large("linear", (3, 5))),
             ("Linear(20, 13)", lambda: A4["Linear"](20, 13), default_large("linear", (9, 20))),
             ("Conv2D(3, 4, 3, stride 1, pad 1)", lambda: A4["Conv2D"](3, 4, 3, stride=1, pad=1),
              default_large("conv2d", (2, 3, 5, 5), 1)),
             ("Conv2D(1, 2, 5, stride 1, pad 2)", lambda: A4["Conv2D"](1, 2, 5, stride=1, pad=2),
              default_large("conv2d", (3, 1, 6, 8), 1)),
             ("Conv2D(2, 3, 2, stride 3)", lambda: A4["Conv2D"](2, 3, 2, stride=3, pad=0),
              default_large("conv2d", (2, 2, 8, 7), 3)),
             ("Conv2DLoop(3, 4, 3, stride 1, pad 1)",
              lambda: A4["Conv2DLoop"](3, 4, 3, stride=1, pad=1), (16, 3, 16, 16)),
             ("Conv2DLoop(1, 2, 5, stride 1, pad 2)",
              lambda: A4["Conv2DLoop"](1, 2, 5, stride=1, pad=2), (32, 1, 16, 16)),
             ("MaxPool2D(2, 2)", lambda: A4["MaxPool2D"](2, 2), default_large("maxpool2d", (2, 3, 4, 4))),
             ("MaxPool2D(3, 2)", lambda: A4["MaxPool2D"](3, 2), default_large("maxpool2d", (2, 2, 7, 7)))]
    rng = np.random.default_rng(0)
    for name, make, shape in cases:
        layer, x = make(), rng.normal(size=shape)
        dout = rng.normal(size=layer.forward(x).shape)
        n = 1 if "Loop" in name else 3
        entries = x.size + sum(v.size for v in layer.params.values())
        report(f"A4 {name} on {shape}", entries, best(lambda: layer.forward(x), n),
               best(lambda: (layer.forward(x), layer.backward(dout)), n))


if __name__ == "__main__":
    a1()
    a4()
