"""Checks for NumPy activations (value and derivative), and what the function checks share
(softmax.py and losses.py hold the others).

Oracle: torch autograd in float64, imported only where a judge needs it (a from-scratch
assignment's grading kernel has no torch, and collects without it). Every check also catches the usual mistakes by
comparing against what the known wrong implementation would return.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import tolerances
from ..convert import finite_or_fail, to_array
from ..compare import compare, numerical_floor
from ..core import Check, call_student

ACTIVATIONS = {
    "relu": lambda t: t.relu(),
    "sigmoid": lambda t: t.sigmoid(),
    "tanh": lambda t: t.tanh(),
    "linear": lambda t: t * 1.0,
}


def torch_value_and_grad(fn, x: np.ndarray, upstream: np.ndarray | None = None):
    """Value of ``fn`` at x and the vector-Jacobian product with ``upstream`` (ones)."""
    import torch
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(t)
    g = torch.ones_like(out) if upstream is None else torch.tensor(upstream, dtype=torch.float64)
    (grad,) = torch.autograd.grad(out, t, g)
    return out.detach().numpy(), grad.numpy()


def quietly(function, *args, what: str):
    """Call student code, reporting numeric warnings (overflow, divide by zero) as data."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            value = call_student(function, *args, what=what)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return value, messages


# ------------------------------------------------------------------ activations

def _elementwise_mistakes(reference: str, x: np.ndarray) -> dict:
    if reference == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        mixed = ("the derivative mixes the input x and the output s = sigmoid(x): {} has one "
                 "x where s belongs; it is s * (1 - s), both factors from s")
        return {"the derivative was computed from the input x instead of the output "
                "s = sigmoid(x); it is s * (1 - s)": x * (1 - x),
                mixed.format("s * (1 - x)"): s * (1 - x), mixed.format("x * (1 - s)"): x * (1 - s)}
    if reference == "tanh":
        t = np.tanh(x)
        return {"the derivative was computed from the input x instead of the output "
                "t = tanh(x); it is 1 - t**2": 1 - x ** 2,
                "the square is missing: it is 1 - t**2 with t = tanh(x), not 1 - t": 1 - t,
                "the square is applied to 1 - t: it is 1 - t**2 with t = tanh(x), "
                "not (1 - t)**2": (1 - t) ** 2}
    if reference == "relu":
        return {"it is 1 at x == 0; take ReLU's derivative at 0 as 0 (use x > 0)":
                (x >= 0).astype(float),
                "it is 1 for x < 0 as well; ReLU's slope is 0 where x < 0": np.ones_like(x),
                "you returned ReLU(x) itself, not its derivative": np.maximum(0, x)}
    if reference == "linear":
        return {"it is zero everywhere: the linear (identity) activation f(x) = x has slope 1, "
                "so its gradient is 1 everywhere (np.ones_like(x)), not the derivative of a "
                "constant": np.zeros_like(x),
                "you returned x itself, not the derivative of f(x) = x, which is 1 "
                "everywhere (np.ones_like(x))": x}
    return {}


class ElementwiseCheck(Check):
    """An activation's forward and elementwise derivative against torch and numerics.

    Input: forward(x) -> f(x); derivative(x) -> f'(x), both elementwise on float64 x
    of any shape (x is the pre-activation input). reference: relu, sigmoid, tanh, linear.
    """

    kind = "elementwise"
    collects = "forward(x) and derivative(x) on seeded x (also near 0 and for |x| up to 1000)"
    compares_with = (
        "torch autograd of the named reference activation, and central differences of the "
        "student's own forward")

    def __init__(self, reference, shape=(6, 7), seed=0, name=None, points=1.0):
        if reference not in ACTIVATIONS:
            raise ValueError(f"reference must be one of {sorted(ACTIVATIONS)}")
        super().__init__(name or f"{reference} forward and gradient", points, seed)
        self.reference, self.shape = reference, tuple(shape)

    def inputs(self):
        rng = self.rng()
        x = rng.normal(0, 3, self.shape)
        x[np.abs(x) < 1e-3] = 0.5  # keep central differences away from ReLU's kink
        x.reshape(-1)[:: max(1, x.size // 3)] = 0.0  # exact zeros: ReLU's convention
        big = np.array([[-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0]])
        return {"x": x, "big": big, "h": tolerances.NUMERICAL_STEP}

    def collect(self, student):
        forward, derivative = student
        inp = self.inputs()
        x, h = inp["x"], inp["h"]
        smooth = np.where(x == 0, 0.5, x)  # central differences need no kink
        out = {
            "y": to_array(call_student(forward, x.copy(), what="forward(x)"), "forward(x)"),
            "dy": to_array(call_student(derivative, x.copy(), what="gradient(x)"), "gradient(x)"),
            "y_plus": to_array(call_student(forward, smooth + h, what="forward(x)"), "forward(x+h)"),
            "y_minus": to_array(call_student(forward, smooth - h, what="forward(x)"), "forward(x-h)"),
            "dy_smooth": to_array(call_student(derivative, smooth.copy(), what="gradient(x)"),
                                  "gradient(x)"),
        }
        y_big, warned = quietly(forward, inp["big"].copy(), what="forward(x)")
        dy_big, warned_d = quietly(derivative, inp["big"].copy(), what="gradient(x)")
        out.update(y_big=to_array(y_big, "forward(large x)"),
                   dy_big=to_array(dy_big, "gradient(large x)"), warnings=warned + warned_d)
        return out

    def verdict(self, ev):
        inp = self.inputs()
        x, big = inp["x"], inp["big"]
        fn = ACTIVATIONS[self.reference]
        y, dy = torch_value_and_grad(fn, x)
        problem = compare("forward(x)", ev["y"], y, tolerances.VALUE)
        if problem:
            return self.failed(problem)
        problem = compare("gradient(x)", ev["dy"], dy, tolerances.FUNCTION,
                          mistakes=_elementwise_mistakes(self.reference, x))
        if problem:
            return self.failed(problem)
        numeric = (np.asarray(ev["y_plus"]) - np.asarray(ev["y_minus"])) / (2 * inp["h"])
        problem = compare("gradient(x) vs central differences of forward", ev["dy_smooth"],
                          numeric, tolerances.NUMERICAL, floor=numerical_floor(numeric))
        if problem:
            return self.failed(problem)
        stable = "use a form that never exponentiates a large positive number"
        if self.reference == "sigmoid":
            stable = ("for x < 0 use exp(x) / (1 + exp(x)); for x >= 0 use 1 / (1 + exp(-x))")
        finite_or_fail(np.asarray(ev["y_big"]), "forward(x) for |x| up to 1000",
                       "numerically unstable; " + stable)
        if ev["warnings"]:
            return self.failed(f"numerically unstable for |x| up to 1000: NumPy warned "
                               f"'{ev['warnings'][0]}'; {stable}")
        y_big, dy_big = torch_value_and_grad(fn, big)
        problem = compare("forward(x) for |x| up to 1000", ev["y_big"], y_big, tolerances.VALUE)
        problem = problem or compare("gradient(x) for |x| up to 1000", ev["dy_big"], dy_big,
                                     tolerances.FUNCTION)
        if problem:
            return self.failed(problem)
        return self.passed()


check_elementwise = ElementwiseCheck.function("check_elementwise", "forward", "derivative")
