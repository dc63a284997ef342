"""Checks for NumPy functions: activations, softmax, losses, weight penalties.

Oracle: torch autograd in float64, imported only where a judge needs it (a from-scratch
assignment's grading kernel has no torch, and collects without it). Every check also catches the usual mistakes by
comparing against what the known wrong implementation would return.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import tolerances
from .arrays import finite_or_fail, to_array
from .compare import compare, numerical_floor
from .core import Check, StudentError, call_student, run

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
        return {"the derivative was computed from the input x instead of the output "
                "s = sigmoid(x); it is s * (1 - s)": x * (1 - x)}
    if reference == "tanh":
        return {"the derivative was computed from the input x instead of the output "
                "t = tanh(x); it is 1 - t**2": 1 - x ** 2}
    if reference == "relu":
        return {"it is 1 at x == 0; take ReLU's derivative at 0 as 0 (use x > 0)":
                (x >= 0).astype(float),
                "it is 1 for x < 0 as well; ReLU's slope is 0 where x < 0": np.ones_like(x),
                "you returned ReLU(x) itself, not its derivative": np.maximum(0, x)}
    return {}


class ElementwiseCheck(Check):
    kind = "elementwise"

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

    def judge(self, ev):
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
        smooth = np.where(x == 0, 0.5, x)
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


def check_elementwise(forward, derivative, reference, shape=(6, 7), seed=0, name=None,
                      points=1.0, raise_on_fail=True):
    """An activation's forward and elementwise derivative against torch and numerics.

    Input: forward(x) -> f(x); derivative(x) -> f'(x), both elementwise on float64 x
    of any shape (x is the pre-activation input). reference: relu, sigmoid, tanh, linear.
    """
    return run(ElementwiseCheck(reference, shape, seed, name, points), (forward, derivative),
               raise_on_fail)


# ---------------------------------------------------------------------- softmax

class SoftmaxCheck(Check):
    kind = "softmax"

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

    def judge(self, ev):
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


def check_softmax(softmax, shape=(5, 7), seed=0, name=None, points=1.0, raise_on_fail=True):
    """softmax(z) over rows (axis 1) of z (N, C), stable for logits near 1000."""
    return run(SoftmaxCheck(shape, seed, name, points), softmax, raise_on_fail)


class SoftmaxVJPCheck(Check):
    kind = "softmax_vjp"

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

    def judge(self, ev):
        import torch
        z, g = self.inputs()["z"], self.inputs()["g"]
        p, dz = torch_value_and_grad(lambda t: torch.softmax(t, dim=1), z, g)
        problem = compare("vjp(z, upstream)", ev["dz"], dz, tolerances.FUNCTION, mistakes={
            "only the diagonal of the softmax Jacobian was used; every output depends on "
            "every logit: dz = p * (g - sum(g * p, axis=1, keepdims=True))": g * p * (1 - p),
            "the sum runs over the wrong axis (use axis=1, keepdims=True)":
                p * (g - np.sum(g * p, axis=0, keepdims=True))})
        return self.failed(problem) if problem else self.passed()


def check_softmax_vjp(vjp, shape=(5, 7), seed=0, name=None, points=1.0, raise_on_fail=True):
    """vjp(z, upstream) -> dL/dz given upstream = dL/d softmax(z); z, upstream (N, C)."""
    return run(SoftmaxVJPCheck(shape, seed, name, points), vjp, raise_on_fail)


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
    kind = "loss"

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

    def judge(self, ev):
        inp = self.inputs()
        n = self.shape[0]
        value, grad = _reference_loss(self.reference, inp["y"], inp["p"])
        observed = np.asarray(ev["value"])
        if observed.size != 1:
            return self.failed(f"loss(y, y_hat) should be one number, got shape {observed.shape}"
                               " (average over the batch)")
        problem = compare("loss(y, y_hat)", observed.reshape(()), np.float64(value),
                          tolerances.VALUE, batch=n)
        problem = problem or compare("gradient(y, y_hat)", ev["grad"], grad,
                                     tolerances.FUNCTION, batch=n)
        if problem:
            return self.failed(problem)
        if self.reference == "cross_entropy":
            finite_or_fail(np.asarray(ev["value_zero"]), "loss when the true class has p = 0",
                           "log(0): clip the probabilities (e.g. to [1e-12, 1]) first")
            if ev["warnings"]:
                return self.failed(f"loss when the true class has p = 0: NumPy warned "
                                   f"'{ev['warnings'][0]}': clip the probabilities before log")
        return self.passed()


def check_loss(loss, gradient, reference, shape=(8, 10), seed=0, name=None, points=1.0,
               raise_on_fail=True):
    """A loss value and its gradient w.r.t. the prediction, against torch.

    cross_entropy: loss(y, p) = -sum(y * log p) / N for one-hot y and probabilities p (N, C).
    mse: loss(y, y_hat) = mean((y_hat - y)**2) over all entries.
    """
    import torch
    return run(LossCheck(reference, shape, seed, name, points), (loss, gradient), raise_on_fail)


class PenaltyCheck(Check):
    kind = "penalty"

    def __init__(self, kind_, alpha=0.1, seed=0, name=None, points=1.0):
        if kind_ not in ("l1", "l2"):
            raise ValueError("kind must be 'l1' or 'l2'")
        super().__init__(name or f"{kind_.upper()} penalty", points, seed)
        self.penalty_kind, self.alpha = kind_, float(alpha)

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

    def judge(self, ev):
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


def check_penalty(penalty, gradient, kind, alpha=0.1, seed=0, name=None, points=1.0,
                  raise_on_fail=True):
    """A weight penalty: penalty(list of W, alpha) -> number; gradient(W, alpha) -> like W.

    l2: alpha/2 * sum ||W||^2 with gradient alpha * W; l1: alpha * sum |W|, alpha * sign(W).
    """
    return run(PenaltyCheck(kind, alpha, seed, name, points), (penalty, gradient), raise_on_fail)


class SoftmaxCrossEntropyCheck(Check):
    kind = "softmax_cross_entropy"

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

    def judge(self, ev):
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
                                             p - onehot})
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


def check_softmax_cross_entropy(fn, shape=(6, 10), seed=0, name=None, points=1.0,
                                raise_on_fail=True):
    """fn(scores (N, C), y int (N,)) -> (mean loss, dscores (N, C)), stable for large scores."""
    return run(SoftmaxCrossEntropyCheck(shape, seed, name, points), fn, raise_on_fail)
