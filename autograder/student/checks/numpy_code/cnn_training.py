"""A4's whole network: the gradients of a ``Network`` of the student's layers against
torch autograd (float64), and ``train_step`` judged on one batch that a correct step
overfits.

For train_step the kernel builds the student's float64 network, records its initial parameters and runs
``steps`` training steps on one random batch; the judge recomputes the first loss with
torch (float64, the architecture of A4's table) and checks that the parameters moved and
the loss fell.
"""
from __future__ import annotations

import numpy as np

from .. import tolerances
from ..compare import compare
from ..core import Check, StudentError, call_student
from ..convert import evidence_array, number, to_array
from ..judging import lazy_torch, same
from .backward_order import forward_order_cause, record_backward_calls
from .layers import default_large
from .sketch import (failure_record, large_run_problem, sample_indices, sketch,
                     student_sketch)

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


class TrainStepCheck(Check):
    """``train_step(model, optimizer, X_batch, y_batch)`` -> the batch's loss, a float, after
    one update; on build_model(rng, dtype=np.float64) with Adam(lr), ``steps`` steps on one
    random batch (batch, 3, 32, 32) must halve the loss."""

    kind = "train_step"
    collects = "the losses of the steps and whether the parameters moved"
    compares_with = "a loss that must fall by half over the steps"

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
        initial = {k: to_array(state[k], k, np.float64).copy() for k in ARCHITECTURE}
        optimizer = call_student(Adam, self.lr, what=f"Adam({self.lr})")
        losses = []
        for step in range(self.steps):
            loss = call_student(train_step, model, optimizer, inp["X"].copy(), inp["y"].copy(),
                                what="train_step(model, optimizer, X_batch, y_batch)")
            losses.append(number(loss, f"the value train_step returned (step {step + 1})"))
        final = call_student(model.state_dict, what="model.state_dict()")
        return {"initial": initial, "losses": losses,
                "moved": {k: bool(not np.array_equal(to_array(final[k], k, np.float64), initial[k]))
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
            cause = (": return the loss of this step's forward pass (before the update); if you "
                     "do, your network computes other scores than the table's layers (do your "
                     "layers pass their own tests?)")
            if abs(losses[0] - self.batch * first) <= 1e-6 * self.batch * first:
                cause = ": that is the sum over the batch; return the mean"
            return self.failed(f"the first step returned {losses[0]:.6g}, but the batch's "
                               f"cross-entropy before the update is {first:.6g}{cause}")
        moved = {k: bool(v) for k, v in ev["moved"].items()}
        if not any(moved.values()):
            return self.failed("the parameters never changed: the step must apply the optimiser "
                               "to the model's parameters after the backward pass has filled "
                               "their gradients")
        still = [k for k in ARCHITECTURE if not moved.get(k)]
        if still:
            return self.failed(f"{still} never changed: parameters() must list every layer's "
                               "(param, grad) pairs and Adam must update them in place")
        if not losses[-1] < 0.5 * losses[0]:
            return self.failed(f"{self.steps} steps on one batch of {self.batch} images should "
                               f"overfit it: loss {losses[0]:.3f} -> {losses[-1]:.3f} (is the "
                               "gradient passed to backward that of the loss, dscores?)")
        return self.passed(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")


check_train_step = TrainStepCheck.function("check_train_step", "train_step", "build_model", "Adam")


# ----------------------------------------------------------------------------- network
class NetworkGradientCheck(Check):
    """A float64 Network(conv 3x3 pad 1 - relu - maxpool 2 - flatten - linear) of the
    student's layers: the scores, every parameter gradient listed by ``parameters()`` and
    dx of ``backward(G)`` for a random upstream G (N, n_classes), against torch autograd;
    then the gradients on a ``large`` input (default as for a conv2d layer check,
    layers.default_large), which only backprop computes in time."""

    kind = "network_gradients"
    collects = "the scores, parameter gradients and dx of the student's network on seeded inputs"
    compares_with = "the same network in torch, float64 autograd"
    NAMES = (("conv", "W"), ("conv", "b"), ("fc", "W"), ("fc", "b"))

    def __init__(self, x_shape, n_classes=4, seed=0, name=None, points=1.0, large=None):
        super().__init__(name or f"Network gradients, input {tuple(x_shape)}", points, seed)
        self.x_shape, self.n_classes = tuple(int(s) for s in x_shape), int(n_classes)
        self.large = tuple(int(s) for s in (default_large("conv2d", self.x_shape)
                                            if large is None else large))

    def inputs(self, x_shape=None, salt=""):
        rng = self.rng(salt)
        N, C, H, W = x_shape or self.x_shape
        shapes = {"conv_W": (3, C, 3, 3), "conv_b": (3,), "fc_W": (3 * (H // 2) * (W // 2),
                                                                   self.n_classes),
                  "fc_b": (self.n_classes,)}
        return {"params": {k: rng.normal(0, 0.5, s) for k, s in shapes.items()},
                "x": rng.normal(size=(N, C, H, W)), "G": rng.normal(size=(N, self.n_classes))}

    def build(self, student, x_shape, params):
        """The student's Network of its own layers, with ``params`` written in: (net, layers)."""
        Network, Conv2D, ReLU, MaxPool2D, Flatten, Linear = student
        N, C, H, W = x_shape
        rng = np.random.default_rng(0)
        layers = [("conv", call_student(lambda: Conv2D(C, 3, 3, stride=1, pad=1, rng=rng),
                                        what="Conv2D(C, 3, 3, stride=1, pad=1)")),
                  ("relu", call_student(ReLU, what="ReLU()")),
                  ("pool", call_student(MaxPool2D, 2, 2, what="MaxPool2D(2, 2)")),
                  ("flat", call_student(Flatten, what="Flatten()")),
                  ("fc", call_student(lambda: Linear(3 * (H // 2) * (W // 2), self.n_classes,
                                                     rng=rng), what="Linear(D, K)"))]
        by_name = dict(layers)
        for layer, key in self.NAMES:
            by_name[layer].params[key] = params[f"{layer}_{key}"].copy()
        return call_student(Network, layers, what="Network(layers)"), by_name

    def collect(self, student):
        evidence = self.collect_small(student)
        if self.large and "backward_error" not in evidence:
            try:  # a failure here must not hide what the small input shows
                evidence["large"] = self.collect_large(student)
            except StudentError as err:
                evidence["large"] = failure_record(err)
        return evidence

    def collect_large(self, student) -> dict:
        """forward and backward on the large input; a sketch of dx and the gradients."""
        inp = self.inputs(self.large, "large")
        net, by_name = self.build(student, self.large, inp["params"])
        call_student(net.forward, inp["x"], what=f"Network.forward on an input {self.large}")
        dx = call_student(net.backward, inp["G"], what=f"Network.backward on an input {self.large}")
        got = {"dx": dx, **{f"{l}_{k}": getattr(by_name[l], "grads", {}).get(k)
                            for l, k in self.NAMES}}
        shapes = {"dx": self.large, **{k: v.shape for k, v in inp["params"].items()}}
        indices = sample_indices(self.rng("large sample"), shapes)
        return {"sketch": student_sketch(got, shapes, indices,
                                         f"Network.backward on an input {self.large}")}

    def judge_large(self, ev) -> str | None:
        """None when the large run's sketch matches autograd's, else the problem."""
        def want():
            _, dx, grads = self.reference(self.inputs(self.large, "large"))
            found = {"dx": dx, **grads}
            shapes = {k: np.shape(v) for k, v in found.items()}
            return sketch(found, sample_indices(self.rng("large sample"), shapes))

        return large_run_problem(ev.get("large"), want, "input",
                                 f"on an input of shape {self.large}")

    def collect_small(self, student):
        inp = self.inputs()
        net, by_name = self.build(student, self.x_shape, inp["params"])
        scores = to_array(call_student(net.forward, inp["x"].copy(), what="Network.forward(x)"),
                       "the scores", np.float64)
        calls = record_backward_calls(by_name)  # names the order if backward crashes
        try:  # a wrong forward pass is the first thing to report, even if backward crashes
            dx = call_student(net.backward, inp["G"].copy(), what="Network.backward(dscores)")
            pairs = call_student(net.parameters, what="Network.parameters()")
        except StudentError as err:
            return {"scores": scores, "backward_error": str(err), "backward_calls": calls}
        listed = []
        for k, pair in enumerate(pairs if isinstance(pairs, (list, tuple)) else []):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise StudentError(f"parameters()[{k}] is not a (param, grad) pair")
            param, grad = pair
            owner = [f"{l}_{key}" for l, key in self.NAMES if param is by_name[l].params[key]]
            swapped = any(grad is by_name[l].params[key] for l, key in self.NAMES)
            listed.append({"param": owner[0] if owner else "", "swapped": swapped,
                           "grad": to_array(grad, f"the gradient of pair {k}", np.float64)})
        return {"scores": scores, "dx": to_array(dx, "dx", np.float64), "pairs": listed}

    @staticmethod
    def _conv_cause(key: str, wrong: dict, layers_hint: str) -> str:
        """Where a wrong conv gradient comes from: if the conv's other gradient is right, the
        gradient reaching the convolution is right and its own backward is at fault."""
        if not key.startswith("conv"):
            return ""
        other = next((k for k in wrong if k.startswith("conv") and k != key), None)
        if other is not None and not wrong[other]:
            return (f"; {other} is right, so the gradient reaching the convolution is right: "
                    f"its own gradient of {key.split('_')[-1]} is wrong" + layers_hint)
        return ("; the fc gradients are right, so the gradient passed back to the earlier "
                "layers is not: backward runs the layers in reverse, each layer's dx feeding "
                "the layer before" + layers_hint)

    def reference(self, inp=None):
        torch = lazy_torch()
        F = torch.nn.functional
        inp = inp or self.inputs()
        t = {k: torch.tensor(v, requires_grad=True) for k, v in inp["params"].items()}
        x = torch.tensor(inp["x"], requires_grad=True)
        h = F.max_pool2d(torch.relu(F.conv2d(x, t["conv_W"], t["conv_b"], padding=1)), 2)
        scores = h.reshape(len(h), -1) @ t["fc_W"] + t["fc_b"]
        (scores * torch.tensor(inp["G"])).sum().backward()
        grads = {k: v.grad.numpy() for k, v in t.items()}
        return scores.detach().numpy(), x.grad.numpy(), grads

    def verdict(self, ev):
        scores, dx_ref, grads = self.reference()
        got = evidence_array(ev["scores"], "scores")
        layers_hint = ("; this test uses your Conv2D, ReLU, MaxPool2D, Flatten and Linear: if "
                       "one of their tests failed, fix it first")
        if got.shape != scores.shape or not same(got, scores, 1e-9):
            return self.failed("Network.forward's scores differ from running the layers in order "
                               f"(conv, relu, pool, flatten, fc){layers_hint}")
        if "backward_error" in ev:
            cause = forward_order_cause(ev.get("backward_calls"), "conv", self.inputs()["G"].shape)
            return self.failed((f"{cause}. " if cause else "") + str(ev["backward_error"])[:2000])
        pairs = ev["pairs"]
        if any(bool(p["swapped"]) for p in pairs):
            return self.failed("parameters() lists (grad, param): return (param, grad) pairs")
        names = [str(p["param"]) for p in pairs]
        if not all(names):
            return self.failed("parameters() lists arrays that are not the layers' params (copies?): "
                               "Adam updates them in place, so the update would never reach the "
                               "layers; list layer.params[key] itself")
        if len(pairs) != 4 or sorted(names) != sorted(grads):
            missing = sorted(set(grads) - set(names))
            return self.failed(f"parameters() lists {len(pairs)} pairs ({names}), expected the 4 "
                               f"parameters of this network" + (f"; missing: {missing}" if missing else ""))
        wrong = {}
        for pair in sorted(pairs, key=lambda p: not str(p["param"]).startswith("fc")):
            key = str(pair["param"])
            wrong[key] = compare(f"the gradient of {key}", evidence_array(pair["grad"], key),
                                 grads[key], tolerances.NETWORK)
        for key, problem in wrong.items():
            if problem:
                return self.failed(problem + self._conv_cause(key, wrong, layers_hint))
        problem = compare("dx", evidence_array(ev["dx"], "dx"), dx_ref, tolerances.NETWORK)
        if problem:
            return self.failed(problem + ": every parameter gradient is right, so the wrong part "
                               "is the conv layer's own dx or what Network.backward returns (the "
                               "first layer's dx)" + layers_hint)
        problem = self.judge_large(ev) if self.large else None
        return self.failed(problem) if problem else self.passed()


check_network_gradients = NetworkGradientCheck.function(
    "check_network_gradients", "Network", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Linear",
    after=("large",))
