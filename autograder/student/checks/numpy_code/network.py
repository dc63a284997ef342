"""Whole-network gradients, one optimiser step, and hand-written torch backward passes."""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..convert import to_array
from ..compare import compare
from ..core import Check, StudentError, call_student, grader_reference
from .sketch import (failure_record, large_run_problem, sample_indices, sketch,
                     student_sketch)
from .functions import ACTIVATIONS
from .optimisers import optimiser_inputs


def mlp_loss(params: dict, X, Y, activation: str, penalty=None, alpha=0.0):
    """The oracle MLP: affine-activation layers, softmax output, mean cross-entropy.

    Input: params {"W1": (D, H1), "b1": (H1,), ...} as torch tensors, X (N, D), Y one-hot (N, C).
    Output: scalar loss tensor, with an optional l1/l2 penalty on the W's.
    """
    import torch
    depth = len([k for k in params if k.startswith("W")])
    h = X
    for i in range(1, depth + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < depth:
            h = ACTIVATIONS[activation](h)
    loss = -(Y * torch.log_softmax(h, dim=1)).sum() / X.shape[0]
    weights = [params[f"W{i}"] for i in range(1, depth + 1)]
    if penalty == "l2":
        loss = loss + alpha / 2 * sum((w ** 2).sum() for w in weights)
    elif penalty == "l1":
        loss = loss + alpha * sum(w.abs().sum() for w in weights)
    return loss


# The large network every MLP gradient check also runs (see sketch.py for why), 0.79 M
# parameters. Measured with A1's solution on one core (OPENBLAS_NUM_THREADS=1, the 2-core
# development machine, benchmarks/numerical_gradients.py): a forward pass on
# LARGE_BATCH inputs takes 15 ms (tanh) to 22 ms (relu), so numerical differentiation of
# the student's own forward over every parameter needs 2 x 0.79 M passes = 24,000-35,000 s
# (central) or 48,000-70,000 s (fourth order): 7 to 20 hours per check, 65-195 times A1's
# cell limit (3 x 120 s), and still 4-12 times that limit with 16 cores in parallel.
# Backprop (forward and backward) takes 0.04-0.05 s, autograd's reference in the judge
# 0.05 s, the whole check 0.11 s. Four layers, because re-running only the layers after a
# perturbed weight still costs two full-width layers per first-layer weight.
LARGE_SIZES = (512, 512, 512, 512, 10)
LARGE_BATCH = 512


def mlp_inputs(rng, sizes, batch) -> dict:
    """Parameters (scaled by 1/sqrt(fan_in)), inputs X (batch, sizes[0]) and one-hot Y."""
    params = {}
    for i, (d_in, d_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, 1 / np.sqrt(d_in), (d_in, d_out))
        params[f"b{i}"] = rng.normal(0, 0.1, d_out)
    X = rng.normal(0, 1, (batch, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return {"params": params, "X": X, "Y": Y}


class MLPGradientCheck(Check):
    """A whole MLP's parameter gradients against torch autograd.

    grad_fn(params, X, Y) -> grads, with params {"W1": (sizes[0], sizes[1]), "b1":
    (sizes[1],), ...}, X (batch, sizes[0]), Y one-hot (batch, sizes[-1]). The loss is the
    mean cross-entropy of softmax(last affine) plus the optional penalty on the W's.
    The same grad_fn then runs on a ``large`` network (``large_batch`` inputs, same
    activation and penalty), whose gradients only backprop computes in time (LARGE_SIZES).
    """

    kind = "mlp_gradients"
    collects = (
        "the parameter gradients of grad_fn on seeded parameters and batch (and a large "
        "network)")
    compares_with = "torch autograd of the same MLP and loss"

    def __init__(self, sizes, activation="relu", batch=5, seed=0, penalty=None, alpha=0.0,
                 name=None, points=1.0, large=LARGE_SIZES, large_batch=LARGE_BATCH):
        super().__init__(name or f"MLP {'-'.join(map(str, sizes))} parameter gradients",
                         points, seed)
        self.sizes, self.activation, self.batch = list(sizes), activation, batch
        self.penalty, self.alpha = penalty, float(alpha)
        self.large, self.large_batch = [int(s) for s in large], int(large_batch)

    def inputs(self):
        return mlp_inputs(self.rng(), self.sizes, self.batch)

    def large_inputs(self) -> dict:
        """The large network's inputs, and the entries its sketch samples."""
        rng = self.rng("large")
        inp = mlp_inputs(rng, self.large, self.large_batch)
        shapes = {k: v.shape for k, v in inp["params"].items()}
        return dict(inp, shapes=shapes, indices=sample_indices(rng, shapes))

    def collect(self, grad_fn):
        evidence = self.collect_small(grad_fn)
        try:  # a failure here must not hide what the small network shows
            evidence["large"] = self.collect_large(grad_fn)
        except StudentError as err:
            evidence["large"] = failure_record(err)
        return evidence

    def collect_large(self, grad_fn) -> dict:
        inp = self.large_inputs()
        grads = call_student(grad_fn, inp["params"], inp["X"], inp["Y"],
                             what=f"grad_fn on a {self.large_name()} network")
        return {"sketch": student_sketch(grads, inp["shapes"], inp["indices"],
                                         f"grad_fn on a {self.large_name()} network")}

    def large_name(self) -> str:
        return "-".join(map(str, self.large))

    def collect_small(self, grad_fn):
        inp = self.inputs()
        params = {k: v.copy() for k, v in inp["params"].items()}
        grads = call_student(grad_fn, params, inp["X"].copy(), inp["Y"].copy(),
                             what="grad_fn(params, X, Y)")
        if not isinstance(grads, dict):
            raise StudentError(f"grad_fn must return a dict of gradients keyed like params "
                               f"(W1, b1, ...), got {type(grads).__name__}")
        missing = [k for k in inp["params"] if k not in grads]
        if missing:
            raise StudentError(f"no gradient returned for {missing} "
                               f"(returned keys: {sorted(map(str, grads))})")
        return {"grads": {k: to_array(grads[k], f"gradient of {k}") for k in inp["params"]}}

    def reference(self, inp) -> dict:
        """Autograd's gradients (float64) of the loss at ``inp``."""
        import torch
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inp["params"].items()}
        loss = mlp_loss(tensors, torch.tensor(inp["X"]), torch.tensor(inp["Y"]),
                        self.activation, self.penalty, self.alpha)
        loss.backward()
        return {key: tensor.grad.numpy() for key, tensor in tensors.items()}

    def verdict(self, ev):
        inp = self.inputs()
        diagnose = grader_reference(self.kind)  # a wrong backprop is a near-answer: grader side
        known = diagnose(inp["params"], inp["X"], inp["Y"], self.activation, self.penalty,
                         self.alpha) if diagnose else {}
        for key, truth in self.reference(inp).items():
            hint = ""
            if key.startswith("b"):
                hint = "a bias gradient is the upstream gradient summed over the batch axis"
            mistakes = self.penalty_mistakes(key, inp["params"][key], truth)
            mistakes.update({message: grads[key] for message, grads in known.items()})
            problem = compare(f"gradient of {key}", ev["grads"][key], truth,
                              tolerances.NETWORK, batch=self.batch, hint=hint,
                              mistakes=mistakes)
            if problem:
                return self.failed(problem)
        return self.judge_large(ev.get("large"))

    def judge_large(self, large):
        """The large network's sketch against autograd's (after the small network passed)."""
        def want():
            inp = self.large_inputs()
            return sketch(self.reference(inp), inp["indices"])

        problem = large_run_problem(
            large, want, "network", f"on a {self.large_name()} network (batch {self.large_batch})")
        return self.failed(problem) if problem else self.passed()

    def penalty_mistakes(self, key: str, value: np.ndarray, truth: np.ndarray) -> dict:
        """The gradients a misplaced weight penalty gives, each with its cause."""
        if self.penalty not in ("l1", "l2") or not self.alpha:
            return {}
        term = self.alpha * (value if self.penalty == "l2" else np.sign(value))
        if key.startswith("b"):
            return {f"the {self.penalty.upper()} penalty was applied to the biases too: "
                    "penalise the weights W only (a bias gradient has no penalty term)":
                    truth + term}
        return {f"the {self.penalty.upper()} penalty's gradient is missing: add "
                "loss.weight_gradient(W) to each weight gradient": truth - term,
                f"the weight gradient holds twice the {self.penalty.upper()} penalty's "
                f"gradient {'alpha * W' if self.penalty == 'l2' else 'alpha * sign(W)'}: "
                "either it is added twice, or the penalty's gradient function returns twice "
                "that": truth + term}


check_mlp_gradients = MLPGradientCheck.function(
    "check_mlp_gradients", "grad_fn", after=("large", "large_batch"))


class AdamCheck(Check):
    """run_adam(params, grads_per_step, lr) -> params after the steps, vs torch.optim.Adam
    (torch only in the judge: a from-scratch grading kernel has none)."""

    kind = "adam"
    collects = "the parameters after run_adam's steps on seeded parameters and gradients"
    compares_with = "torch.optim.Adam run for the same steps"

    def __init__(self, lr=1e-3, steps=3, seed=0, name=None, points=1.0):
        super().__init__(name or "Adam update", points, seed)
        self.lr, self.steps = float(lr), int(steps)

    def inputs(self):
        return optimiser_inputs(self.rng(), self.steps)

    def collect(self, run_adam):
        inp = self.inputs()
        params = {k: v.copy() for k, v in inp["params"].items()}
        grads = [{k: g.copy() for k, g in step.items()} for step in inp["grads"]]
        result = call_student(run_adam, params, grads, self.lr,
                              what="run_adam(params, grads_per_step, lr)")
        if not isinstance(result, dict):
            raise StudentError("run_adam must return the updated params as a dict, got "
                               f"{type(result).__name__}")
        return {"params": {k: to_array(result.get(k), f"updated {k}") for k in inp["params"]}}

    def verdict(self, ev):
        import torch
        inp = self.inputs()
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inp["params"].items()}
        optimizer = torch.optim.Adam(tensors.values(), lr=self.lr, betas=(0.9, 0.999), eps=1e-8)
        for grads in inp["grads"]:
            for k, t in tensors.items():
                t.grad = torch.tensor(grads[k])
            optimizer.step()
        known = {"this is plain gradient descent, not Adam":
                 {k: inp["params"][k] - self.lr * sum(g[k] for g in inp["grads"])
                  for k in inp["params"]}}
        diagnose = grader_reference(self.kind)  # wrong Adams are near-answers: grader side only
        if diagnose:
            known.update(diagnose(inp["params"], inp["grads"], self.lr))
        unchanged = self.unchanged(ev["params"], inp)
        if unchanged:
            return self.failed(unchanged)
        for key, tensor in tensors.items():
            problem = compare(f"parameter {key} after {self.steps} Adam steps", ev["params"][key],
                              tensor.detach().numpy(), tolerances.OPTIMIZER,
                              mistakes={message: arrays[key] for message, arrays in known.items()},
                              hint=self.nan_cause(ev["params"]))
            if problem:
                return self.failed(problem)
        return self.passed()

    def unchanged(self, params: dict, inp: dict) -> str:
        """The cause when every parameter comes back exactly as it went in although some
        gradient is non-zero: the steps never wrote into the arrays; "" otherwise."""
        moved = [not np.array_equal(np.asarray(params[k], dtype=np.float64), v)
                 for k, v in inp["params"].items()]
        if any(moved) or not any(np.any(g[k] != 0) for g in inp["grads"] for k in g):
            return ""
        return (f"every parameter is exactly as it was before the {self.steps} Adam step(s), "
                "although the gradients are non-zero: the update never reached the arrays. "
                "param = param - ... only rebinds the name to a new array; update the array "
                "in place (param -= ...)")

    @staticmethod
    def nan_cause(params: dict) -> str:
        """The cause when every updated entry is NaN: what a step counter starting at 0
        gives (m / (1 - beta1**0) = m / 0 and v / 0 are inf, their ratio NaN everywhere);
        no cause for a partly NaN result, which other bugs give."""
        arrays = [np.asarray(v, dtype=np.float64) for v in params.values()]
        if arrays and all(a.size and np.isnan(a).all() for a in arrays):
            return ("every entry is NaN, as when the step counter t starts at 0: the bias "
                    "correction then divides by 1 - beta**0 = 0; count t from 1")
        return ""


check_adam = AdamCheck.function("check_adam", "run_adam")
