"""Checks for softmax, its vector-Jacobian product, and softmax with cross-entropy.

Oracle: torch autograd in float64, imported only where a judge needs it.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import finite_or_fail, to_array
from ..compare import compare
from ..core import Check, StudentError, call_student
from .functions import quietly, torch_value_and_grad


# ---------------------------------------------------------------------- softmax

class SoftmaxCheck(Check):
    """softmax(z) over rows (axis 1) of z (N, C), stable for logits near 1000."""

    kind = "softmax"
    collects = "softmax(z) on seeded logits and on logits near 1000, with any warnings raised"
    compares_with = "torch.softmax of the same logits"

    def __init__(self, shape=(5, 7), seed=0, name=None, points=1.0):
        super().__init__(name or "softmax", points, seed)
        self.shape = tuple(shape)

    def inputs(self):
        rng = self.rng()
        z = rng.normal(0, 2, self.shape)
        big = z * 10 + 1000.0
        big[0, 0] = 1200.0
        return {"z": z, "big": big}

    def collect(self, softmax):
        inp = self.inputs()
        p = to_array(call_student(softmax, inp["z"].copy(), what="softmax(z)"), "softmax(z)")
        p_big, warned = quietly(softmax, inp["big"].copy(), what="softmax(z)")
        return {"p": p, "p_big": to_array(p_big, "softmax(z) for logits near 1000"),
                "warnings": warned}

    def verdict(self, ev):
        import torch
        inp = self.inputs()
        z = inp["z"]
        expected = torch.softmax(torch.tensor(z), dim=1).numpy()
        wrong_axis = torch.softmax(torch.tensor(z), dim=0).numpy()
        problem = compare("softmax(z)", ev["p"], expected, tolerances.VALUE, mistakes={
            "it normalises over axis 0 (columns); normalise each row (axis=1, keepdims=True)":
                wrong_axis,
            "it is exp(z) without dividing by the row sum": np.exp(z)})
        if problem:
            return self.failed(problem)
        hint = "it overflows for large logits: subtract each row's max before exp"
        finite_or_fail(np.asarray(ev["p_big"]), "softmax(z) for logits near 1000", hint)
        if ev["warnings"]:
            return self.failed(f"softmax(z) for logits near 1000: NumPy warned "
                               f"'{ev['warnings'][0]}'; {hint}")
        expected_big = torch.softmax(torch.tensor(inp["big"]), dim=1).numpy()
        problem = compare("softmax(z) for logits near 1000", ev["p_big"], expected_big,
                          tolerances.VALUE)
        return self.failed(problem) if problem else self.passed()


check_softmax = SoftmaxCheck.function("check_softmax", "softmax")


class SoftmaxVJPCheck(Check):
    """vjp(z, upstream) -> dL/dz given upstream = dL/d softmax(z); z, upstream (N, C)."""

    kind = "softmax_vjp"
    collects = "vjp(z, upstream) on seeded z and upstream"
    compares_with = "torch autograd of softmax"

    def __init__(self, shape=(5, 7), seed=0, name=None, points=1.0):
        super().__init__(name or "softmax Jacobian-vector product", points, seed)
        self.shape = tuple(shape)

    def inputs(self):
        rng = self.rng()
        return {"z": rng.normal(0, 2, self.shape), "g": rng.normal(0, 1, self.shape)}

    def collect(self, vjp):
        inp = self.inputs()
        dz = call_student(vjp, inp["z"].copy(), inp["g"].copy(), what="vjp(z, upstream)")
        return {"dz": to_array(dz, "vjp(z, upstream)")}

    def verdict(self, ev):
        import torch
        z, g = self.inputs()["z"], self.inputs()["g"]
        p, dz = torch_value_and_grad(lambda t: torch.softmax(t, dim=1), z, g)
        problem = compare("vjp(z, upstream)", ev["dz"], dz, tolerances.FUNCTION, mistakes={
            "only the diagonal of the softmax Jacobian was used; every output depends on "
            "every logit: dz = p * (g - sum(g * p, axis=1, keepdims=True))": g * p * (1 - p),
            "the sum runs over the wrong axis (use axis=1, keepdims=True)":
                p * (g - np.sum(g * p, axis=0, keepdims=True))})
        if problem and cancels(np.asarray(ev["dz"], dtype=np.float64), dz):
            return self.failed(
                f"vjp(z, upstream) is wrong: it is zero up to rounding (largest |entry| "
                f"{np.abs(ev['dz']).max():.1e}), a sum that cancels, as the softmax Jacobian "
                "summed over one of its axes does (every row and column of J = diag(s) - "
                "s s^T sums to 0): e.g. (J * upstream[:, None, :]).sum(axis=1) puts upstream "
                "on axis 2 and sums over axis 1. Contract over the axis upstream is on: "
                "dz[n, j] = sum_i upstream[n, i] * J[n, i, j] (or s * (upstream - "
                "sum(upstream * s, axis=1, keepdims=True)))")
        return self.failed(problem) if problem else self.passed()


def cancels(observed: np.ndarray, expected: np.ndarray) -> bool:
    """True when ``observed`` is rounding noise around zero (|entries| at most 1e-9 of the
    expected's largest) without being exactly zero: computed by a sum that cancels, not
    left unset (an array of exact zeros is compare's "zero everywhere")."""
    largest = float(np.max(np.abs(expected))) if expected.size else 0.0
    if observed.shape != expected.shape or largest == 0 or not np.all(np.isfinite(observed)):
        return False
    return bool(np.any(observed != 0)) and float(np.max(np.abs(observed))) <= 1e-9 * largest


check_softmax_vjp = SoftmaxVJPCheck.function("check_softmax_vjp", "vjp")


class SoftmaxCrossEntropyCheck(Check):
    """fn(scores (N, C), y int (N,)) -> (mean loss, dscores (N, C)), stable for large scores."""

    kind = "softmax_cross_entropy"
    collects = "the mean loss and dscores on seeded scores, also on scores near 1000"
    compares_with = "torch cross-entropy and its autograd gradient"

    def __init__(self, shape=(6, 10), seed=0, name=None, points=1.0):
        super().__init__(name or "softmax cross-entropy", points, seed)
        self.shape = tuple(shape)

    def inputs(self):
        rng = self.rng()
        n, c = self.shape
        return {"scores": rng.normal(0, 2, self.shape), "y": rng.integers(0, c, n),
                "big": rng.normal(0, 2, self.shape) * 100 + 800}

    def collect(self, fn):
        inp = self.inputs()
        result = call_student(fn, inp["scores"].copy(), inp["y"].copy(), what="fn(scores, y)")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise StudentError("fn(scores, y) must return a pair (loss, dscores), got "
                               f"{type(result).__name__}")
        big, warned = quietly(fn, inp["big"].copy(), inp["y"].copy(), what="fn(scores, y)")
        return {"loss": to_array(result[0], "loss"), "dscores": to_array(result[1], "dscores"),
                "loss_big": to_array(big[0], "loss for scores near 800"),
                "dscores_big": to_array(big[1], "dscores for scores near 800"),
                "warnings": warned}

    def verdict(self, ev):
        import torch
        inp = self.inputs()
        n = self.shape[0]
        y = torch.tensor(inp["y"])

        def reference(scores):
            fn = lambda t: torch.nn.functional.cross_entropy(t, y)  # noqa: E731
            value, grad = torch_value_and_grad(fn, scores)
            return np.float64(value), grad

        loss, dscores = reference(inp["scores"])
        p = torch.softmax(torch.tensor(inp["scores"]), 1).numpy()
        onehot = np.eye(self.shape[1])[inp["y"]]
        problem = compare("loss", np.asarray(ev["loss"]).reshape(()), loss, tolerances.VALUE,
                          batch=n)
        problem = problem or compare("dscores", ev["dscores"], dscores, tolerances.FUNCTION,
                                     batch=n, mistakes={
                                         "the true class's -1 is missing: dscores = (p - y) / N":
                                             p / n,
                                         "it is p - y without averaging over the batch (/ N)":
                                             p - onehot,
                                         "the true class gets +1 instead of -1: dscores = (p - "
                                         "y) / N, so subtract 1 at each row's true class "
                                         "(dscores[np.arange(N), y] -= 1)": (p + onehot) / n})
        if problem:
            return self.failed(problem)
        hint = "unstable for large scores: subtract each row's max (log-sum-exp)"
        finite_or_fail(np.asarray(ev["loss_big"]), "loss for scores near 800", hint)
        finite_or_fail(np.asarray(ev["dscores_big"]), "dscores for scores near 800", hint)
        if ev["warnings"]:
            return self.failed(f"scores near 800: NumPy warned '{ev['warnings'][0]}'; {hint}")
        loss_big, dscores_big = reference(inp["big"])
        problem = compare("loss for scores near 800", np.asarray(ev["loss_big"]).reshape(()),
                          loss_big, tolerances.VALUE)
        problem = problem or compare("dscores for scores near 800", ev["dscores_big"],
                                     dscores_big, tolerances.FUNCTION)
        return self.failed(problem) if problem else self.passed()


check_softmax_cross_entropy = SoftmaxCrossEntropyCheck.function(
    "check_softmax_cross_entropy", "fn")
