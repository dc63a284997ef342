"""A4's ``train_step`` judged on one batch that a correct step overfits.

The kernel builds the student's float64 network, records its initial parameters and runs
``steps`` training steps on one random batch; the judge recomputes the first loss with
torch (float64, the architecture of A4's table) and checks that the parameters moved and
the loss fell.
"""
from __future__ import annotations

import numpy as np

from .core import StudentError, call_student, run
from .judging import SafeCheck, array, evidence_array, lazy_torch, number

ARCHITECTURE = ("conv1_W", "conv1_b", "conv2_W", "conv2_b", "fc_W", "fc_b")


def a4_scores(state: dict, x: np.ndarray):
    """Scores (N, 10) of A4's network (conv-relu-pool twice, flatten, linear) in float64."""
    torch = lazy_torch()
    F = torch.nn.functional
    t = {k: torch.tensor(np.asarray(state[k], dtype=np.float64)) for k in ARCHITECTURE}
    h = torch.tensor(x, dtype=torch.float64)
    for layer in ("conv1", "conv2"):
        h = F.max_pool2d(torch.relu(F.conv2d(h, t[f"{layer}_W"], t[f"{layer}_b"], padding=1)), 2)
    return (h.reshape(len(h), -1) @ t["fc_W"] + t["fc_b"]).numpy()


class TrainStepCheck(SafeCheck):
    kind = "train_step"

    def __init__(self, steps=15, batch=8, lr=1e-3, seed=0, name=None, points=1.0):
        super().__init__(name or f"train_step: {steps} steps on one batch of {batch}", points, seed)
        self.steps, self.batch, self.lr = int(steps), int(batch), float(lr)

    def inputs(self):
        rng = self.rng()
        return {"X": rng.normal(size=(self.batch, 3, 32, 32)),
                "y": rng.integers(0, 10, self.batch), "seed": int(rng.integers(2 ** 31))}

    def collect(self, student):
        train_step, build_model, Adam = student
        inp = self.inputs()
        model = call_student(lambda: build_model(np.random.default_rng(inp["seed"]),
                                                 dtype=np.float64),
                             what="build_model(rng, dtype=np.float64)")
        state = call_student(model.state_dict, what="model.state_dict()")
        missing = [k for k in ARCHITECTURE if k not in state]
        if missing:
            raise StudentError(f"the network of build_model has no {missing} (it has "
                               f"{sorted(state)}): build the layers of the table (test_network)")
        initial = {k: array(state[k], k, np.float64).copy() for k in ARCHITECTURE}
        optimizer = call_student(Adam, self.lr, what=f"Adam({self.lr})")
        losses = []
        for step in range(self.steps):
            loss = call_student(train_step, model, optimizer, inp["X"].copy(), inp["y"].copy(),
                                what="train_step(model, optimizer, X_batch, y_batch)")
            losses.append(number(loss, f"the value train_step returned (step {step + 1})"))
        final = call_student(model.state_dict, what="model.state_dict()")
        return {"initial": initial, "losses": losses,
                "moved": {k: bool(not np.array_equal(array(final[k], k, np.float64), initial[k]))
                          for k in ARCHITECTURE}}

    def verdict(self, ev):
        inp = self.inputs()
        losses = evidence_array(ev["losses"], "losses", 1)
        if len(losses) != self.steps:
            return self.failed(f"{len(losses)} losses recorded for {self.steps} steps")
        initial = {k: evidence_array(ev["initial"][k], k) for k in ARCHITECTURE}
        try:
            scores = a4_scores(initial, inp["X"])
        except RuntimeError as err:
            raise StudentError(f"the network's parameters do not have the shapes of the table "
                               f"(see test_network): {str(err)[:200]}") from None
        torch = lazy_torch()
        first = float(torch.nn.functional.cross_entropy(torch.tensor(scores),
                                                        torch.tensor(inp["y"])))
        if abs(losses[0] - first) > 1e-6 * max(1.0, first):
            cause = ": return the loss computed in the forward pass of this step"
            if abs(losses[0] - self.batch * first) <= 1e-6 * self.batch * first:
                cause = ": that is the sum over the batch; return the mean"
            return self.failed(f"the first step returned {losses[0]:.6g}, but the batch's "
                               f"cross-entropy before the update is {first:.6g}{cause}")
        moved = {k: bool(v) for k, v in ev["moved"].items()}
        if not any(moved.values()):
            return self.failed("the parameters never changed: call optimizer.step(model.parameters()) "
                               "after model.backward(dscores)")
        still = [k for k in ARCHITECTURE if not moved.get(k)]
        if still:
            return self.failed(f"{still} never changed: parameters() must list every layer's "
                               "(param, grad) pairs and Adam must update them in place")
        if not losses[-1] < 0.5 * losses[0]:
            return self.failed(f"{self.steps} steps on one batch of {self.batch} images should "
                               f"overfit it: loss {losses[0]:.3f} -> {losses[-1]:.3f} (is the "
                               "gradient passed to backward that of the loss, dscores?)")
        return self.passed(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")


def check_train_step(train_step, build_model, Adam, steps=15, batch=8, lr=1e-3, seed=0,
                     name=None, points=1.0, raise_on_fail=True):
    """``train_step(model, optimizer, X_batch, y_batch)`` -> the batch's loss, a float, after
    one update; on build_model(rng, dtype=np.float64) with Adam(lr), ``steps`` steps on one
    random batch (batch, 3, 32, 32) must halve the loss."""
    return run(TrainStepCheck(steps, batch, lr, seed, name, points), (train_step, build_model, Adam),
               raise_on_fail)
