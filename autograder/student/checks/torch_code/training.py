"""Checks on the objects of a PyTorch training setup: models' logits, optimisers, schedulers
(splits and loaders: splits.py; the epoch functions: one_epoch.py; parameter tables: tables.py).

Every check follows the two halves of :mod:`.core`: ``collect`` touches the student's objects
and returns plain data (NumPy arrays, numbers, strings); ``judge`` decides from that data and
its own references (the kit's data, a model it rebuilds from the seed). Checks that draw random
numbers through the student's code (augmentation, training a tiny model) seed the global
generators themselves and restore them afterwards, so running a check never changes what the
rest of the notebook computes.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import Check, StudentError, call_student, run
from .splits import check_augmentation, check_split  # noqa: F401
# The epoch checks live in their own module; importable from here too.
from .one_epoch import check_test_one_epoch, check_train_one_epoch  # noqa: F401
from .model_faults import FLATTEN_FROM_1, matmul_evidence, matmul_message
from .tables import check_parameter_table  # noqa: F401
from .torch_helpers import preserved_rng

__all__ = [
    "check_split", "check_augmentation", "check_logits_shape", "check_optimizer",
    "check_scheduler", "check_train_one_epoch", "check_test_one_epoch",
    "check_parameter_table",
]


# ----------------------------------------------------------------------------- logits

class LogitsShapeCheck(Check):
    """``model(x)`` for a float32 ``x`` of ``input_shape`` returns finite logits (N, n_classes).

    The model runs in eval mode under no_grad (its mode is restored). Probabilities (rows
    of non-negative numbers summing to 1) fail: a softmax before cross-entropy is a bug.
    """

    kind = "logits_shape"
    collects = "model(x) on a seeded input of input_shape"
    compares_with = "the expected shape, finiteness and that rows are logits, not probabilities"

    def __init__(self, input_shape, n_classes=10, allow_log_probs=True, seed=0, name=None,
                 points=1.0):
        super().__init__(name or f"logits of shape (N, {n_classes})", points, seed)
        self.input_shape = tuple(int(n) for n in input_shape)
        self.n_classes = int(n_classes)
        self.allow_log_probs = allow_log_probs

    def inputs(self):
        return {"x": self.rng("x").normal(0, 1, self.input_shape).astype(np.float32)}

    def collect(self, model):
        import torch

        x = torch.from_numpy(self.inputs()["x"])
        device = next((p.device for p in model.parameters()), torch.device("cpu")) \
            if hasattr(model, "parameters") else torch.device("cpu")
        was_training = getattr(model, "training", None)
        try:
            if was_training is not None:
                model.eval()
            with preserved_rng(self.seed), torch.no_grad():
                out = call_student(model, x.to(device), what="model(x)")
        except StudentError as err:  # the shapes of a failed matrix product can name the cause
            found = matmul_evidence(err)
            if found is None:
                raise
            return found
        finally:
            if was_training is not None:
                model.train(was_training)
        if not isinstance(out, torch.Tensor):
            raise StudentError(f"model(x) returned a {type(out).__name__}, expected a tensor "
                               "of logits")
        return {"out": out.detach().cpu().double().numpy()}

    def verdict(self, ev):
        if "matmul" in ev:
            return self.failed(matmul_message(ev, self.input_shape))
        out = np.asarray(ev["out"])
        n = self.input_shape[0]
        want = (n, self.n_classes)
        if out.shape != want:
            hint = ""
            if out.ndim > 2:
                hint = ": flatten the feature maps before the last linear layer"
            elif out.ndim == 2 and out.shape[0] == n:
                hint = f": the last layer has {out.shape[1]} outputs, one per class is needed"
            elif out.ndim < 2 or out.shape[0] != n:
                hint = f": the batch dimension was lost or mixed up ({FLATTEN_FROM_1})"
            return self.failed(f"model(x) for x of shape {self.input_shape} returned shape "
                               f"{out.shape}, expected {want}{hint}")
        if not np.isfinite(out).all():
            return self.failed("the logits contain NaN or inf")
        sums = out.sum(axis=1)
        if (out >= 0).all() and np.allclose(sums, 1, atol=1e-4):
            return self.failed("the model outputs probabilities (a softmax): return the raw "
                               "logits; F.cross_entropy applies log-softmax itself")
        log_normalised = np.allclose(np.log(np.exp(out).sum(axis=1)), 0, atol=1e-4) and (out <= 0).all()
        if log_normalised and not self.allow_log_probs:
            return self.failed("the model outputs log-probabilities (log_softmax): return the "
                               "raw logits")
        return self.passed(f"logits of shape {out.shape}")


check_logits_shape = LogitsShapeCheck.function("check_logits_shape", "model")


# ----------------------------------------------------------------------------- optimiser

class OptimizerCheck(Check):
    kind = "optimizer"
    collects = (
        "the optimiser's class, parameter groups and settings, and the model parameters "
        "it holds")
    compares_with = "the expected class, lr, momentum, weight decay and the model's parameters"

    def __init__(self, kind_name, lr=None, momentum=None, weight_decay=None, check_model=False,
                 name=None, points=1.0):
        super().__init__(name or f"{kind_name} optimiser", points, 0)
        self.expected_kind = kind_name
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.check_model = check_model

    def collect(self, student):
        optimizer, model = student
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise StudentError(f"got a {type(optimizer).__name__}, expected a torch.optim optimiser")
        evidence = {"type": type(optimizer).__name__, "groups": []}
        for group in groups:
            row = {"lr": float(group.get("initial_lr", group.get("lr", float("nan")))),
                   "n_params": len(group["params"])}
            for key in ("momentum", "weight_decay", "dampening"):
                if key in group:
                    row[key] = float(group[key])
            if "betas" in group:
                row["betas"] = [float(b) for b in group["betas"]]
            if "nesterov" in group:
                row["nesterov"] = bool(group["nesterov"])
            evidence["groups"].append(row)
        if model is not None:
            wanted = {id(p) for p in model.parameters() if p.requires_grad}
            held = {id(p) for group in groups for p in group["params"]}
            evidence["n_model"] = len(wanted)
            evidence["n_covered"] = len(wanted & held)
            evidence["n_foreign"] = len(held - {id(p) for p in model.parameters()})
        return evidence

    def verdict(self, ev):
        got = ev["type"]
        if got.lower() != self.expected_kind.lower():
            return self.failed(f"the optimiser is {got}, expected {self.expected_kind}")
        for i, group in enumerate(ev["groups"]):
            where = f" (parameter group {i})" if len(ev["groups"]) > 1 else ""
            if self.lr is not None and not math.isclose(group["lr"], self.lr, rel_tol=1e-9):
                return self.failed(f"learning rate {group['lr']:g}{where}, expected {self.lr:g}")
            if self.momentum is not None:
                value = group.get("momentum", group.get("betas", [None])[0])
                if value is None:
                    return self.failed(f"{got} has no momentum setting")
                if not math.isclose(value, self.momentum, rel_tol=1e-9, abs_tol=1e-12):
                    hint = " (SGD without momentum: pass momentum=...)" if value == 0 else ""
                    return self.failed(f"momentum {value:g}{where}, expected {self.momentum:g}{hint}")
            if self.weight_decay is not None and not math.isclose(
                    group.get("weight_decay", 0.0), self.weight_decay, rel_tol=1e-9, abs_tol=1e-12):
                return self.failed(f"weight decay {group.get('weight_decay', 0.0):g}{where}, "
                                   f"expected {self.weight_decay:g}")
        if self.check_model:
            missing = ev["n_model"] - ev["n_covered"]
            if ev["n_covered"] == 0 and ev["n_model"] > 0:
                return self.failed("the optimiser holds none of the model's parameters: it was built "
                                   "for another model object (create the model first, then the "
                                   "optimiser from model.parameters())")
            if missing:
                return self.failed(f"the optimiser misses {missing} of the model's "
                                   f"{ev['n_model']} trainable parameter tensors: those are never "
                                   "updated")
            if ev["n_foreign"]:
                return self.failed(f"the optimiser holds {ev['n_foreign']} parameter tensors that "
                                   "do not belong to the model")
        return self.passed(f"{got} with the expected settings")


def check_optimizer(optimizer, kind, lr=None, momentum=None, weight_decay=None, model=None,
                    name=None, points=1.0, raise_on_fail=True):
    """The optimiser's class (``kind``, e.g. "SGD", "Adam") and hyper-parameters.

    lr is compared with each group's initial learning rate (before any scheduler changed
    it); momentum with SGD's ``momentum`` or Adam's ``betas[0]``. With ``model``, the
    optimiser must hold exactly that model's trainable parameters.
    """
    check = OptimizerCheck(kind, lr, momentum, weight_decay, model is not None, name, points)
    return run(check, (optimizer, model), raise_on_fail)


check_optimizer.check_class = OptimizerCheck  # the catalog of checks reads its facts there


# ----------------------------------------------------------------------------- scheduler

class SchedulerCheck(Check):
    kind = "scheduler"
    collects = "the scheduler's class, settings, base lrs and step count"
    compares_with = "the expected class and settings"

    def __init__(self, kind_name="LinearLR", expected=None, check_optimizer=False, min_steps=None,
                 name=None, points=1.0):
        super().__init__(name or f"{kind_name} scheduler", points, 0)
        self.expected_kind = kind_name
        self.expected = dict(expected or {})
        self.check_optimizer = check_optimizer
        self.min_steps = min_steps

    def collect(self, student):
        scheduler, optimizer = student
        if not hasattr(scheduler, "optimizer") or not hasattr(scheduler, "last_epoch"):
            raise StudentError(f"got a {type(scheduler).__name__}, expected a "
                               "torch.optim.lr_scheduler object")
        attributes = {key: (float(value) if not isinstance(value, bool) else value)
                      for key, value in vars(scheduler).items()
                      if not key.startswith("_") and isinstance(value, (int, float, bool))}
        evidence = {"type": type(scheduler).__name__, "attributes": attributes,
                    "base_lrs": [float(v) for v in getattr(scheduler, "base_lrs", [])],
                    "last_epoch": int(scheduler.last_epoch)}
        if optimizer is not None:
            evidence["same_optimizer"] = scheduler.optimizer is optimizer
        return evidence

    def verdict(self, ev):
        got = ev["type"]
        if got.lower() != self.expected_kind.lower():
            return self.failed(f"the scheduler is {got}, expected {self.expected_kind}")
        if self.check_optimizer and not ev["same_optimizer"]:
            return self.failed("the scheduler is attached to another optimiser than the one that "
                               "trains the model: it changes a learning rate nobody uses")
        for key, want in self.expected.items():
            value = ev["attributes"].get(key)
            if value is None:
                return self.failed(f"the scheduler has no setting {key!r}")
            if not math.isclose(float(value), float(want), rel_tol=1e-9, abs_tol=1e-12):
                return self.failed(f"{key} is {value:g}, expected {want:g}")
        if self.min_steps is not None and ev["last_epoch"] < self.min_steps:
            return self.failed(f"scheduler.step() was called {ev['last_epoch']} times, expected "
                               f"at least {self.min_steps}: call it after optimizer.step() (once "
                               "per epoch, or per batch if the schedule counts batches)")
        return self.passed(f"{got} with the expected settings")


def check_scheduler(scheduler, kind="LinearLR", optimizer=None, min_steps=None, name=None,
                    points=1.0, raise_on_fail=True, **expected):
    """The scheduler's class and settings, e.g. ``check_scheduler(s, "LinearLR",
    start_factor=0.1, total_iters=5)``.

    optimizer: the optimiser that trains the model; the scheduler must be attached to it.
    min_steps: after training, ``scheduler.step()`` must have been called that many times.
    """
    check = SchedulerCheck(kind, expected, optimizer is not None, min_steps, name, points)
    return run(check, (scheduler, optimizer), raise_on_fail)


check_scheduler.check_class = SchedulerCheck  # the catalog of checks reads its facts there
