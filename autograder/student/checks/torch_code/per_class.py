"""A student's per-class accuracy function, on a model and data the check builds.

``check_class_accuracies(class_accuracies)`` calls ``class_accuracies(model, X, y,
batch_size=b)`` with a fixed linear model behind a dropout layer (left in training mode, so
forgetting ``model.eval()`` changes the predictions), nonce-derived images X float32 (N, 3,
32, 32), labels y int64 (N,) in which one class never occurs, and a batch size that leaves
a smaller last batch. The judge computes the model's predictions itself (a matrix product)
and the expected (10,) array with NaN for the absent class.
"""
from __future__ import annotations

import numpy as np

from ..core import Check, StudentError, call_student
from .torch_helpers import _record_modes, preserved_rng

N_CLASSES = 10


def _per_class(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    hits = np.bincount(truth, weights=(predicted == truth).astype(float), minlength=N_CLASSES)
    sizes = np.bincount(truth, minlength=N_CLASSES)
    return np.where(sizes > 0, hits / np.maximum(sizes, 1), np.nan)


def _precision(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-class precision (correct / predicted as k; NaN when never predicted): (10,)."""
    hits = np.bincount(predicted, weights=(predicted == truth).astype(float), minlength=N_CLASSES)
    sizes = np.bincount(predicted, minlength=N_CLASSES)
    return np.where(sizes > 0, hits / np.maximum(sizes, 1), np.nan)


class ClassAccuraciesCheck(Check):
    """``class_accuracies(model, X, y, batch_size)`` on a fixed model with dropout and data
    with an absent class: eval mode, every batch, fractions per class, NaN when absent."""

    kind = "class_accuracies"
    collects = "the per-class values, batches seen and the model's mode on a fixed model"
    compares_with = "per-class accuracies of the same model computed by the judge"

    def __init__(self, n=150, seed=0, name=None, points=1.0):
        super().__init__(name or "class_accuracies on a model with known predictions", points, seed)
        self.n = int(n)

    def inputs(self):
        rng = self.rng("problem")
        x = rng.normal(0, 1, (self.n, 3, 32, 32)).astype(np.float32)
        weight = rng.normal(0, 0.05, (N_CLASSES, 3 * 32 * 32)).astype(np.float32)
        bias = rng.normal(0, 0.1, N_CLASSES).astype(np.float32)
        predicted = (x.reshape(self.n, -1).astype(np.float64) @ weight.T.astype(np.float64)
                     + bias).argmax(axis=1)
        absent = int(rng.integers(N_CLASSES))
        others = np.array([c for c in range(N_CLASSES) if c != absent])
        y = rng.choice(others, self.n)
        keep = rng.random(self.n) < 0.5  # about half right, so the rates differ by class
        y = np.where(keep & (predicted != absent), predicted, y).astype(np.int64)
        return {"x": x, "weight": weight, "bias": bias, "y": y, "predicted": predicted,
                "absent": absent, "batch_size": int(rng.integers(16, 40))}

    def collect(self, class_accuracies):
        import torch
        from torch import nn

        given = self.inputs()
        linear = nn.Linear(3 * 32 * 32, N_CLASSES)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(given["weight"]))
            linear.bias.copy_(torch.from_numpy(given["bias"]))
        model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), linear).train()
        calls, handle = _record_modes(model)
        try:
            with preserved_rng(self.seed):
                result = call_student(
                    lambda: class_accuracies(model, torch.from_numpy(given["x"]),
                                             torch.from_numpy(given["y"]),
                                             batch_size=given["batch_size"]),
                    what="class_accuracies(model, X, y, batch_size)")
        finally:
            handle.remove()
        if hasattr(result, "detach"):
            result = result.detach().cpu().numpy()
        try:
            values = np.asarray(result, dtype=np.float64)
        except (TypeError, ValueError):
            raise StudentError(f"class_accuracies returned a {type(result).__name__}, expected a "
                               "NumPy array of 10 floats") from None
        return {"values": values, "training": [c[0] for c in calls],
                "batches": len(calls)}

    def verdict(self, ev):
        given = self.inputs()
        got = np.asarray(ev.get("values"), dtype=np.float64)
        want = _per_class(given["predicted"], given["y"])
        absent = given["absent"]
        if got.shape != (N_CLASSES,):
            return self.failed(f"class_accuracies returned shape {got.shape}, expected "
                               f"({N_CLASSES},): one accuracy per class")
        training = list(ev.get("training", []))
        if not training:
            return self.failed("class_accuracies never called the model")
        if any(training):
            return self.failed("class_accuracies ran the model in training mode: call "
                               "model.eval() first (dropout changes the predictions)")
        if not np.isnan(got[absent]):
            return self.failed(f"class {absent} does not occur in y, so its accuracy is undefined: "
                               f"return NaN for it, got {got[absent]:g}")
        present = np.arange(N_CLASSES) != absent
        if np.allclose(got, want, atol=1e-6, equal_nan=True):
            return self.passed("per-class accuracies as expected (NaN for the absent class)")
        counts = np.bincount(given["y"], minlength=N_CLASSES)
        if np.allclose(got[present], (want * counts)[present], atol=1e-6):
            return self.failed("the values are counts of correct predictions: divide by the "
                               "number of images of each class")
        if np.allclose(got[present], _precision(given["predicted"], given["y"])[present],
                       atol=1e-6, equal_nan=True):
            return self.failed("the values are the precision of each class (correct predictions "
                               "of k / images predicted as k): divide by the number of images "
                               "whose label is k instead")
        size = given["batch_size"]
        kept = self.n - self.n % size
        if self.n % size and np.allclose(got, _per_class(given["predicted"][:kept], given["y"][:kept]),
                                         atol=1e-6, equal_nan=True):
            return self.failed(f"the last batch ({self.n % size} of {self.n} images) is left out: "
                               "loop over range(0, len(X), batch_size)")
        worst = int(np.nanargmax(np.where(present, np.abs(got - want), -1)))
        return self.failed(f"class {worst}: accuracy {got[worst]:.4f}, expected {want[worst]:.4f} "
                           "(correct predictions of class k / images of class k, with the argmax "
                           "of the logits as the prediction)")


check_class_accuracies = ClassAccuraciesCheck.function(
    "check_class_accuracies", "class_accuracies")
