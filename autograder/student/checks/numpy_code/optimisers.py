"""Plain gradient descent: the student's ``SGD`` class run for a few steps.

A1's SGD is one line, but a wrong line trains nothing (gradient ascent, a forgotten
learning rate, a dict rebound instead of updated) and the training check downstream only
sees a loss that does not go down. This check runs the class itself and names those
mistakes where they are made.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..compare import compare
from ..convert import to_array
from ..core import Check, StudentError, call_student


def optimiser_inputs(rng: np.random.Generator, steps: int) -> dict:
    """What an optimiser check feeds the student's optimiser: {"params": {"W": (4, 3),
    "b": (3,)}, "grads": one dict of the same shapes per step}, all standard normal."""
    params = {"W": rng.normal(0, 1, (4, 3)), "b": rng.normal(0, 1, 3)}
    grads = [{k: rng.normal(0, 1, v.shape) for k, v in params.items()} for _ in range(steps)]
    return {"params": params, "grads": grads}


class SGDCheck(Check):
    """SGD(lr=lr).update(params, grads), called once per step on seeded parameter and
    gradient dicts ({"W": (4, 3), "b": (3,)}); the parameters must change in place to
    params - lr * sum of the steps' gradients."""

    kind = "sgd"
    collects = "the parameters after `steps` calls of SGD(lr).update(params, grads), in place"
    compares_with = "params - lr * (sum of the gradients), computed by the judge"

    def __init__(self, lr=0.1, steps=3, seed=0, name=None, points=1.0):
        super().__init__(name or "SGD update", points, seed)
        self.lr, self.steps = float(lr), int(steps)

    def inputs(self) -> dict:
        return optimiser_inputs(self.rng(), self.steps)

    def collect(self, sgd_class):
        inp = self.inputs()
        params = {k: v.copy() for k, v in inp["params"].items()}
        optimizer = call_student(lambda: sgd_class(lr=self.lr), what=f"SGD(lr={self.lr:g})")
        if not callable(getattr(optimizer, "update", None)):
            raise StudentError("SGD(lr) has no update(params, grads) method")
        for step in inp["grads"]:
            grads = {k: g.copy() for k, g in step.items()}
            call_student(optimizer.update, params, grads, what="SGD.update(params, grads)")
        return {"params": {k: to_array(params.get(k), f"params[{k!r}] after update")
                           for k in inp["params"]}}

    def verdict(self, ev):
        inp = self.inputs()
        total = {k: sum(step[k] for step in inp["grads"]) for k in inp["params"]}
        start = inp["params"]
        known = {
            "it is unchanged: update must change the arrays of the params dict in place "
            "(params[key] -= lr * grads[key]); rebinding a local name changes nothing the "
            "caller sees": start,
            "it moved up the gradient (params + lr * grad): gradient descent subtracts "
            "lr * grad": {k: start[k] + self.lr * total[k] for k in start},
            "the learning rate is missing (params - grad): multiply the gradient by "
            "self.lr": {k: start[k] - total[k] for k in start},
            "only the last step's gradient was applied: each update must start from the "
            "parameters the previous one left": {k: start[k] - self.lr * inp["grads"][-1][k]
                                                 for k in start},
        }
        for key in start:
            expected = start[key] - self.lr * total[key]
            problem = compare(f"params[{key!r}] after {self.steps} SGD steps (lr {self.lr:g})",
                              ev["params"][key], expected, tolerances.OPTIMIZER,
                              mistakes={message: arrays[key] for message, arrays in known.items()})
            if problem:
                return self.failed(problem)
        return self.passed()


check_sgd = SGDCheck.function("check_sgd", "sgd_class")
