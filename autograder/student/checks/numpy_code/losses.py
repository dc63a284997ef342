"""Checks for NumPy losses (cross-entropy, MSE) and weight penalties (L1, L2).

Oracle: torch autograd in float64, imported only where a judge needs it.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import Check, call_student
from .functions import quietly, torch_value_and_grad


# ----------------------------------------------------------------------- losses

def _reference_loss(reference: str, y: np.ndarray, p: np.ndarray):
    """Oracle value and gradient w.r.t. the prediction (torch autograd)."""
    import torch
    n = y.shape[0]
    if reference == "cross_entropy":
        fn = lambda t: -(torch.tensor(y) * torch.log(t)).sum() / n  # noqa: E731
    else:
        fn = lambda t: ((t - torch.tensor(y)) ** 2).mean()  # noqa: E731
    value, grad = torch_value_and_grad(fn, p)
    return float(value), grad


class LossCheck(Check):
    """A loss value and its gradient w.r.t. the prediction, against torch.

    cross_entropy: loss(y, p) = -sum(y * log p) / N for one-hot y and probabilities p (N, C).
    mse: loss(y, y_hat) = mean((y_hat - y)**2) over all entries.
    """

    kind = "loss"
    collects = "the loss value and its gradient on seeded targets and predictions"
    compares_with = "the torch loss of the named reference and its autograd gradient"

    def __init__(self, reference, shape=(8, 10), seed=0, name=None, points=1.0):
        if reference not in ("cross_entropy", "mse"):
            raise ValueError("reference must be 'cross_entropy' or 'mse'")
        super().__init__(name or f"{reference} loss and gradient", points, seed)
        self.reference, self.shape = reference, tuple(shape)

    def inputs(self):
        rng = self.rng()
        n, c = self.shape
        y = np.eye(c)[rng.integers(0, c, n)]
        logits = rng.normal(0, 1, self.shape)
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        if self.reference == "mse":
            p = rng.normal(0, 1, self.shape)
        p_zero = p.copy()
        p_zero[0] = 1 - y[0]  # the true class has probability exactly 0
        p_zero[0] /= p_zero[0].sum()
        return {"y": y, "p": p, "p_zero": p_zero}

    def collect(self, student):
        loss, gradient = student
        inp = self.inputs()
        value = call_student(loss, inp["y"].copy(), inp["p"].copy(), what="loss(y, y_hat)")
        grad = call_student(gradient, inp["y"].copy(), inp["p"].copy(), what="gradient(y, y_hat)")
        out = {"value": to_array(value, "loss(y, y_hat)"), "grad": to_array(grad, "gradient(y, y_hat)")}
        if self.reference == "cross_entropy":
            zero, warned = quietly(loss, inp["y"].copy(), inp["p_zero"].copy(),
                                   what="loss(y, y_hat)")
            out.update(value_zero=to_array(zero, "loss when the true class has p = 0"),
                       warnings=warned)
        return out

    def verdict(self, ev):
        inp = self.inputs()
        n = self.shape[0]
        value, grad = _reference_loss(self.reference, inp["y"], inp["p"])
        observed = np.asarray(ev["value"])
        if observed.size != 1:
            return self.failed(f"loss(y, y_hat) should be one number, got shape {observed.shape}"
                               " (average over the batch)")
        value_mistakes, grad_mistakes = self.factor_mistakes(value, grad)
        problem = compare("loss(y, y_hat)", observed.reshape(()), np.float64(value),
                          tolerances.VALUE, batch=n, mistakes=value_mistakes)
        problem = problem or compare("gradient(y, y_hat)", ev["grad"], grad,
                                     tolerances.FUNCTION, batch=n, mistakes=grad_mistakes)
        unclipped = self.unclipped(ev)
        if problem:  # a second mistake the evidence shows is named too, not left for later
            return self.failed(problem + (f"; also, {unclipped}" if unclipped else ""))
        if unclipped:
            return self.failed(unclipped)
        return self.passed()

    def unclipped(self, ev) -> str:
        """The cross-entropy's p = 0 case: what is wrong when the student's loss is not
        finite there or NumPy warned (log(0) unclipped); "" when it is right."""
        if self.reference != "cross_entropy":
            return ""
        zero = np.asarray(ev["value_zero"], dtype=np.float64)
        if not np.all(np.isfinite(zero)):
            return ("the loss when the true class has p = 0 is not finite: log(0); clip the "
                    "probabilities (e.g. to [1e-12, 1]) before the log")
        if ev["warnings"]:
            return (f"the loss when the true class has p = 0: NumPy warned "
                    f"'{ev['warnings'][0]}': clip the probabilities before log")
        return ""


    def factor_mistakes(self, value: float, grad: np.ndarray) -> tuple[dict, dict]:
        """({message: value}, {message: gradient}) of the usual factor mistakes: the
        cross-entropy averaged over all N*C entries, MSE's factor 2 and its divisions.

        The correct MSE gradient is 2 (y_hat - y) / (N*C); each mistake is a constant multiple
        of it, so the candidates are computed from the oracle's own gradient (no answer
        beyond the check's oracle). A mistake is named only when the student's array
        equals its candidate (compare's ``mistakes``).
        """
        n, c = self.shape
        if self.reference == "cross_entropy":
            return ({} if c == 1 else {
                f"it is averaged over all N*C = {n * c} entries (np.mean): sum over the C "
                f"classes and average over the N={n} rows only": value / c}), ({} if c == 1 else {
                f"it is divided by all N*C = {n * c} entries: the mean runs over the N={n} "
                "rows only, so divide by N": grad / c})
        entries = n * c
        values = {} if c == 1 else {
            f"it is averaged over the N={n} rows only: the mean runs over all N*C = "
            f"{entries} entries (np.mean of the squared errors)": value * c}
        grads = {
            "the factor 2 from the square is missing: the gradient of mean((y_hat - y)**2) "
            "is 2 * (y_hat - y) / (N*C)": grad / 2,
            "it is not divided by the number of entries: the gradient of the mean is "
            "2 * (y_hat - y) / (N*C), not 2 * (y_hat - y)": grad * entries,
            "it lacks both the factor 2 and the division by the number of entries: the "
            "gradient is 2 * (y_hat - y) / (N*C)": grad * entries / 2}
        if c > 1:
            grads.update({
                f"it is divided by the batch size N={n} only: the mean runs over all N*C = "
                f"{entries} entries, so divide by N*C": grad * c,
                f"it is divided by the batch size N={n} only and lacks the factor 2 from the "
                "square: the gradient is 2 * (y_hat - y) / (N*C)": grad * c / 2})
        return values, grads


check_loss = LossCheck.function("check_loss", "loss", "gradient")


class PenaltyCheck(Check):
    """A weight penalty: penalty(list of W, alpha) -> number; gradient(W, alpha) -> like W.

    l2: alpha/2 * sum ||W||^2 with gradient alpha * W; l1: alpha * sum |W|, alpha * sign(W).
    """

    kind = "penalty"
    collects = "the penalty value and its gradient on seeded weights"
    compares_with = "the l1/l2 penalty and its gradient computed in torch"

    def __init__(self, kind, alpha=0.1, seed=0, name=None, points=1.0):
        if kind not in ("l1", "l2"):
            raise ValueError("kind must be 'l1' or 'l2'")
        super().__init__(name or f"{kind.upper()} penalty", points, seed)
        self.penalty_kind, self.alpha = kind, float(alpha)

    def inputs(self):
        rng = self.rng()
        weights = [rng.normal(0, 1, (4, 3)), rng.normal(0, 1, (3, 2))]
        weights[0][0, 0] = 0.0
        return {"weights": weights}

    def collect(self, student):
        penalty, gradient = student
        weights = self.inputs()["weights"]
        value = call_student(penalty, [w.copy() for w in weights], self.alpha,
                             what="penalty(weights, alpha)")
        grads = [to_array(call_student(gradient, w.copy(), self.alpha, what="gradient(W, alpha)"),
                          "gradient(W, alpha)") for w in weights]
        return {"value": to_array(value, "penalty(weights, alpha)"), "grads": grads}

    def verdict(self, ev):
        weights, a = self.inputs()["weights"], self.alpha
        if self.penalty_kind == "l2":
            value = a / 2 * sum((w ** 2).sum() for w in weights)
            grads = [a * w for w in weights]
        else:
            value = a * sum(np.abs(w).sum() for w in weights)
            grads = [a * np.sign(w) for w in weights]
        problem = compare("penalty(weights, alpha)", np.asarray(ev["value"]).reshape(()),
                          np.float64(value), tolerances.VALUE,
                          hint="L2 is alpha/2 * sum of squares, L1 is alpha * sum of |W|")
        for i, (observed, expected) in enumerate(zip(ev["grads"], grads)):
            problem = problem or compare(f"gradient(W, alpha) for weight matrix {i}", observed,
                                         expected, tolerances.FUNCTION)
        return self.failed(problem) if problem else self.passed()


check_penalty = PenaltyCheck.function("check_penalty", "penalty", "gradient")
